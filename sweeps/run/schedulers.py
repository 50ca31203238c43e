"""The sweep's early-stopping scheduler: ASHA (default), curve stopping, median stopping or none, counting
``scheduler.time_unit``, with its rungs from the spec; under a ``search.budget`` each running trial stops at its
next rung once the budget is spent."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from sweeps.config.space import effective_space
from sweeps.run.budget import BudgetLedger, BudgetStopping, budget_ledger
from sweeps.run.warm_start import reference_curves

if TYPE_CHECKING:
    from sweeps.spec import SweepSpec

# ASHA's top rung in reports when the training length is not known before the data is loaded (Ray's default).
DEFAULT_MAX_REPORTS = 100

# scheduler.time_unit → the result key it reads (trainer.report reports them all; replay too).
TIME_ATTRS = {"progress": "progress", "steps": "step", "examples": "examples", "reports": "training_iteration"}


def build_scheduler(spec: SweepSpec, *, max_t: float | None = None, ledger: BudgetLedger | None = None):
    """ASHA (default), median stopping or none, counting ``scheduler.time_unit``; ``max_t`` is the longest
    trial's length in that unit when the caller knows it (replay), else it comes from the spec. With a budget's
    ``ledger``, wrapped in :class:`BudgetStopping`."""
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler, MedianStoppingRule

    scheduler = spec.scheduler
    time_attr = TIME_ATTRS[scheduler.time_unit]
    grace, top = rungs(spec, max_t=max_t)
    if scheduler.name in ("asha", "curve"):
        chosen = ASHAScheduler(time_attr=time_attr, max_t=top, grace_period=grace,
                               reduction_factor=scheduler.reduction_factor, brackets=scheduler.brackets)
        if scheduler.name == "curve":
            chosen = _curve_stopping(spec, fallback=chosen, grace=grace / top)
    elif scheduler.name == "median":
        chosen = MedianStoppingRule(time_attr=time_attr, grace_period=grace)
    else:
        chosen = FIFOScheduler()
    if ledger is None:
        return chosen
    return BudgetStopping(chosen, ledger=ledger, milestones=milestones(grace, top, factor=scheduler.reduction_factor))


def sweep_ledger(spec: SweepSpec, *, max_t: float | None = None) -> BudgetLedger | None:
    """The budget ledger the searcher and the scheduler of one sweep share (None without a budget): a trial's
    first rung is where it first faces the scheduler (its whole length without early stopping)."""
    grace, top = rungs(spec, max_t=max_t)
    return budget_ledger(spec, first_rung=top if spec.scheduler.name == "none" else grace,
                         time_attr=TIME_ATTRS[spec.scheduler.time_unit])


def rungs(spec: SweepSpec, *, max_t: float | None = None) -> tuple[float, float]:
    """``(first rung, top rung)`` of ``spec``'s scheduler in its time unit (a budget sweep without num_trials
    gets the most rungs the derived grace period allows)."""
    return spec.scheduler.rungs(num_trials=spec.search.trial_limit(), max_t=max_t or training_length(spec))


def milestones(grace: float, top: float, *, factor: float) -> list[float]:
    """The rungs from ``grace`` up to ``top``, each ``factor`` times the last."""
    marks, mark = [], grace
    while mark < top * (1 - 1e-9):
        marks.append(mark)
        mark *= factor
    return [*marks, top]


def _curve_stopping(spec: SweepSpec, *, fallback: Any, grace: float):
    from statistics import NormalDist

    from sweeps.run.curve_stopping import CurveStopping

    scheduler = spec.scheduler
    return CurveStopping(fallback=fallback, references=reference_curves(spec), grace=grace, top_k=scheduler.top_k,
                         z=NormalDist().inv_cdf(1 - scheduler.stop_chance))


def training_length(spec: SweepSpec) -> float:
    """The longest trial's training in ``scheduler.time_unit``, from the spec: 1 for progress; from a fixed
    ``training.max_steps`` for the others (config checks refuse steps and examples without one)."""
    unit, training = spec.scheduler.time_unit, spec.training
    if spec.scheduler.max_t is not None or unit == "progress":
        return spec.scheduler.max_t or 1.0
    steps = training.max_steps if "training.max_steps" not in effective_space(spec) else None
    if unit == "reports":
        return math.ceil(steps / training.eval_every_steps) if steps else DEFAULT_MAX_REPORTS
    return float(steps * (training.batch_size if unit == "examples" else 1))


