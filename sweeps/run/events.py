"""A running sweep as events: a trial started, reported, stopped, finished or failed, each carrying where the
sweep stands (trials per state, best so far, estimated time left). The live table, the plain lines printed
when the output is not a terminal (a pipe, CI, a job's logs) and ``run --json-events`` all show these events.

An event is a dict with the same keys every time (None where a key does not apply), so a program reading
``--json-events`` can rely on them: see :data:`EVENT_KEYS` and README, "Progress".
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sweeps.core.values import Mode, best_by, better, finite_or_none, format_params, format_value

EVENT_KEYS = ("event", "time", "elapsed_s", "trial_id", "params", "iteration", "step", "progress", "metric",
              "value", "trial_best", "sweep_best", "sweep_best_trial", "error", "counts", "eta_s")
# What a trial is in the table and in `counts`; Tune says TERMINATED for both done and stopped.
STATES = ("pending", "running", "done", "stopped", "failed")
ENDED = ("done", "stopped", "failed")
LINE_DIGITS = 6  # significant digits of a metric in a plain line: enough to tell close trials apart


@dataclass
class TrialProgress:
    """One trial as the progress output shows it."""

    trial_id: str
    params: dict[str, Any]
    state: str = "pending"
    iteration: int = 0  # reports made
    step: int | None = None
    progress: float = 0.0  # the share of the trial's own training done, 0-1
    last: float | None = None
    best: float | None = None
    finished_training: bool = False
    error: str | None = None

    def work_done(self) -> float:
        """The share of one trial's work behind it: an ended trial (stopped early or not) is behind it whole."""
        return 1.0 if self.state in ENDED else self.progress


@dataclass
class SweepTally:
    """Every trial's latest state, and the events that change it."""

    metric: str
    mode: Mode
    planned: int | None  # trials the sweep will run (search.num_trials); None: a budget ends it, not a count
    trials: dict[str, TrialProgress] = field(default_factory=dict)
    started_at: float = field(default_factory=time.monotonic)
    work_at_start: float = 0.0  # trials' work already behind them when this run (or resume) began

    def restart_clock(self) -> None:
        """A run or resume begins: the time-left estimate counts only what this process has seen."""
        self.started_at = time.monotonic()
        self.work_at_start = self._work_done()

    def started(self, trial_id: str, *, params: dict[str, Any]) -> dict[str, Any]:
        trial = self.trials.setdefault(trial_id, TrialProgress(trial_id=trial_id, params=dict(params)))
        trial.state, trial.error = "running", None
        return self._event("started", trial)

    def reported(self, trial_id: str, *, result: dict[str, Any]) -> dict[str, Any]:
        trial = self.trials.setdefault(trial_id, TrialProgress(trial_id=trial_id, params={}))
        trial.state = "running"
        trial.iteration = int(result.get("training_iteration", trial.iteration + 1))
        trial.step = result.get("step", trial.step)
        trial.progress = float(result.get("progress", trial.progress))
        trial.finished_training = bool(result.get("training_finished", trial.finished_training))
        value = finite_or_none(result.get(self.metric))
        if value is not None:
            trial.last = value
            trial.best = value if better(value, trial.best, mode=self.mode) else trial.best
        return self._event("reported", trial)

    def ended(self, trial_id: str, *, error: str | None = None) -> dict[str, Any]:
        """The trial ended: failed (``error``), finished its training, or was stopped by the scheduler first."""
        trial = self.trials.setdefault(trial_id, TrialProgress(trial_id=trial_id, params={}))
        if error is not None:
            trial.state, trial.error = "failed", error
        else:
            # Not Tune's `done`: Tune sets it on scheduler-stopped trials as well; only the trainer knows.
            trial.state = "done" if trial.finished_training else "stopped"
        return self._event(trial.state if trial.state != "done" else "finished", trial)

    def counts(self) -> dict[str, int]:
        states = [trial.state for trial in self.trials.values()]
        counts = {state: states.count(state) for state in STATES}
        counts["pending"] += max((self.planned or 0) - len(states), 0)  # not yet asked of the searcher
        return counts

    def best(self) -> TrialProgress | None:
        scored = [trial for trial in self.trials.values() if trial.best is not None]
        if not scored:
            return None
        return best_by(scored, key=lambda trial: trial.best, mode=self.mode)

    def eta_seconds(self) -> float | None:
        """Seconds left, if the remaining trials go at the pace this run has kept so far (early stopping
        included, since a stopped trial ends sooner); None before the first report gives a pace."""
        done_here = self._work_done() - self.work_at_start
        if done_here <= 0 or self.planned is None:
            return None
        remaining = max(self.planned - self._work_done(), 0.0)
        return (time.monotonic() - self.started_at) * remaining / done_here

    def _work_done(self) -> float:
        return sum(trial.work_done() for trial in self.trials.values())

    def _event(self, kind: str, trial: TrialProgress) -> dict[str, Any]:
        best = self.best()
        eta = self.eta_seconds()
        return {
            "event": kind, "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "elapsed_s": round(time.monotonic() - self.started_at, 1), "trial_id": trial.trial_id,
            "params": trial.params, "iteration": trial.iteration, "step": trial.step,
            "progress": trial.progress, "metric": self.metric, "value": trial.last, "trial_best": trial.best,
            "sweep_best": best.best if best else None, "sweep_best_trial": best.trial_id if best else None,
            "error": trial.error, "counts": self.counts(), "eta_s": round(eta, 1) if eta is not None else None,
        }

    def status_line(self) -> str:
        """Where the sweep stands, in one line: the trials per state, the best so far, the time left."""
        counts, best, eta = self.counts(), self.best(), self.eta_seconds()
        ended = sum(counts[state] for state in ENDED)
        of = f" of {self.planned}" if self.planned is not None else ""
        parts = [f"{ended}{of} trials ended ({counts['done']} done, {counts['stopped']} stopped, "
                 f"{counts['failed']} failed), {counts['running']} running",
                 f"best {self.metric}={format_value(best.best, digits=LINE_DIGITS)} ({best.trial_id})" if best
                 else f"no {self.metric} yet"]
        if eta is not None and ended < (self.planned or 0):
            parts.append(f"about {_duration(eta)} left")
        return " · ".join(parts)


