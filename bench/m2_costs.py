"""M2 in the currency users pay (``python -m bench.m2_search --budget --front``), replayed on opda's curves on the
simulated clock (:mod:`bench.m2_arms`):

- budget: per seed, the default sweep of 24 trials (4 at a time); then, per seed, the default sweep capped by a
  ``search.budget`` of those sweeps' mean cost, with no trial count. Final regret and compute spent of each (the
  compute is every trial's, failed runs to their failure, not only what the ledger saw reported).
- front: sweeps with two objectives — the curve's metric and the compute a trial spent (``time_total_s`` on the
  simulated clock) — at that same budget: multi-objective TPE with ASHA (the defaults), NSGA-II with ASHA, and
  random search without stopping. The hypervolume of each sweep's Pareto front (each trial at its best report,
  as ``finesweep best`` lists it), normalised to the box from the file's worst value and its longest run's cost
  (1 = one free trial at the file's best).
"""

from __future__ import annotations

import math
import statistics
from typing import Any

from bench.common import spread
from bench.m2_arms import SETS

TRIALS, CONCURRENCY = 24, 4
OBJECTIVES = "search.objectives=[{metric: accuracy, mode: max}, {metric: time_total_s, mode: min}]"
FRONT_ARMS = {"mo-tpe": [OBJECTIVES], "nsga2": [OBJECTIVES, "search.algorithm=nsga2"],
              "random": [OBJECTIVES, "search.algorithm=random", "scheduler.name=none"]}


def replay(*, set_name: str, seed: int, overrides: list[str]) -> tuple[Any, Any, Any]:
    """The spec, the replayed sweep and the curves of one sweep of the set's bench file with ``overrides``."""
    from sweeps.run.curves import read_curves
    from sweeps.run.replay import replay_spec
    from sweeps.run.simulate import simulate

    curve_set = SETS[set_name]
    curves = read_curves(curve_set.curves_file)
    spec = replay_spec(spec_path=curve_set.sweep, curves=curves, overrides=[
        *overrides, f"search.max_concurrent_trials={CONCURRENCY}", f"search.seed={seed}"])
    return spec, simulate(spec, curves=curves), curves


def budget_overrides(*, set_name: str, amount: float) -> list[str]:
    """A budget of ``amount`` in the set's cost unit (examples, or GPU seconds as GPU-hours), no trial count."""
    from sweeps.run.curves import read_curves

    unit = read_curves(SETS[set_name].curves_file).header.cost_unit
    budget = f"{{train_examples: {amount}}}" if unit == "examples" else f"{{gpu_hours: {amount / 3600}}}"
    return [f"search.budget={budget}", "search.num_trials=null"]


def count_sweep(*, set_name: str, seed: int) -> dict[str, Any]:
    _, sweep, curves = replay(set_name=set_name, seed=seed, overrides=[f"search.num_trials={TRIALS}"])
    return _outcome(sweep, curves=curves) | {"set": set_name, "seed": seed, "kind": "trials"}


def budget_sweep(*, set_name: str, seed: int, amount: float) -> dict[str, Any]:
    _, sweep, curves = replay(set_name=set_name, seed=seed, overrides=budget_overrides(set_name=set_name,
                                                                                       amount=amount))
    return _outcome(sweep, curves=curves) | {"set": set_name, "seed": seed, "kind": "budget", "budget": amount}


def _outcome(sweep: Any, *, curves: Any) -> dict[str, Any]:
    best = max(report[sweep.metric] for trial in sweep.trials for report in trial.reports)
    return {"regret": curves.best_value() - best, "cost": sweep.total_cost(), "trials": len(sweep.trials),
            "stopped": sum(trial.stopped_early for trial in sweep.trials)}


def front_sweep(*, set_name: str, arm: str, seed: int, amount: float) -> dict[str, Any]:
    """One two-objective sweep of ``arm`` at the budget and its front's normalised hypervolume."""
    from sweeps.results.pareto import pareto_front

    spec, sweep, curves = replay(set_name=set_name, seed=seed,
                                 overrides=[*FRONT_ARMS[arm], *budget_overrides(set_name=set_name, amount=amount)])
    points = [{"trial_id": trial.trial_id, "values": {"accuracy": report["accuracy"], "time_total_s": report[
        "time_total_s"]}} for trial in sweep.trials if trial.reports
        for report in [max(trial.reports, key=lambda report: report["accuracy"])]]
    front = pareto_front(points, spec=spec)
    worst = min(value for run in curves.runs for _, value in run.curve if math.isfinite(value))
    longest = max(run.total_cost() for run in curves.runs)
    volume = hypervolume([(p["values"]["time_total_s"], p["values"]["accuracy"]) for p in front],
                         worst=worst, longest=longest)
    return {"set": set_name, "arm": arm, "seed": seed, "hypervolume": volume / ((curves.best_value() - worst) *
                                                                               longest),
            "front": len(front), "trials": len(sweep.trials), "cost": sweep.total_cost()}


