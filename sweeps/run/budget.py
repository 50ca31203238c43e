"""``search.budget``: what each trial has spent, from its reports, in the budget's unit; the searcher's gate (no
new trial the remaining budget cannot pay for to its first rung) and the scheduler's (once the budget is spent,
each running trial stops at its next rung).

A trial's spend is read from its latest report: GPU- or CPU-hours as Tune's ``time_total_s`` times the
devices the trial holds (a replayed trial reports its simulated ``gpu_hours`` itself), tokens as the trainer's
``train_tokens``, examples as its ``examples``. A failed trial keeps what its last report said.
"""

from __future__ import annotations

import statistics
from typing import TYPE_CHECKING, Any

from ray.tune.schedulers import TrialScheduler

if TYPE_CHECKING:
    from sweeps.spec import SweepSpec


def spent_in(result: dict[str, Any], *, unit: str, devices: float) -> float:
    """What the trial behind ``result`` has spent so far, in ``unit`` (``devices``: GPUs or CPUs it holds)."""
    if unit in result:  # replay's simulated clock, or the trainer's own count
        return float(result[unit])
    if unit in ("gpu_hours", "cpu_hours"):
        return float(result.get("time_total_s", 0.0)) * devices / 3600
    return float(result.get("examples" if unit == "train_examples" else unit, 0.0))


def devices_held(spec: SweepSpec, *, unit: str) -> float:
    """The GPUs (gpu_hours) or CPUs (cpu_hours) one trial holds."""
    resources = spec.resources
    if unit == "gpu_hours":
        return float(resources.workers if resources.use_gpu else 0)
    return resources.workers * resources.cpus_per_worker


class BudgetLedger:
    """What each trial has spent and what one first rung costs; the searcher asks it before each new trial."""

    def __init__(self, *, amount: float, unit: str, devices: float, first_rung: float, time_attr: str):
        self.amount, self.unit, self.devices = amount, unit, devices
        self.first_rung, self.time_attr = first_rung, time_attr
        self.spent: dict[str, float] = {}
        self.first_rung_costs: dict[str, float] = {}  # trial id → what reaching the first rung cost it

    def observe(self, trial_id: str, result: dict[str, Any]) -> None:
        spent = spent_in(result, unit=self.unit, devices=self.devices)
        self.spent[trial_id] = max(spent, self.spent.get(trial_id, 0.0))
        if trial_id not in self.first_rung_costs and float(result.get(self.time_attr, 0.0)) >= self.first_rung:
            self.first_rung_costs[trial_id] = spent

    def total(self) -> float:
        return sum(self.spent.values())

    def exhausted(self) -> bool:
        return self.total() >= self.amount

    def admits_new_trial(self) -> bool:
        """Whether what is left pays one more first rung beside those the running trials may still need."""
        if not self.first_rung_costs:
            return not self.exhausted()  # nothing is known yet of what a rung costs
        rung = statistics.fmean(self.first_rung_costs.values())
        unproven = [trial for trial in self.spent if trial not in self.first_rung_costs]
        return self.amount - self.total() - rung * len(unproven) >= rung


class BudgetStopping(TrialScheduler):
    """``inner``'s decisions, except that once ``ledger``'s budget is spent each running trial stops at its next
    rung milestone (of ``milestones``, in the scheduler's time unit)."""

    def __init__(self, inner: TrialScheduler, *, ledger: BudgetLedger, milestones: list[float]):
        self.inner, self.ledger, self.milestones = inner, ledger, sorted(milestones)
        self.stop_at: dict[str, float] = {}  # trial id → the milestone it stops at, set when the budget ran out

    def set_search_properties(self, metric: str | None, mode: str | None, **spec: Any) -> bool:
        return self.inner.set_search_properties(metric, mode, **spec)

    @property
    def metric(self) -> str | None:
        return self.inner.metric

    def on_trial_add(self, tune_controller: Any, trial: Any) -> None:
        self.inner.on_trial_add(tune_controller, trial)

    def on_trial_result(self, tune_controller: Any, trial: Any, result: dict[str, Any]) -> str:
        decision = self.inner.on_trial_result(tune_controller, trial, result)
        self.ledger.observe(trial.trial_id, result)
        if not self.ledger.exhausted():
            return decision
        now = float(result.get(self.ledger.time_attr, 0.0))
        if trial.trial_id not in self.stop_at:
            self.stop_at[trial.trial_id] = next((mark for mark in self.milestones if mark > now), now)
        return TrialScheduler.STOP if now >= self.stop_at[trial.trial_id] else decision

    def on_trial_complete(self, tune_controller: Any, trial: Any, result: dict[str, Any]) -> None:
        self.ledger.observe(trial.trial_id, result)
        self.inner.on_trial_complete(tune_controller, trial, result)

    def on_trial_error(self, tune_controller: Any, trial: Any) -> None:
        self.inner.on_trial_error(tune_controller, trial)

    def on_trial_remove(self, tune_controller: Any, trial: Any) -> None:
        self.inner.on_trial_remove(tune_controller, trial)

    def choose_trial_to_run(self, tune_controller: Any) -> Any:
        return self.inner.choose_trial_to_run(tune_controller)

    def debug_string(self) -> str:
        return f"budget {self.ledger.total():.4g} of {self.ledger.amount:.4g} {self.ledger.unit}; " \
               f"{self.inner.debug_string()}"


def budget_ledger(spec: SweepSpec, *, first_rung: float, time_attr: str) -> BudgetLedger | None:
    """A fresh ledger for ``spec``'s budget (None without one)."""
    budget = spec.search.budget
    if budget is None:
        return None
    return BudgetLedger(amount=budget.amount, unit=budget.unit, devices=devices_held(spec, unit=budget.unit),
                        first_rung=first_rung, time_attr=time_attr)
