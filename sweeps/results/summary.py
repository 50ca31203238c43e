"""What a user reads after a sweep: the leaderboard, the best trial, and the run summary file."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.table import Table

from sweeps.config.loading import read_spec
from sweeps.core.errors import UserError
from sweeps.core.layout import SUMMARY_FILE
from sweeps.core.values import format_params, format_value
from sweeps.results.checkpoints import chosen_checkpoint
from sweeps.results.reading import TrialSummary, best_trial, trial_summaries
from sweeps.spec import SweepSpec

_NUMBER = re.compile(r"\d+(?:\.\d+)?(?:e[-+]?\d+)?")


@dataclass(frozen=True)
class RunSummary:
    sweep_dir: str
    best: dict[str, Any] | None
    trials: int
    finished: int  # ended without an error, trained to the end or stopped early: `run` exits 0 with one
    stopped_early: int
    failed: int
    unfinished: int  # interrupted (Ctrl-C, crash) or never started: `finesweep resume` runs them
    failures: list[dict[str, Any]]  # the first failed trial of each kind of error (first_failures)
    wall_seconds: float

    def text(self) -> str:
        lines = [f"{self.trials} trials in {self.wall_seconds:.0f} s: {self.finished} finished "
                 f"({self.stopped_early} stopped early), {self.failed} failed, {self.unfinished} unfinished."]
        if self.unfinished:
            lines.append(f"interrupted: continue with `finesweep resume {self.sweep_dir}`")
        if self.best:
            lines += [f"best: trial {self.best['trial_id']} {self.best['metric']}={format_value(self.best['value'])} "
                      f"({format_params(self.best['params'])})",
                      f"checkpoint: {self.best['checkpoint_path']}",
                      f"next: finesweep best {self.sweep_dir}   |   finesweep sample {self.sweep_dir} --prompt '...'"]
        return "\n".join(lines)

    def failure_text(self) -> str:
        """Each kind of failure once: its first trial, the error's last line, where the whole traceback is."""
        lines = []
        for failure in self.failures:
            also = f"; {failure['same']} more trial(s) failed the same way" if failure["same"] else ""
            lines.append(f"trial {failure['trial_id']} failed: {failure['error']}\n"
                         f"  traceback: {failure['error_file']}{also}")
        if not self.finished:
            lines.append("no trial finished: every one failed or was interrupted")
        return "\n".join(lines)


def first_failures(summaries: list[TrialSummary]) -> list[dict[str, Any]]:
    """The first failed trial (in Tune's order) of each kind of error (its last line, numbers aside: "nan at
    step 7" and "nan at step 12" are one kind), with how many others failed the same way."""
    kinds: dict[str, dict[str, Any]] = {}
    for trial in summaries:
        if trial.state == "ERROR":
            kind = _NUMBER.sub("#", trial.error or "")
            if kind in kinds:
                kinds[kind]["same"] += 1
            else:
                kinds[kind] = {"trial_id": trial.trial_id, "error": trial.error, "error_file": trial.error_file,
                               "same": 0}
    return list(kinds.values())


def summarise_run(spec: SweepSpec, *, wall_seconds: float) -> RunSummary:
    """Summarise a finished run and save it as the sweep directory's summary file."""
    summaries = trial_summaries(Path(spec.sweep_dir), spec)
    winner = best_trial(summaries)
    summary = RunSummary(
        sweep_dir=spec.sweep_dir,
        best=_record(winner, spec) if winner else None,
        trials=len(summaries),
        finished=sum(s.state == "TERMINATED" for s in summaries),
        stopped_early=sum(s.stopped_early for s in summaries),
        failed=sum(s.state == "ERROR" for s in summaries),
        unfinished=sum(s.state not in ("TERMINATED", "ERROR") for s in summaries),
        failures=first_failures(summaries),
        wall_seconds=wall_seconds,
    )
    Path(spec.sweep_dir, SUMMARY_FILE).write_text(json.dumps(summary.__dict__, indent=2))
    return summary


def best_record(sweep_dir: Path) -> dict[str, Any]:
    """The best trial and its best checkpoint, and under ``chosen`` the checkpoint picked in the dashboard,
    as ``finesweep best --json`` prints them."""
    spec = read_spec(sweep_dir)
    winner = best_trial(trial_summaries(sweep_dir, spec))
    if winner is None:
        raise UserError(f"{sweep_dir}: no trial has reported {spec.search.metric} yet")
    # The checkpoint picked in the dashboard (None if none) rides along; the other keys stay the best by metric.
    return {**_record(winner, spec), "chosen": chosen_checkpoint(sweep_dir=sweep_dir)}


def _record(trial: Any, spec: SweepSpec) -> dict[str, Any]:
    return {"trial_id": trial.trial_id, "metric": spec.search.metric, "mode": spec.search.mode,
            "value": trial.best_value, "params": trial.params, "checkpoint_path": trial.best_checkpoint,
            "iterations": trial.iterations, "startup": trial.startup}


def startup_text(startup: dict[str, float]) -> str:
    """A trial's start-up phases in one line: seconds since its launch, in order."""
    return ", ".join(f"{phase.replace('_', ' ')} {seconds:.1f}" for phase, seconds in startup.items())


def _seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def leaderboard(sweep_dir: Path) -> Table:
    """All trials, best first."""
    spec = read_spec(sweep_dir)
    table = Table(title=f"{spec.name}: {spec.search.metric} ({spec.search.mode})")
    for column in ("rank", "trial", "state", "hyperparameters", "iter", "best", "stopped early", "first step s"):
        table.add_column(column)
    for rank, trial in enumerate(trial_summaries(sweep_dir, spec), start=1):
        best = format_value(trial.best_value) if trial.best_value is not None else "–"
        table.add_row(str(rank), trial.trial_id, trial.state, format_params(trial.params), str(trial.iterations),
                      best, "yes" if trial.stopped_early else "", _seconds(trial.startup.get("first_step")))
    return table
