"""W&B reporting: one group per sweep, one run per trial, summary = the trial's best value.

Why not Ray's ``WandbLoggerCallback``: it sends every result through a synchronous actor queue, which
blocked Tune's event loop 0.73 s per result on this 2-core machine (10.9 s for 15 results), and it prints a
traceback from ``__del__`` at exit. wandb ≥ 0.19 runs several runs in one process (``reinit="create_new"``)
through its own service process, so logging from the Tune driver costs ~8 ms per result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ray.tune import Callback

from sweeps.core.values import better, is_number

if TYPE_CHECKING:
    from sweeps.spec import SweepSpec

# Tune's own bookkeeping fields that are not worth a chart.
NOT_LOGGED = {"timestamp", "pid", "time_since_restore", "iterations_since_restore", "done"}


class WandbTrialRuns(Callback):
    """A Tune callback that opens a W&B run when a trial starts and finishes it when the trial ends."""

    def __init__(self, spec: SweepSpec):
        self.wandb = spec.tracking.wandb
        self.group = spec.name
        self.run_dir = spec.sweep_dir
        self.metric = spec.search.metric
        self.mode = spec.search.mode
        self.runs: dict[str, Any] = {}
        self.logged: dict[str, int] = {}  # trial id → the last step logged (a restarted trial repeats reports)

    def on_trial_start(self, iteration, trials, trial, **info):
        import wandb

        # The key comes from WANDB_API_KEY or ~/.netrc, never from the sweep file; offline needs none.
        self.runs[trial.trial_id] = wandb.init(
            project=self.wandb.project, entity=self.wandb.entity, group=self.group, job_type="trial",
            name=trial.trial_id, id=f"{self.group}-{trial.trial_id}", resume="allow", config=dict(trial.config),
            mode=self.wandb.mode, dir=self.run_dir, reinit="create_new",
            settings=wandb.Settings(console="off", silent=True),
        )

    def on_trial_result(self, iteration, trials, trial, result, **info):
        run = self.runs.get(trial.trial_id)
        step = int(result.get("training_iteration", 0))
        if run is None or step <= self.logged.get(trial.trial_id, 0):
            return
        self.logged[trial.trial_id] = step
        metrics = {key: value for key, value in result.items() if is_number(value) and key not in NOT_LOGGED}
        run.log(metrics, step=step)
        value = result.get(self.metric)
        best = run.summary.get(f"best_{self.metric}")
        if value is not None and better(value, best, mode=self.mode):
            run.summary[f"best_{self.metric}"] = value

    def on_trial_complete(self, iteration, trials, trial, **info):
        self._finish(trial.trial_id, exit_code=0)

    def on_trial_error(self, iteration, trials, trial, **info):
        self._finish(trial.trial_id, exit_code=1)

    def on_experiment_end(self, trials, **info):
        for trial_id in list(self.runs):
            self._finish(trial_id, exit_code=0)

    def __getstate__(self):
        # Tune pickles callbacks into its experiment state; open runs are process-local handles.
        return {**self.__dict__, "runs": {}}

    def _finish(self, trial_id: str, *, exit_code: int) -> None:
        run = self.runs.pop(trial_id, None)
        if run is not None:
            run.finish(exit_code=exit_code)
