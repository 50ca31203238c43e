"""``search.budget`` while a sweep runs: one ledger of what each trial has spent, read from its reports
(:func:`sweeps.spec.objectives.spent_in`), shared by the searcher's gate (no new trial that what is left cannot
pay for to its first rung) and the scheduler's (once the budget is spent, each running trial stops at its next
rung). A failed or stopped trial keeps what its last report said it had spent.
"""

from __future__ import annotations

import statistics
from typing import TYPE_CHECKING, Any

from ray.tune.schedulers import TrialScheduler

from sweeps.run.wrapping import WrappingScheduler
from sweeps.spec.objectives import devices_held, spent_in

if TYPE_CHECKING:
    from sweeps.spec import SweepSpec


class BudgetLedger:
    """What each trial has spent and what reaching the first rung cost the trials that got there."""

    def __init__(self, *, amount: float, unit: str, devices: float, first_rung: float, time_attr: str):
        self.amount, self.unit, self.devices = amount, unit, devices
        self.first_rung, self.time_attr = first_rung, time_attr  # the rung, in the scheduler's time unit
        self.spent: dict[str, float] = {}
        self.running: set[str] = set()
        self.first_rung_costs: dict[str, float] = {}  # trial id → what reaching the first rung cost it

    def start(self, trial_id: str) -> None:
        self.running.add(trial_id)
        self.spent.setdefault(trial_id, 0.0)

    def observe(self, trial_id: str, result: dict[str, Any]) -> None:
        """Take a trial's latest report (the scheduler and the searcher both pass each one: taking it twice is
        harmless)."""
        spent = max(spent_in(result, unit=self.unit, devices=self.devices), self.spent.get(trial_id, 0.0))
        self.spent[trial_id] = spent
        if trial_id not in self.first_rung_costs and float(result.get(self.time_attr) or 0.0) >= self.first_rung:
            self.first_rung_costs[trial_id] = spent

    def end(self, trial_id: str) -> None:
        self.running.discard(trial_id)

    def total(self) -> float:
        return sum(self.spent.values())

    def exhausted(self) -> bool:
        return self.total() >= self.amount

    def admits_new_trial(self) -> bool:
        """Whether what is left pays for one more first rung, beyond what the running trials still need to reach
        theirs (the mean first-rung cost so far; before any trial got there, whether anything is left)."""
        if not self.first_rung_costs:
            return not self.exhausted()
        rung = statistics.fmean(self.first_rung_costs.values())
        owed = sum(max(rung - self.spent[trial], 0.0) for trial in self.running if trial not in self.first_rung_costs)
        return self.amount - self.total() - owed >= rung


class BudgetStopping(WrappingScheduler):
    """``inner``'s decisions, except that once ``ledger``'s budget is spent each running trial stops at its next
    rung (of ``milestones``, in the scheduler's time unit): the rung it was paying for is finished, not wasted."""

    def __init__(self, inner: TrialScheduler, *, ledger: BudgetLedger, milestones: list[float]):
        super().__init__(inner)
        self.ledger, self.milestones = ledger, sorted(milestones)
        self.stop_at: dict[str, float] = {}  # trial id → the rung it stops at, set when the budget ran out

    def on_trial_result(self, tune_controller: Any, trial: Any, result: dict[str, Any]) -> str:
        decision = self.inner.on_trial_result(tune_controller, trial, result)
        self.ledger.observe(trial.trial_id, result)
        if not self.ledger.exhausted():
            return decision
        now = float(result.get(self.ledger.time_attr) or 0.0)
        stop_at = self.stop_at.setdefault(trial.trial_id, next((mark for mark in self.milestones if mark >= now), now))
        return TrialScheduler.STOP if now >= stop_at else decision

    def on_trial_complete(self, tune_controller: Any, trial: Any, result: dict[str, Any]) -> None:
        self.ledger.observe(trial.trial_id, result)
        self.inner.on_trial_complete(tune_controller, trial, result)

    def debug_string(self) -> str:
        return (f"budget {self.ledger.total():.4g} of {self.ledger.amount:.4g} {self.ledger.unit}; "
                f"{self.inner.debug_string()}")


def budget_ledger(spec: SweepSpec, *, first_rung: float, time_attr: str) -> BudgetLedger | None:
    """A fresh ledger for ``spec``'s budget (None without one)."""
    budget = spec.search.budget
    if budget is None:
        return None
    return BudgetLedger(amount=budget.amount, unit=budget.unit, devices=devices_held(spec.resources, unit=budget.unit),
                        first_rung=first_rung, time_attr=time_attr)
