"""``scheduler.name: curve``: a trial stops when its predicted final value is unlikely to reach the top-k
finals of the reference curves; ASHA decides until there are enough references."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from ray.tune.schedulers import ASHAScheduler, TrialScheduler

from sweeps.run.curve_stopping import CurveStopping, unlikely_to_reach, value_at

# Ten reference curves, each rising to a final 0.1 above its value at a quarter of training.
REFERENCES = [[(0.25, 0.5 + 0.02 * i), (0.5, 0.55 + 0.02 * i), (1.0, 0.6 + 0.02 * i)] for i in range(10)]


def test_value_at_takes_the_last_point_by_then():
    curve = REFERENCES[0]
    assert value_at(curve, 0.3) == 0.5 and value_at(curve, 1.0) == pytest.approx(0.6)
    assert value_at(curve, 0.1) is None


def test_a_trial_stops_only_when_its_predicted_final_is_below_the_top_k():
    # The top-3 finals: 0.78, 0.76, 0.74. A value of 0.5 at a quarter predicts 0.6 (far below); 0.66 predicts 0.76.
    assert unlikely_to_reach(0.5, progress=0.25, references=REFERENCES, top_k=3, z=1.28, min_references=5)
    assert not unlikely_to_reach(0.66, progress=0.25, references=REFERENCES, top_k=3, z=1.28, min_references=5)
    assert unlikely_to_reach(0.5, progress=0.1, references=REFERENCES, top_k=3, z=1.28, min_references=5) is None
    assert unlikely_to_reach(0.5, progress=0.25, references=REFERENCES[:4], top_k=3, z=1.28,
                             min_references=5) is None


def _scheduler(references, *, mode: str = "max") -> CurveStopping:
    fallback = ASHAScheduler(time_attr="progress", max_t=1.0, grace_period=0.25, reduction_factor=3)
    scheduler = CurveStopping(fallback=fallback, references=references, grace=0.25)
    assert scheduler.set_search_properties("accuracy", mode)
    return scheduler


def test_the_scheduler_decides_by_the_curves_and_learns_from_finished_trials():
    scheduler = _scheduler(REFERENCES)
    weak, strong = SimpleNamespace(trial_id="weak"), SimpleNamespace(trial_id="strong")
    for trial in (weak, strong):
        scheduler.on_trial_add(None, trial)
    assert scheduler.on_trial_result(None, weak, {"accuracy": 0.5, "progress": 0.25}) == TrialScheduler.STOP
    assert scheduler.on_trial_result(None, strong, {"accuracy": 0.7, "progress": 0.25}) == TrialScheduler.CONTINUE
    scheduler.on_trial_result(None, strong, {"accuracy": 0.9, "progress": 1.0})
    scheduler.on_trial_complete(None, strong, {"accuracy": 0.9, "progress": 1.0, "training_finished": True})
    assert len(scheduler.references) == 11  # the finished trial is a reference now


def test_a_metric_to_minimise_is_judged_the_other_way_round():
    losses = [[(at, -value) for at, value in curve] for curve in REFERENCES]
    scheduler = _scheduler(losses, mode="min")
    trial = SimpleNamespace(trial_id="t")
    scheduler.on_trial_add(None, trial)
    assert scheduler.on_trial_result(None, trial, {"accuracy": -0.5, "progress": 0.25}) == TrialScheduler.STOP


def test_without_references_asha_decides():
    scheduler = _scheduler([])
    first, second = SimpleNamespace(trial_id="first"), SimpleNamespace(trial_id="second")
    for trial in (first, second):
        scheduler.on_trial_add(None, trial)
    assert scheduler.on_trial_result(None, first, {"accuracy": 0.9, "progress": 0.25}) == TrialScheduler.CONTINUE
    # ASHA's rung at 0.25: below the first trial's value there, so it stops.
    assert scheduler.on_trial_result(None, second, {"accuracy": 0.1, "progress": 0.25}) == TrialScheduler.STOP
