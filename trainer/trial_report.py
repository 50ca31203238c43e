"""The Train run's reports into its Tune trial, with the controller's start-up mark."""

from __future__ import annotations

from typing import Any

from ray.tune.integration.ray_train import TuneReportCallback

from trainer import startup


class TrialReportCallback(TuneReportCallback):
    """Ray's ``TuneReportCallback`` (rank 0's reports into the Tune trial, checkpoint path included), adding
    the controller's :mod:`trainer.startup` mark to each report that carries start-up marks."""

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Built in the trial actor, unpickled with Train's controller's arguments as the controller starts.
        self.__dict__.update(state)
        startup.mark("controller_start")

    def after_report(self, run_context, metrics, checkpoint):
        if startup.STARTUP_KEY in metrics[0]:
            metrics[0][startup.STARTUP_KEY].update(startup.marks())
        super().after_report(run_context, metrics, checkpoint)
