"""The simulated clock of replay: reports reach the searcher and scheduler in simulated-time order across
concurrent trials, a seed gives the same sweep every time, slots mean what they mean on a cluster, failures
cost what they cost, and the compute spent is the area under the busy slots."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sweeps.run.curves import Curves
from sweeps.run.replay import replay_spec
from sweeps.run.simulate import ERROR, simulate

HEADER = {"metric": "accuracy", "mode": "max", "cost_unit": "gpu_seconds"}


def _run(lr: float, *, values: list[float], seconds_per_point: float, failed: dict | None = None) -> dict:
    curve = [[100 * (index + 1), value] for index, value in enumerate(values)]
    return {"params": {"training.learning_rate": lr}, "curve": curve,
            "cost": [seconds_per_point * (index + 1) for index in range(len(values))],
            **({"failed": failed} if failed else {})}


# Eight runs: the even ones are cheap (1 s a report), the odd ones slow (10 s a report); higher lr, better.
RUNS = [_run(1e-5 * 2 ** i, values=[0.1 * i + 0.01 * step for step in range(1, 5)],
             seconds_per_point=1.0 if i % 2 == 0 else 10.0) for i in range(8)]


def _spec(tmp_path: Path, curves: Curves, *overrides: str):
    raw = {"name": "sim", "model": {"path": "m"}, "dataset": {"path": "d.jsonl"},
           "search": {"metric": "accuracy", "mode": "max", "algorithm": "random", "num_trials": 8, "seed": 3,
                      "max_concurrent_trials": 2},
           "search_space": {"training.learning_rate": {"type": "loguniform", "low": 1e-6, "high": 1e-2}},
           "scheduler": {"name": "none"}, "tracking": {"wandb": {"mode": "disabled"}},
           "storage": {"path": str(tmp_path / "runs")}}
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(raw))
    return replay_spec(spec_path=path, overrides=list(overrides), curves=curves)


def _curves(runs: list[dict] = RUNS) -> Curves:
    return Curves.model_validate({"header": HEADER, "runs": runs})


def test_reports_arrive_in_simulated_time_order_across_concurrent_trials(tmp_path: Path):
    curves = _curves()
    seen = []
    sweep = simulate(_spec(tmp_path, curves), curves=curves, on_report=[lambda trial, result: seen.append(
        (result["sim_time"], trial.trial_id))])
    times = [time for time, _ in seen]
    assert times == sorted(times)
    assert len(seen) == 8 * 4  # no stopping: every point of every trial
    slow = {trial.trial_id for trial in sweep.trials if curves.runs[trial.run].costs()[0] == 10.0}
    fast = {trial.trial_id for trial in sweep.trials} - slow
    assert slow and fast
    # A fast trial beside a slow one finishes its 4 reports before the slow one's first: no wall-clock order.
    first_slow = next(index for index, (_, trial) in enumerate(seen) if trial in slow)
    assert any(trial in fast for _, trial in seen[first_slow + 1:])


def test_the_same_seed_gives_the_same_sweep_and_another_seed_another(tmp_path: Path):
    curves = _curves()

    def outline(*overrides: str) -> list[tuple]:
        sweep = simulate(_spec(tmp_path, curves, "scheduler.name=asha", "scheduler.grace_period=0.25", *overrides),
                         curves=curves)
        return [(trial.run, trial.start, trial.end, trial.status, len(trial.reports)) for trial in sweep.trials]

    assert outline() == outline()
    assert outline() != outline("search.seed=4")


def test_no_more_trials_run_at_once_than_the_slots_and_each_run_is_replayed_once(tmp_path: Path):
    curves = _curves()
    sweep = simulate(_spec(tmp_path, curves, "search.max_concurrent_trials=3"), curves=curves)
    edges = sorted([(trial.start, 1) for trial in sweep.trials] + [(trial.end, -1) for trial in sweep.trials])
    running, most = 0, 0
    for _, change in edges:
        running += change
        most = max(most, running)
    assert most == 3
    assert sorted(trial.run for trial in sweep.trials) == list(range(8))


def test_a_failed_run_fails_its_trial_after_its_cost_and_that_compute_counts(tmp_path: Path):
    runs = [_run(1e-4, values=[0.5], seconds_per_point=2.0, failed={"step": 200, "cost": 7.0, "reason": "nan loss"})]
    curves = _curves(runs)
    sweep = simulate(_spec(tmp_path, curves, "search.num_trials=1"), curves=curves)
    (trial,) = sweep.trials
    assert trial.status == ERROR and len(trial.reports) == 1
    assert trial.end - trial.start == pytest.approx(7.0) and sweep.total_cost() == pytest.approx(7.0)


def test_compute_spent_counts_running_trials_up_to_the_moment(tmp_path: Path):
    curves = _curves()
    sweep = simulate(_spec(tmp_path, curves), curves=curves)
    spent_curve = [spent for spent, _ in sweep.budget_curve()]
    assert spent_curve == sorted(spent_curve)
    assert spent_curve[-1] == pytest.approx(sweep.total_cost())
    # Two slots busy from the start: by time t, 2·t has been spent.
    assert sweep.spent_by(1.0) == pytest.approx(2.0)


def test_asha_on_progress_stops_trials_behind_at_the_first_rung(tmp_path: Path):
    curves = _curves()
    # The best run first (initial point): later trials are worse at a quarter of their schedule.
    best_first = "search.initial_points=[{training.learning_rate: 1.28e-3}]"
    sweep = simulate(_spec(tmp_path, curves, "scheduler.name=asha", "scheduler.grace_period=0.25",
                           "search.max_concurrent_trials=1", best_first), curves=curves)
    assert sweep.trials[0].run == 7 and not sweep.trials[0].stopped_early
    stopped = [trial for trial in sweep.trials if trial.stopped_early]
    assert stopped and all(len(trial.reports) < 4 for trial in stopped)
    assert sweep.total_cost() < sum(run.total_cost() for run in curves.runs)
