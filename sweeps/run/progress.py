"""A sweep's progress on stdout, from Tune's callbacks: on a terminal, a live table of trials with a status line
under it; anywhere else (a pipe, CI, a submitted job's logs) one plain line per trial event, printed as it
happens so that ``finesweep logs --follow`` tells the story; with ``run --json-events``, one JSON line per event."""

from __future__ import annotations

import json
import sys
from typing import Any, Protocol

from ray.tune import Callback
from rich.console import Console, Group
from rich.live import Live
from rich.table import Column, Table
from rich.text import Text

from sweeps.core.values import format_params, format_value
from sweeps.run.events import SweepTally, error_line, event_line


class EventSink(Protocol):
    def show(self, event: dict[str, Any], tally: SweepTally) -> None: ...

    def close(self) -> None: ...


class SweepProgress(Callback):
    """Turns Tune's trial callbacks into events (:mod:`sweeps.run.events`) and shows them."""

    def __init__(self, *, metric: str, mode: str, planned: int | None, json_events: bool = False):
        self.tally = SweepTally(metric=metric, mode=mode, planned=planned)
        self.json_events = json_events
        self.sink: EventSink | None = None

    def setup(self, **info):
        # Chosen here, not in __init__: a resumed sweep unpickles this callback into another process and terminal.
        self.tally.restart_clock()
        console = Console()
        if self.json_events:
            self.sink = JsonLines()
        elif console.is_terminal:
            self.sink = LiveTable(console)
        else:
            self.sink = PlainLines()

    def on_trial_start(self, iteration, trials, trial, **info):
        self._show(self.tally.started(trial.trial_id, params=trial.config))

    def on_trial_result(self, iteration, trials, trial, result, **info):
        self._show(self.tally.reported(trial.trial_id, result=result))

    def on_trial_complete(self, iteration, trials, trial, **info):
        self._show(self.tally.ended(trial.trial_id))

    def on_trial_error(self, iteration, trials, trial, **info):
        self._show(self.tally.ended(trial.trial_id, error=error_line(trial.error_file)))

    def on_experiment_end(self, trials, **info):
        if self.sink is not None:
            self.sink.close()
            self.sink = None

    def __getstate__(self):
        # Tune pickles callbacks with the tuner; `finesweep resume` unpickles them in another process, whose
        # own output decides between the table and plain lines (`--json-events` is an option of `run` only).
        return {**self.__dict__, "sink": None, "json_events": False}

    def get_state(self) -> dict[str, Any]:
        # Saved with Tune's experiment state and handed back on resume: the trials seen so far.
        return {"trials": dict(self.tally.trials)}

    def set_state(self, state: dict[str, Any]) -> None:
        self.tally.trials = dict(state["trials"])

    def _show(self, event: dict[str, Any]) -> None:
        if self.sink is not None:
            self.sink.show(event, self.tally)


class PlainLines:
    """One line per event, flushed at once: a pipe would otherwise hold them until the sweep ends."""

    def show(self, event: dict[str, Any], tally: SweepTally) -> None:
        sys.stdout.write(event_line(event, status=tally.status_line()) + "\n")
        sys.stdout.flush()

    def close(self) -> None:
        sys.stdout.write("\n")  # the run summary follows, set apart


class JsonLines:
    """One JSON object per line and event (keys: :data:`sweeps.run.events.EVENT_KEYS`)."""

    def show(self, event: dict[str, Any], tally: SweepTally) -> None:
        sys.stdout.write(json.dumps(event) + "\n")
        sys.stdout.flush()

    def close(self) -> None:
        pass


class LiveTable:
    """A table of trials redrawn in place, with the sweep's status line under it."""

    def __init__(self, console: Console):
        self.console = console
        self.live = Live(console=console, refresh_per_second=2, transient=False)
        self.live.start()

    def show(self, event: dict[str, Any], tally: SweepTally) -> None:
        self.live.update(Group(trial_table(tally), Text(tally.status_line(), style="bold")))

    def close(self) -> None:
        self.live.stop()
        self.console.line()  # the run summary follows, set apart


def trial_table(tally: SweepTally) -> Table:
    """One row per trial. Ids, states and values never wrap or shrink; hyperparameters wrap, so the table
    stays whole at 80 columns."""
    table = Table(Column("trial", no_wrap=True), Column("state", no_wrap=True),
                  Column("hyperparameters", ratio=1, overflow="fold"), Column("step", no_wrap=True, justify="right"),
                  Column("last", no_wrap=True), Column("best", no_wrap=True),
                  title=f"trials ({tally.metric}, {tally.mode})", expand=False)
    for trial in tally.trials.values():
        step = f"{trial.step} ({trial.progress:.0%})" if trial.step is not None else "–"
        table.add_row(trial.trial_id, trial.state, format_params(trial.params), step,
                      format_value(trial.last) if trial.last is not None else "–",
                      format_value(trial.best) if trial.best is not None else "–")
    return table
