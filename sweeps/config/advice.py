"""Advice on a valid spec whose numbers make a feature pointless or harmful (``validate`` and ``run`` print it as
notes; nothing is refused): early stopping with too few trials for its rungs, or with every trial at once."""

from __future__ import annotations

import math

from sweeps.spec import SweepSpec


def scheduler_notes(spec: SweepSpec) -> list[str]:
    """What ``spec.scheduler`` cannot do in this sweep, one sentence each."""
    scheduler, search = spec.scheduler, spec.search
    if scheduler.name not in ("asha", "curve"):
        return []
    notes = []
    if scheduler.grace_period is not None and scheduler.max_t is None and scheduler.time_unit != "progress":
        return notes  # the top rung comes from the training length, known once the data is read
    trials = search.trial_limit()
    grace, top = scheduler.rungs(num_trials=trials, max_t=scheduler.max_t or 1.0)
    rungs_below_top = math.floor(math.log(top / grace, scheduler.reduction_factor) + 1e-9) if grace < top else 0
    if rungs_below_top == 0:
        needed = math.ceil(scheduler.top_rung_trials * scheduler.reduction_factor)
        notes.append(f"scheduler: {scheduler.name} can stop no trial early in a sweep of {trials} trials: "
                     f"its derived rungs need at least {needed} (top_rung_trials × reduction_factor); give "
                     f"scheduler.grace_period, more trials, or scheduler.name none")
    elif trials / scheduler.reduction_factor ** rungs_below_top < 1:
        notes.append(f"scheduler: with {rungs_below_top} rungs below the top and {trials} trials, about "
                     f"{trials / scheduler.reduction_factor ** rungs_below_top:.1f} trials would train to "
                     f"the end; raise scheduler.grace_period or search.num_trials")
    if search.max_concurrent_trials >= trials > 1:
        notes.append(f"scheduler: all {trials} trials run at once (search.max_concurrent_trials "
                     f"{search.max_concurrent_trials}), so no trial waits for a rung's evidence and early stopping "
                     f"saves little; run fewer at a time")
    return notes
