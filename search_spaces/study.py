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

from collections.abc import Collection, Mapping
from contextlib import suppress
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
        if isinstance(self.metric, list):
            return super().on_trial_result(trial_id, result)
        if trial_id not in self._completed_trials:  # else the study holds its end: see on_trial_complete
            self._report(trial_id, result)
        return None

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        if self.budget is not None and trial_id not in self._completed_trials:
            self.budget.observe(trial_id, result or {})
            self.budget.end(trial_id)
        if trial_id in self._completed_trials or self._told(trial_id):
            # A resume runs again a trial that ended after Tune's last snapshot, or one that failed (its new
            # attempt has a study trial of its own, see settle_study): the study holds the end of this one.
            self._completed_trials.add(trial_id)
            return None
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
        with suppress(RuntimeError):
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
            with suppress(optuna.exceptions.UpdateFinishedTrialError):  # told already: see on_trial_complete
                self._ot_trials[trial_id].report(float(value), step)
            reported.add(step)

    def _told(self, trial_id: str) -> bool:
        """Whether the study holds the end of this trial already (trial numbers index a study's trials)."""
        return self._ot_study.get_trials(deepcopy=False)[self._ot_trials[trial_id].number].state.is_finished()


def settle_study(study: optuna.Study, *, metric: str, trials: Mapping[str, Any]) -> list[int]:
    """Tell the study what became of the trials a dead driver left running in it, so that it and Tune agree
    trial by trial; ``trials`` maps each Tune trial id to its Tune trial (``status``, ``last_result``). A trial
    whose Tune trial ended is told as :class:`SweepSearch` would have told it; one Tune never recorded (the
    driver died between asking the sampler and saving Tune's state) never ran, and fails, which TPE ignores.
    Trials still unfinished in Tune stay running for the next resume. Returns the numbers told.

    Ray's ``OptunaSearch`` ignores (and this class suppresses) what Tune says of a trial the study holds as
    ended, so a trial that a resume runs again gets a new study trial (:func:`reopen_trials`), told here."""
    told = []
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        tune_trial = trials.get(trial.user_attrs.get(TUNE_TRIAL_ID))
        if tune_trial is None:
            study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
        elif tune_trial.status in ("TERMINATED", "ERROR"):
            last = tune_trial.last_result or {}
            finished = tune_trial.status == "TERMINATED" and last.get("training_finished", True)
            if finished and last.get(metric) is not None:
                study.tell(trial.number, float(last[metric]))
            else:
                study.tell(trial.number, state=optuna.trial.TrialState.PRUNED)
        else:
            continue
        told.append(trial.number)
    return told


def reopen_trials(study: optuna.Study, *, tune_trial_ids: Collection[str]) -> list[str]:
    """A new running study trial (same parameters, same Tune trial id) for each of ``tune_trial_ids`` whose
    latest study trial has ended: failed trials that a resume runs again. The failed attempt stays in the
    study as it was told (pruned); :func:`settle_study` tells the new one how it ended. Returns the ids."""
    latest = {trial.user_attrs.get(TUNE_TRIAL_ID): trial for trial in study.get_trials(deepcopy=False)}
    reopened = [tune_id for tune_id in tune_trial_ids if tune_id in latest and latest[tune_id].state.is_finished()]
    for tune_id in reopened:
        study.add_trial(optuna.trial.create_trial(
            state=optuna.trial.TrialState.RUNNING, params=latest[tune_id].params,
            distributions=latest[tune_id].distributions, user_attrs={TUNE_TRIAL_ID: tune_id}))
    return reopened
