"""The Pareto front of quality against cost: the trials no other beats in every objective."""

from __future__ import annotations

from sweeps.results.pareto import pareto_front, trade_off
from sweeps.spec import SweepSpec

SPEC = SweepSpec.model_validate({
    "name": "p", "model": {"path": "m"}, "dataset": {"path": "d.jsonl"},
    "search": {"objectives": [{"metric": "accuracy", "mode": "max"}, {"metric": "train_tokens", "mode": "min"}]},
    "task": {"type": "classification"}})


def point(trial_id: str, accuracy: float, tokens: float) -> dict:
    return {"trial_id": trial_id, "values": {"accuracy": accuracy, "train_tokens": tokens}}


def test_the_front_keeps_the_points_nothing_dominates_best_first():
    points = [point("big", 0.90, 1000), point("small", 0.85, 100), point("worse", 0.80, 500),
              point("tie", 0.85, 100), point("mid", 0.88, 400)]
    assert SPEC.search.metric == "accuracy" and SPEC.search.mode == "max"  # the first objective
    front = pareto_front(points, spec=SPEC)
    assert [p["trial_id"] for p in front] == ["big", "mid", "small", "tie"]


def test_a_single_point_is_its_own_front():
    assert pareto_front([point("only", 0.5, 10)], spec=SPEC) == [point("only", 0.5, 10)]


def test_a_trade_off_reads_as_worse_by_so_much_and_so_many_times_cheaper():
    assert trade_off(point("small", 0.85, 100), against=point("big", 0.90, 1000), spec=SPEC) == (
        "accuracy 0.05 worse, train_tokens 10.0× lower")
    assert trade_off(point("mid", 0.88, 800), against=point("big", 0.90, 1000), spec=SPEC) == (
        "accuracy 0.02 worse, train_tokens 200 better")
