"""What a user reads after a sweep: the leaderboard, the best trial, and the run summary file."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rich import box
from rich.table import Column, Table

from sweeps.config.loading import read_spec
from sweeps.core.errors import UserError
from sweeps.core.files import write_atomically
from sweeps.core.layout import SUMMARY_FILE
from sweeps.core.values import Mode, better, format_params, format_value
from sweeps.results.checkpoints import chosen_checkpoint
from sweeps.results.pareto import objective_points, pareto_front, trade_off
from sweeps.results.reading import TrialSummary, best_trial, trial_reports, trial_summaries
from sweeps.run.events import trial_state
from sweeps.spec import SweepSpec
from sweeps.spec.objectives import devices_held, spent_in

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
    saved: dict[str, Any] | None = None  # what early stopping saved: see early_stopping_savings
    budget: dict[str, Any] | None = None  # {unit, amount, spent} of search.budget

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def text(self) -> str:
        lines = [f"{self.trials} trials in {self.wall_seconds:.0f} s: {self.finished} finished "
                 f"({self.stopped_early} stopped early), {self.failed} failed, {self.unfinished} unfinished."]
        if self.budget:
            lines.append(f"compute: {self.budget['spent']:.4g} of the {self.budget['amount']:.4g} "
                         f"{self.budget['unit']} budget spent")
        if self.saved and self.saved["steps_saved"]:
            steps, planned = self.saved["steps_saved"], self.saved["steps_planned"]
            seconds = self.saved["seconds_saved"]
            pace = f"{seconds:.0f} trial-seconds" if seconds < 120 else f"{seconds / 60:.1f} trial-minutes"
            lines.append(f"early stopping saved {steps} of the {planned} training steps that running every trial "
                         f"to the end would take ({steps / planned:.0%}), about {pace} at this sweep's pace.")
        if self.unfinished:
            lines.append(f"interrupted: continue with `finesweep resume {self.sweep_dir}`")
        if self.best:
            lines += [f"best: trial {self.best['trial_id']} {self.best['metric']}={self.best['value']} "
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
        saved=early_stopping_savings(summaries, reports=trial_reports(Path(spec.sweep_dir), spec)),
        budget=budget_spent(Path(spec.sweep_dir), spec),
    )
    write_atomically(Path(spec.sweep_dir, SUMMARY_FILE), json.dumps(summary.as_dict(), indent=2))
    return summary


def early_stopping_savings(summaries: list[TrialSummary], *, reports: dict[str, list[dict[str, Any]]],
                           ) -> dict[str, Any] | None:
    """The training steps early stopping spared: each stopped trial's planned steps (its last report's step
    over its ``progress``) less those it trained, against every trial trained to its end; in trial-seconds at
    the sweep's pace (seconds per step between reports, so start-up is not counted as training). None
    before any trial has reported."""
    planned = trained = saved = 0
    paced_seconds = paced_steps = 0.0
    for summary in summaries:
        rows = reports.get(summary.trial_id) or []
        if not rows or not rows[-1].get("progress"):
            continue
        last_step = int(rows[-1]["step"])
        trial_planned = round(last_step / rows[-1]["progress"])
        planned, trained = planned + trial_planned, trained + last_step
        saved += trial_planned - last_step if summary.stopped_early else 0
        if len(rows) > 1:
            paced_seconds += rows[-1]["time_total_s"] - rows[0]["time_total_s"]
            paced_steps += last_step - int(rows[0]["step"])
    if not planned:
        return None
    pace = paced_seconds / paced_steps if paced_steps else 0.0
    return {"steps_planned": planned, "steps_trained": trained, "steps_saved": saved,
            "seconds_saved": round(saved * pace, 1)}


def best_record(sweep_dir: Path) -> dict[str, Any]:
    """The best trial and its best checkpoint, and under ``chosen`` the checkpoint picked in the dashboard,
    as ``finesweep best --json`` prints them."""
    spec = read_spec(sweep_dir)
    winner = best_trial(trial_summaries(sweep_dir, spec))
    if winner is None:
        raise UserError(f"{sweep_dir}: no trial has reported {spec.search.metric} yet")
    # The checkpoint picked in the dashboard (None if none) rides along; the other keys stay the best by metric.
    # With objectives, `pareto` lists the non-dominated trials (any of them `export --trial` takes); with a
    # budget, `budget` says what was spent of it.
    chosen = chosen_checkpoint(sweep_dir=sweep_dir)
    record = {**_record(winner, spec), "chosen": chosen,
              "chosen_is_best": chosen_is_best(chosen=chosen, best_trial=winner, mode=spec.search.mode)}
    if spec.search.objectives:
        record["objectives"] = [objective.model_dump() for objective in spec.search.objectives]
        record["pareto"] = pareto_front(objective_points(sweep_dir, spec), spec=spec)
    if spec.search.budget:
        record["budget"] = budget_spent(sweep_dir, spec)
    return record


def chosen_is_best(*, chosen: dict[str, Any] | None, best_trial: TrialSummary, mode: Mode) -> bool | None:
    """Whether the chosen checkpoint (as ``chosen.json`` records it) is the best trial's best one, or as good;
    None when none is chosen. A resume can find a better trial after the choice, and export takes the choice."""
    if chosen is None:
        return None
    same = chosen["trial_id"] == best_trial.trial_id and chosen["checkpoint"] == Path(
        best_trial.best_checkpoint or "").name
    return same or (chosen["value"] is not None and not better(best_trial.best_value, chosen["value"], mode=mode))


def stale_choice_warning(record: dict[str, Any]) -> str | None:
    """What to tell a user whose chosen checkpoint (which export takes) is worse than the best; else None."""
    if record["chosen_is_best"] is not False:
        return None
    chosen, metric = record["chosen"], record["metric"]
    return (f"the chosen checkpoint (trial {chosen['trial_id']}, step {chosen['step']}, {metric}={chosen['value']}) "
            f"is not the best: trial {record['trial_id']} reached {metric}={record['value']}. `finesweep export` "
            f"takes the chosen one; clear the choice in the dashboard, or export with --trial {record['trial_id']}")


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
    """All trials, best first. Ranks, ids, states and values never wrap or shrink; hyperparameters wrap, so the
    table stays whole at 80 columns."""
    spec = read_spec(sweep_dir)
    table = Table(Column("rank", no_wrap=True), Column("trial", no_wrap=True), Column("state", no_wrap=True),
                  Column("hyperparameters", overflow="fold"), Column("iter", no_wrap=True),
                  Column("best", no_wrap=True), Column("first step s", no_wrap=True),
                  title=f"{spec.name}: {spec.search.metric} ({spec.search.mode})", box=box.SIMPLE_HEAD)
    for rank, trial in enumerate(trial_summaries(sweep_dir, spec), start=1):
        best = format_value(trial.best_value) if trial.best_value is not None else "–"
        table.add_row(str(rank), trial.trial_id, trial_state(trial.state, stopped_early=trial.stopped_early),
                      format_params(trial.params), str(trial.iterations), best,
                      _seconds(trial.startup.get("first_step")))
    return table


def pareto_table(record: dict[str, Any], *, spec: SweepSpec) -> Table:
    """The Pareto front of ``record`` (:func:`best_record`), best first by the first objective, each point against
    that best one."""
    metrics = [objective["metric"] for objective in record["objectives"]]
    listed = ", ".join(f"{objective['metric']} ({objective['mode']})" for objective in record["objectives"])
    table = Table(title=f"Pareto front: {listed}; `finesweep export --trial ID` takes any point")
    for column in ("trial", "hyperparameters", *metrics, "against the first"):
        table.add_column(column)
    front = record["pareto"]
    for point in front:
        against = trade_off(point, against=front[0], spec=spec) if point is not front[0] else ""
        table.add_row(point["trial_id"], format_params(point["params"]),
                      *(format_value(point["values"][metric]) for metric in metrics), against)
    return table


def budget_spent(sweep_dir: Path, spec: SweepSpec) -> dict[str, Any] | None:
    """``{unit, amount, spent}`` of the sweep's budget, spent read from each trial's last report."""
    budget = spec.search.budget
    if budget is None:
        return None
    devices = devices_held(spec.resources, unit=budget.unit)
    spent = sum(spent_in(rows[-1], unit=budget.unit, devices=devices)
                for rows in trial_reports(sweep_dir, spec).values() if rows)
    return {"unit": budget.unit, "amount": budget.amount, "spent": spent}
