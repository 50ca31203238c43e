"""``search.warm_start`` sources: checked cheaply before anything starts (they exist, are a sweep or a curves
file, optimise the same metric), then their trials that fit the space enter the new study."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from search_spaces.searcher import build_searcher
from sweeps.config.space import effective_space
from sweeps.core.layout import JOURNAL_FILE, SPEC_FILE
from sweeps.run.warm_start import past_trials, reference_curves, warm_start_problems
from sweeps.spec import SweepSpec

SPACE = {"training.learning_rate": {"type": "loguniform", "low": 1e-5, "high": 1e-3}}


def spec(*sources: Path, name: str = "new", metric: str = "eval_loss", mode: str = "min") -> SweepSpec:
    search = {"metric": metric, "mode": mode, "warm_start": [str(source) for source in sources]}
    return SweepSpec.model_validate({"name": name, "model": {"path": "m"}, "dataset": {"path": "d.jsonl"},
                                     "search": search, "search_space": SPACE})


def curves_file(path: Path, *, metric: str = "eval_loss", mode: str = "min") -> Path:
    runs = [{"params": {"training.learning_rate": 1e-4}, "curve": [[10, 2.0], [20, 1.0]]},
            {"params": {"training.learning_rate": 5e-4}, "curve": [[10, 3.0]], "stopped": True},
            {"params": {"training.learning_rate": 1e-1}, "curve": [[10, 0.1]]}]  # outside the space
    path.write_text("\n".join(json.dumps(line) for line in [{"metric": metric, "mode": mode}, *runs]) + "\n")
    return path


def past_sweep(folder: Path) -> Path:
    old = spec(name="old")
    folder.mkdir()
    (folder / SPEC_FILE).write_text(yaml.safe_dump(old.model_dump(mode="json")))
    searcher = build_searcher(space=effective_space(old), metric="eval_loss", mode="min", algorithm="random", seed=0,
                              journal_path=folder / JOURNAL_FILE, study_name="old", initial_points=[])
    for trial_id, loss in (("a", 1.5), ("b", 0.5)):
        searcher.suggest(trial_id)
        searcher.on_trial_result(trial_id, {"eval_loss": loss + 1, "step": 10, "training_finished": False})
        searcher.on_trial_complete(trial_id, result={"eval_loss": loss, "step": 20, "training_finished": True})
    return folder


def test_sources_that_cannot_warm_start_are_refused_with_the_reason(tmp_path: Path):
    not_a_sweep = tmp_path / "folder"
    not_a_sweep.mkdir()
    other_metric = curves_file(tmp_path / "acc.jsonl", metric="accuracy", mode="max")
    problems = warm_start_problems(spec(tmp_path / "absent", not_a_sweep, other_metric))
    assert len(problems) == 3
    assert "search.warm_start.0" in problems[0] and "no such sweep directory or curves file" in problems[0]
    assert "search.warm_start.1" in problems[1] and "not a finesweep sweep directory" in problems[1]
    assert "optimise accuracy (max), but this sweep's search.metric is eval_loss (min)" in problems[2]
    assert warm_start_problems(spec(curves_file(tmp_path / "ok.jsonl"), past_sweep(tmp_path / "old"))) == []


def test_trials_that_fit_come_from_curves_files_and_past_sweeps(tmp_path: Path):
    warm = spec(curves_file(tmp_path / "c.jsonl"), past_sweep(tmp_path / "old"))
    trials = past_trials(warm)
    # From the file: the finished run and the stopped one (pruned), not the one outside the space; then the sweep's 2.
    assert [trial.state.name for trial in trials] == ["COMPLETE", "PRUNED", "COMPLETE", "COMPLETE"]
    assert [trial.value for trial in trials if trial.state.name == "COMPLETE"] == [1.0, 1.5, 0.5]
    # Finished runs only (any parameters: a curve's shape is what counts), as (progress, value).
    assert reference_curves(warm) == [[(0.5, 2.0), (1.0, 1.0)], [(1.0, 0.1)], [(0.5, 2.5), (1.0, 1.5)],
                                      [(0.5, 1.5), (1.0, 0.5)]]