def trial_state(tune_status: str, *, stopped_early: bool) -> str:
    """A trial's state as the progress output names it, from Tune's (which says TERMINATED for both a trial
    that trained to the end and one the scheduler stopped)."""
    if tune_status == "TERMINATED":
        return "stopped" if stopped_early else "done"
    return {"ERROR": "failed", "RUNNING": "running"}.get(tune_status, "pending")


def event_line(event: dict[str, Any], *, status: str) -> str:
    """One plain line for ``event``; ``status`` (the sweep's standing) follows an ended trial."""
    kind, metric = event["event"], event["metric"]
    head = f"[{_clock(event['elapsed_s'])}] trial {event['trial_id']} {'stopped early' if kind == 'stopped' else kind}"
    if kind == "started":
        return f"{head}: {format_params(event['params'])}"
    where = f" at step {event['step']} ({event['progress']:.0%})" if event["step"] is not None else ""
    value = (f": {metric}={format_value(event['value'], digits=LINE_DIGITS)} "
             f"(trial best {format_value(event['trial_best'], digits=LINE_DIGITS)})"
             if event["value"] is not None else "")
    if kind == "reported":
        return head + where + value
    if kind == "failed":
        return f"{head}{where}: {event['error']} · {status}"
    return f"{head}{where}{value} · {status}"


def error_line(error_file: str | Path | None) -> str:
    """The last line of a trial's error file (the exception), or a plain "failed" without one."""
    path = Path(error_file) if error_file else None
    lines = path.read_text(errors="replace").strip().splitlines() if path and path.is_file() else []
    return lines[-1] if lines else "failed (no error file)"


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:2d}:{secs:02d}"


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(round(seconds / 10) * 10, 10):.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"
