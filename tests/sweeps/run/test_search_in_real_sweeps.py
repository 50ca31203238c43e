"""The search features in real sweeps of the tiny model, not only in replay: the study keeps what each trial
was, a sweep exports as curves, and a sweep warm-started from another, with priors and curve stopping, runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from search_spaces.past_trials import IMPORTED_FROM
from search_spaces.searcher import journal_storage
from search_spaces.study import TUNE_TRIAL_ID
from sweeps.config.loading import read_spec
from sweeps.core.layout import JOURNAL_FILE
from sweeps.results.reading import trial_reports, trial_summaries
from sweeps.run.curves import read_curves
from tests.helpers.sweeps import write_tiny_sweep


def _study(sweep_dir: Path) -> optuna.Study:
    return optuna.load_study(study_name=read_spec(sweep_dir).name, storage=journal_storage(sweep_dir / JOURNAL_FILE))


def test_the_study_keeps_stopped_trials_as_pruned_with_each_report_under_its_step(finished_sweep: Path):
    spec = read_spec(finished_sweep)
    study = {trial.user_attrs[TUNE_TRIAL_ID]: trial for trial in _study(finished_sweep).trials}
    reports = trial_reports(finished_sweep, spec)
    summaries = trial_summaries(finished_sweep, spec)
    assert {summary.trial_id for summary in summaries} == set(study)
    for summary in summaries:
        trial = study[summary.trial_id]
        assert trial.state.name == ("PRUNED" if summary.stopped_early else "COMPLETE"), summary
        assert trial.intermediate_values == {int(row["step"]): row["eval_loss"] for row in
                                             reports[summary.trial_id]}
    assert any(summary.stopped_early for summary in summaries)


def test_every_report_carries_the_time_units_a_scheduler_may_count(finished_sweep: Path):
    spec = read_spec(finished_sweep)
    for rows in trial_reports(finished_sweep, spec).values():
        for row in rows:
            assert row["progress"] == pytest.approx(row["step"] / spec.training.max_steps)
            assert row["examples"] == row["step"] * spec.training.batch_size


def test_a_sweep_exports_as_curves_with_its_early_stops_marked(finished_sweep: Path, tmp_path: Path):
    target = tmp_path / "tiny.curves.jsonl"
    completed = subprocess.run([sys.executable, "-m", "sweeps", "curves", str(finished_sweep), str(target)],
                               capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    curves = read_curves(target)
    summaries = {summary.trial_id: summary for summary in trial_summaries(finished_sweep, read_spec(finished_sweep))}
    assert len(curves.runs) == len(summaries) == 4
    assert curves.header.metric == "eval_loss" and curves.header.mode == "min"
    assert sorted(run.stopped for run in curves.runs) == sorted(s.stopped_early for s in summaries.values())
    assert all(run.curve and run.planned() == 12 for run in curves.runs)


@pytest.mark.slow  # a second real sweep on embedded Ray: about a minute
def test_a_real_sweep_warm_started_with_priors_and_curve_stopping(finished_sweep: Path, tmp_path: Path,
                                                                  tiny_model_dir: Path, qa_data_path: Path):
    space = {"training.learning_rate": {"type": "loguniform", "low": 1e-6, "high": 3e-2,
                                        "prior": {"mode": 1e-2, "spread": 2}},
             "method.r": {"type": "choice", "values": [2, 4]},
             "method.alpha": {"type": "tied", "to": "method.r", "factors": [1, 2]}}
    spec_path = write_tiny_sweep(
        tmp_path / "sweep.yaml", model_dir=tiny_model_dir, data_path=qa_data_path, name="tiny-warm",
        search={"num_trials": 3, "seed": 1, "warm_start": [str(finished_sweep)]}, search_space=space,
        scheduler={"name": "curve", "grace_period": 0.25, "reduction_factor": 2})
    completed = subprocess.run([sys.executable, "-m", "sweeps", "run", str(spec_path)], capture_output=True,
                               text=True, timeout=900)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    sweep_dir = tmp_path / "runs" / "tiny-warm"
    trials = _study(sweep_dir).trials
    imported = [trial for trial in trials if IMPORTED_FROM in trial.user_attrs]
    assert len(imported) == 4 and all(trial.number < 4 for trial in imported)  # in the study before any sample
    assert len(trials) == 7 and all(trial.state.name in ("COMPLETE", "PRUNED") for trial in trials)
