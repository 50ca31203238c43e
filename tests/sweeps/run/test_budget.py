"""``search.budget``: the ledger counts what trials spent in the budget's unit, the searcher starts no trial the
rest cannot pay for to its first rung, and once it is spent running trials stop at their next rung; a replayed
budget sweep ends within one rung's cost of its budget."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from ray.tune.schedulers import FIFOScheduler, TrialScheduler

from sweeps.core.errors import SpecError
from sweeps.run.budget import BudgetLedger, BudgetStopping
from sweeps.run.curves import Curves
from sweeps.run.replay import replay_spec
from sweeps.run.simulate import simulate
from sweeps.spec.objectives import devices_held, spent_in
from sweeps.spec.resources import ResourcesSpec


def test_spend_is_read_in_the_budgets_unit():
    result = {"time_total_s": 1800.0, "train_tokens": 5000, "examples": 64, "gpu_hours": 0.25}
    assert spent_in(result, unit="cpu_hours", devices=4) == 2.0
    assert spent_in(result, unit="gpu_hours", devices=2) == 0.25  # a replay's own simulated hours win
    assert spent_in(result, unit="train_tokens", devices=1) == 5000
    assert spent_in(result, unit="train_examples", devices=1) == 64
    resources = ResourcesSpec(workers=2, cpus_per_worker=1.5)
    assert devices_held(resources, unit="cpu_hours") == 3.0
    assert devices_held(resources, unit="gpu_hours") == 0.0  # no GPU: a GPU budget is refused (config checks)


def _ledger(amount: float) -> BudgetLedger:
    return BudgetLedger(amount=amount, unit="train_examples", devices=1, first_rung=0.25, time_attr="progress")


def test_no_new_trial_once_what_is_left_cannot_pay_for_a_first_rung():
    ledger = _ledger(100)
    assert ledger.admits_new_trial()  # nothing known yet
    ledger.start("a")
    ledger.observe("a", {"examples": 30, "progress": 0.25})  # a first rung costs 30
    assert ledger.admits_new_trial()  # 70 left
    ledger.start("b")
    ledger.observe("b", {"examples": 10, "progress": 0.1})  # b still needs 20 to reach its first rung
    assert ledger.admits_new_trial()  # 100 - 40 - 20 = 40 >= 30
    ledger.observe("a", {"examples": 45, "progress": 0.5})
    assert not ledger.admits_new_trial()  # 100 - 55 - 20 = 25 < 30
    ledger.end("b")  # b failed: what it spent stays spent, but it needs nothing more
    assert ledger.total() == 55 and ledger.admits_new_trial()  # 100 - 55 = 45 >= 30


def test_once_spent_a_running_trial_stops_at_its_next_rung():
    ledger = _ledger(50)
    scheduler = BudgetStopping(FIFOScheduler(), ledger=ledger, milestones=[0.25, 0.5, 1.0])
    trial = SimpleNamespace(trial_id="a")
    assert scheduler.on_trial_result(None, trial, {"examples": 20, "progress": 0.1}) == TrialScheduler.CONTINUE
    assert scheduler.on_trial_result(None, trial, {"examples": 60, "progress": 0.3}) == TrialScheduler.CONTINUE
    assert scheduler.on_trial_result(None, trial, {"examples": 70, "progress": 0.4}) == TrialScheduler.CONTINUE
    assert scheduler.on_trial_result(None, trial, {"examples": 80, "progress": 0.5}) == TrialScheduler.STOP


RUNS = [{"params": {"training.learning_rate": 1e-5 * 2 ** i},
         "curve": [[100 * step, 0.1 * i + 0.01 * step] for step in range(1, 10)]} for i in range(12)]


def _spec(tmp_path: Path, curves: Curves, *overrides: str):
    raw = {"name": "b", "model": {"path": "m"}, "dataset": {"path": "d.jsonl"},
           "training": {"batch_size": 10},
           "search": {"metric": "accuracy", "mode": "max", "algorithm": "random", "seed": 0,
                      "max_concurrent_trials": 2},
           "search_space": {"training.learning_rate": {"type": "loguniform", "low": 1e-6, "high": 1e-1}},
           "tracking": {"wandb": {"mode": "disabled"}}, "storage": {"path": str(tmp_path)}}
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(raw))
    return replay_spec(spec_path=path, overrides=list(overrides), curves=curves)


def test_a_replayed_budget_sweep_ends_within_one_rung_of_its_budget(tmp_path: Path):
    curves = Curves.model_validate({"header": {"metric": "accuracy", "mode": "max"}, "runs": RUNS})
    # Runs have no batch size among their params: examples = steps; a whole run is 900 examples.
    spec = _spec(tmp_path, curves, "search.budget={train_examples: 3000}")
    sweep = simulate(spec, curves=curves)
    spent = sum(trial.reports[-1]["examples"] for trial in sweep.trials if trial.reports)
    # Rungs at 1/9, 1/3 and 1 of a run: a trial running when the budget ran out may go on to its next rung,
    # at most the last span (from 1/3 to the end: 600 examples), each of the 2 running trials.
    assert 3000 <= spent <= 3000 + 2 * 600
    assert len(sweep.trials) < len(RUNS) and any(trial.stopped_early for trial in sweep.trials)


def test_a_replay_refuses_a_budget_its_curves_cannot_count(tmp_path: Path):
    curves = Curves.model_validate({"header": {"metric": "accuracy", "mode": "max"}, "runs": RUNS})
    with pytest.raises(SpecError, match="the budget must be in train_examples, but got cpu_hours"):
        _spec(tmp_path, curves, "search.budget={cpu_hours: 1}")
