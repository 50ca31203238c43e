"""A scheduler that makes some of the stop/continue decisions itself and passes the rest of Tune's calls to
the scheduler it wraps (ASHA, usually): curve stopping and the budget's stop at the next rung are both one."""

from __future__ import annotations

from typing import Any

from ray.tune.schedulers import TrialScheduler


class WrappingScheduler(TrialScheduler):
    """Every call Tune makes goes to ``inner``; a subclass overrides the decisions it takes over."""

    def __init__(self, inner: TrialScheduler):
        self.inner = inner

    def set_search_properties(self, metric: str | None, mode: str | None, **spec: Any) -> bool:
        return self.inner.set_search_properties(metric, mode, **spec)

    @property
    def metric(self) -> str | None:
        return self.inner.metric

    def on_trial_add(self, tune_controller: Any, trial: Any) -> None:
        self.inner.on_trial_add(tune_controller, trial)

    def on_trial_result(self, tune_controller: Any, trial: Any, result: dict[str, Any]) -> str:
        return self.inner.on_trial_result(tune_controller, trial, result)

    def on_trial_complete(self, tune_controller: Any, trial: Any, result: dict[str, Any]) -> None:
        self.inner.on_trial_complete(tune_controller, trial, result)

    def on_trial_error(self, tune_controller: Any, trial: Any) -> None:
        self.inner.on_trial_error(tune_controller, trial)

    def on_trial_remove(self, tune_controller: Any, trial: Any) -> None:
        self.inner.on_trial_remove(tune_controller, trial)

    def choose_trial_to_run(self, tune_controller: Any) -> Any:
        return self.inner.choose_trial_to_run(tune_controller)

    def debug_string(self) -> str:
        return self.inner.debug_string()
