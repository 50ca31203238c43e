"""Each trial's start-up phases as seconds since the driver launched it, in the trial's own results."""

from __future__ import annotations

import time
from typing import Any

from ray.tune import Callback

from trainer.startup import STARTUP_KEY, since_launch


class StartupClock(Callback):
    """Stamps a trial's launch when the driver first sees it (the step in which Tune creates the trial and asks
    for its actor: ``max_concurrent_trials`` makes Tune create a trial only when a slot is free), and rewrites
    the start-up marks its reports carry (epoch seconds from the trial's processes, :mod:`trainer.startup`) as
    seconds since that launch. Tune lets callbacks edit a result in place, and its result files are written
    by the logger callbacks it appends after the user's, so the files hold the rewritten marks. A resumed
    sweep's restored trials are all seen at its first step, so one that waits there for a slot counts the wait."""

    def __init__(self) -> None:
        self.launched: dict[str, float] = {}

    def on_step_end(self, iteration: int, trials: list[Any], **info: Any) -> None:
        now = time.time()
        for trial in trials:
            if trial.status in ("PENDING", "RUNNING"):
                self.launched.setdefault(trial.trial_id, now)

    def on_trial_result(self, iteration: int, trials: list[Any], trial: Any, result: dict[str, Any],
                        **info: Any) -> None:
        stamps = result.get(STARTUP_KEY)
        if isinstance(stamps, dict) and trial.trial_id in self.launched:
            result[STARTUP_KEY] = since_launch(stamps, launched=self.launched[trial.trial_id])

    def on_trial_complete(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self.launched.pop(trial.trial_id, None)

    on_trial_error = on_trial_complete