def hypervolume(points: list[tuple[float, float]], *, worst: float, longest: float) -> float:
    """The area that (cost, value) points dominate (cost lower, value higher) in the box from (``longest``,
    ``worst``)."""
    inside = sorted((cost, value) for cost, value in points if cost < longest and value > worst)
    area, best = 0.0, worst
    for (cost, value), (next_cost, _) in zip(inside, [*inside[1:], (longest, worst)], strict=True):
        best = max(best, value)
        area += (next_cost - cost) * (best - worst)
    return area


def run_costs(*, seeds: int, sets: list[str], front: bool, budget: bool, pool: Any) -> dict[str, Any]:
    """Both measures over ``seeds`` seeds per set (``pool``: a multiprocessing pool); the figures per set."""
    counts = pool.starmap(_count_job, [(set_name, seed) for set_name in sets for seed in range(seeds)])
    amounts = {set_name: statistics.fmean(run["cost"] for run in counts if run["set"] == set_name) for set_name in sets}
    results: dict[str, Any] = {"counts": counts, "budget_amounts": amounts}
    if budget:
        results["budgets"] = pool.starmap(_budget_job, [(s, seed, amounts[s]) for s in sets for seed in range(seeds)])
    if front:
        results["fronts"] = pool.starmap(_front_job, [(s, arm, seed, amounts[s]) for s in sets for arm in FRONT_ARMS
                                                      for seed in range(seeds)])
    return results


def _count_job(set_name: str, seed: int) -> dict[str, Any]:
    return count_sweep(set_name=set_name, seed=seed)


def _budget_job(set_name: str, seed: int, amount: float) -> dict[str, Any]:
    return budget_sweep(set_name=set_name, seed=seed, amount=amount)


def _front_job(set_name: str, arm: str, seed: int, amount: float) -> dict[str, Any]:
    return front_sweep(set_name=set_name, arm=arm, seed=seed, amount=amount)


def print_costs(results: dict[str, Any]) -> None:
    """Markdown tables of both measures."""
    counts, budgets = results["counts"], results.get("budgets", [])
    if budgets:
        print("\nbudget-capped vs trial-count sweeps (default searcher and scheduler, c = 4): medians over seeds")
        print("| curve set | sweep | budget | trials | regret (pp) | mean regret (pp) | compute/budget (q1–q3, max) |")
        print("|---|---|---|---|---|---|---|")
        for set_name, amount in results["budget_amounts"].items():
            for kind, runs in (("24 trials", counts), ("budget", budgets)):
                mine = [run for run in runs if run["set"] == set_name]
                cost = spread([run["cost"] / amount for run in mine])
                print(f"| {set_name} | {kind} | {amount:.4g} | {spread([r['trials'] for r in mine])['median']:.0f} "
                      f"| {100 * spread([r['regret'] for r in mine])['median']:.2f} "
                      f"| {100 * statistics.fmean(r['regret'] for r in mine):.2f} "
                      f"| {cost['median']:.2f} ({cost['q1']:.2f}–{cost['q3']:.2f}, "
                      f"{max(r['cost'] / amount for r in mine):.2f}) |")
    fronts = results.get("fronts", [])
    if fronts:
        print("\nPareto front (accuracy vs compute) at the same budget: normalised hypervolume, medians over seeds")
        print("| curve set | arm | hypervolume | vs random | front points | trials |")
        print("|---|---|---|---|---|---|")
        for set_name in results["budget_amounts"]:
            base = spread([r["hypervolume"] for r in fronts if r["set"] == set_name and r["arm"] == "random"])
            for arm in FRONT_ARMS:
                mine = [r for r in fronts if r["set"] == set_name and r["arm"] == arm]
                volume = spread([r["hypervolume"] for r in mine])["median"]
                print(f"| {set_name} | {arm} | {volume:.3f} | {volume / base['median']:.2f}× "
                      f"| {spread([r['front'] for r in mine])['median']:.0f} "
                      f"| {spread([r['trials'] for r in mine])['median']:.0f} |")
