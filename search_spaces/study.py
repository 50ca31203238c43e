"""Ray Tune's ``OptunaSearch``, telling the Optuna study what each trial really was.

Ray 2.60 tells Optuna every trial that has a metric as ``COMPLETE`` with its last value, so a trial the
scheduler stopped at its first rung reads to TPE as a finished bad run, and a failed trial as ``FAIL``, which
TPE ignores. Here a stopped or failed trial is ``PRUNED`` with every report as an intermediate value under its
optimizer step (TPE then ranks it below the finished trials, by how far it got), each Optuna trial carries its
Tune trial id, and past trials can enter the study before the first sample (``search.warm_start``).
Subclassed because these are OptunaSearch's own hooks into its study; Ray documents subclassing searchers as
the way to change them.
"""

from __future__ import annotations

import contextlib
from typing import Any, Protocol

import optuna
from ray.tune.search import Searcher
from ray.tune.search.optuna import OptunaSearch

TUNE_TRIAL_ID = "tune_trial_id"  # the Optuna user attribute naming a trial's Tune trial


class BudgetGate(Protocol):
    """What the searcher tells a compute budget (``sweeps.run.budget``) and asks of it: which trials start, report
    and end, and whether what is left still pays for one more trial's first rung."""

    def start(self, trial_id: str) -> None: ...

    def observe(self, trial_id: str, result: dict[str, Any]) -> None: ...

    def end(self, trial_id: str) -> None: ...

    def admits_new_trial(self) -> bool: ...


class SweepSearch(OptunaSearch):
    """``OptunaSearch`` whose study keeps stopped trials as pruned, with their reports (see the module doc)."""

    def __init__(self, *args: Any, budget: BudgetGate | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._reported_steps: dict[str, set[int]] = {}  # trial id → steps already in the study
        self.budget = budget

    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        if self.budget is not None and not self.budget.admits_new_trial():
            return Searcher.FINISHED  # the sweep ends once the running trials do
        config = super().suggest(trial_id)
        if config is not None and trial_id in self._ot_trials:
            self._ot_trials[trial_id].set_user_attr(TUNE_TRIAL_ID, trial_id)
            if self.budget is not None:
                self.budget.start(trial_id)
        return config

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        if self.budget is not None:
            self.budget.observe(trial_id, result)
        if isinstance(self.metric, list) or trial_id in self._completed_trials:
            return super().on_trial_result(trial_id, result)
        self._report(trial_id, result)

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        if trial_id in self._completed_trials:
            return super().on_trial_complete(trial_id, result=result, error=error)
        if self.budget is not None:
            self.budget.observe(trial_id, result or {})
            self.budget.end(trial_id)
        # Tune does not pass the report that made the scheduler stop a trial to on_trial_result. (Optuna keeps no
        # intermediate values for several objectives: such a trial is pruned without them.)
        if result and not isinstance(self.metric, list):
            self._report(trial_id, result)
        # A failed trial is pruned too, not FAIL (which TPE ignores): a config that diverges or crashes is one the
        # sampler should move away from; retries for infrastructure faults happen before Tune calls this.
        if not (error or (bool(result) and not result.get("training_finished", True))):
            return super().on_trial_complete(trial_id, result=result, error=error)
        # Optuna's GridSampler asks its optimize loop to stop once every cell is done, which raises outside one;
        # the trial's state is stored first, and Tune ends the sweep itself (OptunaSearch swallows it the same way).
        with contextlib.suppress(RuntimeError):
            self._ot_study.tell(self._ot_trials[trial_id], state=optuna.trial.TrialState.PRUNED)
        self._completed_trials.add(trial_id)

    def add_trials(self, trials: list[optuna.trial.FrozenTrial]) -> None:
        """Put finished trials (another sweep's) into the study, so the sampler starts informed."""
        self._ot_study.add_trials(trials)

    def _report(self, trial_id: str, result: dict[str, Any]) -> None:
        """The report as the trial's intermediate value at its optimizer step (Ray uses the report count)."""
        value = result.get(self.metric)
        step = int(result.get("step") or result.get("training_iteration") or 0)
        reported = self._reported_steps.setdefault(trial_id, set())
        if value is not None and step not in reported:
            self._ot_trials[trial_id].report(float(value), step)
            reported.add(step)
