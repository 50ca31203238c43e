"""The optimisation history (best so far by trial and by compute) and what early stopping saved, from
report rows as Tune records them; no Ray needed."""

from __future__ import annotations

import pytest

from sweeps.results.history import optimisation_history
from sweeps.results.reading import TrialSummary
from sweeps.results.summary import early_stopping_savings

# Two trials on one CPU each: aaaa0001 starts at t=100 and trains its 12 steps; bbbb0002 starts at t=110,
# beats it at its first report, and is then stopped at step 6 of its 12.
CURVES = {
    "bbbb0002": {"timestamp": [130, 140], "time_total_s": [20.0, 30.0], "eval_loss": [5.3, 5.31],
                 "step": [3, 6], "progress": [0.25, 0.5]},
    "aaaa0001": {"timestamp": [120, 150, 160, 170], "time_total_s": [20.0, 50.0, 60.0, 70.0],
                 "eval_loss": [5.5, 5.4, 5.35, 5.25], "step": [3, 6, 9, 12], "progress": [0.25, 0.5, 0.75, 1.0]},
}


def test_history_orders_trials_by_start_and_reports_by_time():
    history = optimisation_history(curves=CURVES, metric="eval_loss", mode="min", devices=2.0)
    assert [(p["number"], p["trial_id"], p["value"], p["best_so_far"]) for p in history["by_trial"]] == [
        (1, "aaaa0001", 5.25, 5.25), (2, "bbbb0002", 5.3, 5.25)]
    by_compute = history["by_compute"]
    assert [point["trial_id"] for point in by_compute] == ["aaaa0001", "bbbb0002", "bbbb0002", "aaaa0001",
                                                           "aaaa0001", "aaaa0001"]
    assert [point["best_so_far"] for point in by_compute] == [5.5, 5.3, 5.3, 5.3, 5.3, 5.25]
    # At t=150: aaaa0001 has run 50 s and bbbb0002 30 s, on 2 CPUs each: 160 CPU-seconds.
    assert by_compute[3]["compute"] == pytest.approx(160 / 3600)
    assert by_compute[-1]["compute"] == pytest.approx((70 + 30) * 2 / 3600)


def test_history_of_a_sweep_without_reports_is_empty():
    empty = {"aaaa0001": {"timestamp": [], "time_total_s": [], "eval_loss": []}}
    assert optimisation_history(curves=empty, metric="eval_loss", mode="max", devices=1.0) == {
        "by_trial": [], "by_compute": []}


def test_early_stopping_savings_count_the_steps_stopped_trials_did_not_train():
    reports = {trial_id: [dict(zip(curve, values, strict=True)) for values in zip(*curve.values(), strict=True)]
               for trial_id, curve in CURVES.items()}
    summaries = [TrialSummary(trial_id=trial_id, state="TERMINATED", params={}, iterations=len(rows),
                              last_value=None, best_value=None, best_checkpoint=None,
                              stopped_early=trial_id == "bbbb0002") for trial_id, rows in reports.items()]
    saved = early_stopping_savings(summaries, reports=reports)
    # Pace: (70-20) s over 9 steps and (30-20) s over 3 steps = 60 s / 12 steps = 5 s per step.
    assert saved == {"steps_planned": 24, "steps_trained": 18, "steps_saved": 6, "seconds_saved": 30.0}
    assert early_stopping_savings(summaries, reports={}) is None
