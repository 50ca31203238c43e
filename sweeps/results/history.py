"""A sweep's optimisation history: the best value found so far, against the trials run and against the compute
spent. Compute is what the trials held while they ran: each trial's wall seconds (Tune's ``time_total_s``)
times the GPUs it holds, or its CPUs on a CPU-only sweep, in device-hours."""

from __future__ import annotations

from typing import Any

from sweeps.core.values import Mode, best_of, better
from sweeps.spec import SweepSpec


def compute_unit(spec: SweepSpec) -> tuple[str, float]:
    """The unit compute is counted in, and how many of it one trial holds."""
    resources = spec.resources
    if resources.use_gpu:
        return "GPU-hours", float(resources.workers)
    return "CPU-hours", resources.workers * resources.cpus_per_worker


def optimisation_history(*, curves: dict[str, dict[str, list[Any]]], metric: str, mode: Mode,
                         devices: float) -> dict[str, list[dict[str, Any]]]:
    """``curves`` (trial id → its reports' ``timestamp``, ``time_total_s`` and ``metric``, in report order) as
    two series. ``by_trial``: the trials in the order they started, each with its best value and the best so
    far after it. ``by_compute``: every report in time order, with the compute all trials had spent by then
    (each counted up to its latest report) and the best so far."""
    reported = {trial_id: curve for trial_id, curve in curves.items() if curve[metric]}
    by_trial, best = [], None
    for number, trial_id in enumerate(sorted(reported, key=lambda t: _started(reported[t])), start=1):
        value = best_of(reported[trial_id][metric], mode=mode)
        best = value if better(value, best, mode=mode) else best
        by_trial.append({"number": number, "trial_id": trial_id, "value": value, "best_so_far": best})
    reports = sorted((curve["timestamp"][index], curve["time_total_s"][index], trial_id, curve[metric][index])
                     for trial_id, curve in reported.items() for index in range(len(curve[metric])))
    spent: dict[str, float] = {}
    by_compute, best = [], None
    for _, seconds, trial_id, value in reports:
        spent[trial_id] = seconds
        best = value if better(value, best, mode=mode) else best
        by_compute.append({"compute": sum(spent.values()) * devices / 3600, "trial_id": trial_id, "value": value,
                           "best_so_far": best})
    return {"by_trial": by_trial, "by_compute": by_compute}


def _started(curve: dict[str, list[Any]]) -> float:
    # The first report's wall-clock time less the trial's seconds until then.
    return curve["timestamp"][0] - curve["time_total_s"][0]
