"""A live table of trials in the terminal while a sweep runs, drawn with rich from Tune's callbacks."""

from __future__ import annotations

from typing import Any

from ray.tune import Callback
from rich.console import Console
from rich.live import Live
from rich.table import Table

from sweeps.core.values import better, format_params, format_value


class LiveTrialTable(Callback):
    """Redraws one row per trial (state, hyperparameters, iteration, latest and best metric) on each event."""

    def __init__(self, *, metric: str, mode: str, console: Console | None = None):
        self.metric = metric
        self.mode = mode
        self.console = console or Console(stderr=True)
        self.rows: dict[str, dict[str, Any]] = {}
        self.live: Live | None = None

    def setup(self, **info):
        self.console = self.console or Console(stderr=True)  # None after a resume unpickled this callback
        self.live = Live(self._table(), console=self.console, refresh_per_second=2, transient=False)
        self.live.start()

    def on_trial_start(self, iteration, trials, trial, **info):
        self._update(trial, state="RUNNING")

    def on_trial_result(self, iteration, trials, trial, result, **info):
        row = self._update(trial, state="RUNNING", iteration=result.get("training_iteration", 0))
        value = result.get(self.metric)
        if value is not None:
            row["last"] = value
            row["best"] = value if better(value, row.get("best"), mode=self.mode) else row["best"]
        self._redraw()

    def on_trial_complete(self, iteration, trials, trial, **info):
        self._update(trial, state="DONE")

    def on_trial_error(self, iteration, trials, trial, **info):
        self._update(trial, state="ERROR")

    def on_experiment_end(self, trials, **info):
        if self.live is not None:
            self.live.stop()
            self.live = None
            if not self.console.is_terminal:  # a log or a pipe: Live ends the table without a newline there
                self.console.line()

    def __getstate__(self):
        # Tune pickles callbacks into its experiment state; a live terminal handle does not travel.
        return {**self.__dict__, "live": None, "console": None}

    def _update(self, trial: Any, **fields: Any) -> dict[str, Any]:
        row = self.rows.setdefault(trial.trial_id, {"params": format_params(trial.config)})
        row.update(fields)
        self._redraw()
        return row

    def _redraw(self) -> None:
        if self.live is not None:
            self.live.update(self._table())

    def _table(self) -> Table:
        table = Table(title=f"trials ({self.metric}, {self.mode})", expand=False)
        for column in ("trial", "state", "hyperparameters", "iter", f"last {self.metric}", "best"):
            table.add_column(column)
        for trial_id, row in self.rows.items():
            table.add_row(trial_id, row["state"], row["params"], str(row.get("iteration", 0)),
                          format_value(row["last"]) if "last" in row else "–",
                          format_value(row["best"]) if "best" in row else "–")
        return table
