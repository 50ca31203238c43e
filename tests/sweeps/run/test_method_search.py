"""Which method, which base model, at what cost: a real sweep of the tiny model searching ``method.name`` (a method
field sampled only for its method) and ``model.path`` under two objectives (quality and adapter size), and a
budget sweep that stops by its budget. Slow: real trials on an embedded Ray."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from peft import PeftConfig

from sweeps.config.loading import read_spec
from sweeps.results.reading import trial_reports, trial_summaries
from tests.helpers.sweeps import write_tiny_sweep
from trainer.inference import load_checkpoint

pytestmark = pytest.mark.slow


def finesweep(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sweeps", *args], capture_output=True, text=True, timeout=1200)


def dashboard_client(storage: Path):
    from fastapi.testclient import TestClient

    from dashboard.app import create_app

    return TestClient(create_app(storage_path=storage, token=None), base_url="http://127.0.0.1")


def test_a_sweep_over_methods_and_cost_trains_each_method_with_its_own_fields(tmp_path: Path, tiny_model_dir: Path,
                                                                             qa_data_path: Path):
    other_model = shutil.copytree(tiny_model_dir, tmp_path / "other-model")  # same weights, another folder
    space = {"method.name": {"type": "choice", "values": ["lora", "ia3"]},
             "model.path": {"type": "choice", "values": [str(tiny_model_dir), str(other_model)]},
             "method.r": {"type": "choice", "values": [2, 4]},
             "training.learning_rate": {"type": "loguniform", "low": 1e-3, "high": 3e-2}}
    objectives = [{"metric": "eval_loss", "mode": "min"}, {"metric": "trainable_params", "mode": "min"}]
    spec_path = write_tiny_sweep(
        tmp_path / "sweep.yaml", model_dir=tiny_model_dir, data_path=qa_data_path, name="methods",
        search={"num_trials": 4, "seed": 0, "objectives": objectives,
                "initial_points": [{"method.name": "lora", "method.r": 4, "training.learning_rate": 1e-2},
                                   {"method.name": "ia3", "training.learning_rate": 1e-2}]},
        search_space=space, scheduler={"name": "none"}, tracking={"wandb": {"mode": "disabled"}})
    completed = finesweep("run", str(spec_path))
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    sweep_dir = tmp_path / "runs" / "methods"
    summaries = trial_summaries(sweep_dir, read_spec(sweep_dir))
    by_method = {summary.params["method.name"] for summary in summaries}
    assert by_method == {"lora", "ia3"}
    for summary in summaries:  # r only for lora; each checkpoint an adapter of its own method
        assert ("method.r" in summary.params) == (summary.params["method.name"] == "lora"), summary.params
        adapter = PeftConfig.from_pretrained(summary.best_checkpoint)
        assert adapter.peft_type == {"lora": "LORA", "ia3": "IA3"}[summary.params["method.name"]]
        assert adapter.base_model_name_or_path == summary.params["model.path"]
        load_checkpoint(Path(summary.best_checkpoint))
    best = json.loads(finesweep("best", str(sweep_dir), "--json").stdout)
    front = {point["trial_id"]: point["values"] for point in best["pareto"]}
    # Each trial at its best eval_loss report, straight from Tune's rows: the front is exactly the trials no other
    # trial beats in one objective while matching it in the other.
    points = {trial_id: min((row["eval_loss"], row["trainable_params"]) for row in rows)
              for trial_id, rows in trial_reports(sweep_dir, read_spec(sweep_dir)).items()}
    dominated = {a for a, (loss_a, size_a) in points.items() for b, (loss_b, size_b) in points.items()
                 if loss_b <= loss_a and size_b <= size_a and (loss_b, size_b) != (loss_a, size_a)}
    assert set(front) == set(points) - dominated
    assert all(front[trial_id] == {"eval_loss": points[trial_id][0], "trainable_params": points[trial_id][1]}
               for trial_id in front)
    # IA3 trains far fewer weights than LoRA: the IA3 trial with the lowest loss is on the front whatever its loss.
    ia3 = {s.trial_id for s in summaries if s.params["method.name"] == "ia3"}
    assert ia3 & set(front) and best["trial_id"] in front
    other = next(trial_id for trial_id in front if trial_id != best["trial_id"])
    exported = finesweep("export", str(sweep_dir), "--out", str(tmp_path / "export"), "--trial", other)
    assert exported.returncode == 0, exported.stderr
    card = (tmp_path / "export" / "README.md").read_text()
    assert f"trial {other}" in card and "on the sweep's Pareto front" in card and "not the best" in card
    assert f"against trial {best['trial_id']}" in card
    # The dashboard draws the same front, each point naming its trial (a click chooses it).
    page = dashboard_client(tmp_path / "runs").get("/api/sweeps/methods").json()
    traces = {trace["name"]: trace["customdata"] for trace in page["figures"]["pareto"]["data"]}
    assert set(traces["Pareto front"]) == set(front) and page["budget"] is None


def test_a_budget_sweep_stops_within_one_rung_of_its_budget(tmp_path: Path, tiny_model_dir: Path,
                                                            qa_data_path: Path):
    # 12 steps of 8 examples: a whole trial is 96 examples, so 220 pays for two and a bit: a third trial starts (28
    # are left after two, more than a first rung's 24) and cannot finish.
    budget = 220
    spec_path = write_tiny_sweep(
        tmp_path / "sweep.yaml", model_dir=tiny_model_dir, data_path=qa_data_path, name="budget",
        search={"seed": 0, "budget": {"train_examples": budget}, "initial_points": []},
        tracking={"wandb": {"mode": "disabled"}})
    completed = finesweep("run", str(spec_path))
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    sweep_dir = tmp_path / "runs" / "budget"
    reports = trial_reports(sweep_dir, read_spec(sweep_dir))
    spent = sum(rows[-1]["examples"] for rows in reports.values() if rows)
    # One trial at a time, rungs at a quarter, half and all of a trial's 96 examples (24, 48, 96). No trial starts
    # once what is left cannot pay for a first rung (24); once the budget is spent, the running trial goes on to
    # its next rung at most (the longest span: 48).
    assert budget - 24 <= spent <= budget + 48, spent
    summary = json.loads((sweep_dir / "summary.json").read_text())
    assert summary["budget"] == {"unit": "train_examples", "amount": float(budget), "spent": spent}
    # Some trial ended before its training did: stopped by the budget, or by ASHA (then more trials ran).
    assert summary["trials"] == len(reports) >= 3 and summary["stopped_early"] >= 1
    assert f"compute: {spent:.4g} of the {budget} train_examples budget spent" in completed.stdout
    best = json.loads(finesweep("best", str(sweep_dir), "--json").stdout)
    assert best["budget"]["spent"] == spent
    page = dashboard_client(tmp_path / "runs").get("/api/sweeps/budget").json()
    left = page["budget"]["burn"]
    assert left[0][1] == budget and left[-1][1] == budget - spent and page["figures"]["budget"] is not None
    assert all(later[0] >= earlier[0] and later[1] <= earlier[1] for earlier, later in itertools.pairwise(left))
