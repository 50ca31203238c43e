"""What a user reads after a sweep: the leaderboard, the best trial, and the run summary file."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.table import Table

from sweeps.config.loading import read_spec
from sweeps.core.errors import UserError
from sweeps.core.files import write_atomically
from sweeps.core.layout import SUMMARY_FILE
from sweeps.core.values import format_params, format_value
from sweeps.results.checkpoints import chosen_checkpoint
from sweeps.results.reading import best_trial, trial_summaries
from sweeps.spec import SweepSpec


@dataclass(frozen=True)
class RunSummary:
    sweep_dir: str
    best: dict[str, Any] | None
    trials: int
    stopped_early: int
    failed: int
    unfinished: int  # interrupted (Ctrl-C, crash) or never started: `finesweep resume` runs them
    wall_seconds: float

    def text(self) -> str:
        lines = [f"{self.trials} trials in {self.wall_seconds:.0f} s: {self.stopped_early} stopped early, "
                 f"{self.failed} failed, {self.unfinished} unfinished."]
        if self.unfinished:
            lines.append(f"interrupted: continue with `finesweep resume {self.sweep_dir}`")
        if self.best:
            lines += [f"best: trial {self.best['trial_id']} {self.best['metric']}={format_value(self.best['value'])} "
                      f"({format_params(self.best['params'])})",
                      f"checkpoint: {self.best['checkpoint_path']}",
                      f"next: finesweep best {self.sweep_dir}   |   finesweep sample {self.sweep_dir} --prompt '...'"]
        return "\n".join(lines)


def summarise_run(spec: SweepSpec, *, wall_seconds: float) -> RunSummary:
    """Summarise a finished run and save it as the sweep directory's summary file."""
    summaries = trial_summaries(Path(spec.sweep_dir), spec)
    winner = best_trial(summaries)
    summary = RunSummary(
        sweep_dir=spec.sweep_dir,
        best=_record(winner, spec) if winner else None,
        trials=len(summaries),
        stopped_early=sum(s.stopped_early for s in summaries),
        failed=sum(s.state == "ERROR" for s in summaries),
        unfinished=sum(s.state not in ("TERMINATED", "ERROR") for s in summaries),
        wall_seconds=wall_seconds,
    )
    write_atomically(Path(spec.sweep_dir, SUMMARY_FILE), json.dumps(summary.__dict__, indent=2))
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
            "iterations": trial.iterations}


def leaderboard(sweep_dir: Path) -> Table:
    """All trials, best first."""
    spec = read_spec(sweep_dir)
    table = Table(title=f"{spec.name}: {spec.search.metric} ({spec.search.mode})")
    for column in ("rank", "trial", "state", "hyperparameters", "iter", "best", "stopped early"):
        table.add_column(column)
    for rank, trial in enumerate(trial_summaries(sweep_dir, spec), start=1):
        best = format_value(trial.best_value) if trial.best_value is not None else "–"
        table.add_row(str(rank), trial.trial_id, trial.state, format_params(trial.params), str(trial.iterations),
                      best, "yes" if trial.stopped_early else "")
    return table
