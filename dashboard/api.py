"""The dashboard's JSON API: what the pages poll, and the two things a user does (choose, export).

Sweep names, trial ids and checkpoint names from requests are looked up among what the storage path
holds, never joined into paths unchecked; web exports go to ``<sweep>/exports/`` under a name the server
makes, so a request cannot write anywhere else.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ConfigDict

from dashboard import data, figures, tradeoffs
from sweeps.config.loading import read_spec
from sweeps.core.errors import UserError
from sweeps.results.checkpoints import choose_checkpoint, chosen_checkpoint, clear_choice
from sweeps.results.export import export_checkpoint, export_source
from sweeps.results.history import compute_unit, optimisation_history
from sweeps.results.summary import chosen_is_best
from sweeps.spec import SweepSpec

WEB_EXPORTS_DIR = "exports"  # inside the sweep directory: the only place web-triggered exports write to

router = APIRouter(prefix="/api")
# Merging loads a whole model; one export at a time keeps a laptop (or the head node) responsive.
_export_lock = threading.Lock()


class ChooseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    trial_id: str
    checkpoint: str | None = None  # default: the trial's best


class ExportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    merged: bool = False
    trial_id: str | None = None  # default: the chosen checkpoint, else the sweep's best
    checkpoint: str | None = None


def _sweep_dir(request: Request, name: str) -> Path:
    return data.find_sweep(storage_path=request.app.state.storage_path, name=name)


@router.get("/sweeps")
def list_sweeps(request: Request) -> list[dict[str, Any]]:
    overviews = []
    for sweep_dir in data.sweep_dirs(storage_path=request.app.state.storage_path):
        try:
            spec, trials = data.read_trials(sweep_dir=sweep_dir)
        except (UserError, ValueError) as error:  # e.g. a sweep.yaml written by another finesweep version
            overviews.append({"name": sweep_dir.name, "path": str(sweep_dir), "state": "unreadable",
                              "error": str(error)})
            continue
        overviews.append(data.sweep_overview(sweep_dir=sweep_dir, spec=spec, trials=trials))
    return overviews


@router.get("/sweeps/{name}")
def sweep(name: str, request: Request) -> dict[str, Any]:
    sweep_dir = _sweep_dir(request, name)
    spec, trials = data.read_trials(sweep_dir=sweep_dir)
    overview = data.sweep_overview(sweep_dir=sweep_dir, spec=spec, trials=trials)
    rows = data.leaderboard_rows(sweep_dir=sweep_dir, spec=spec, trials=trials)
    chosen = chosen_checkpoint(sweep_dir=sweep_dir)
    best = next((trial for trial in trials if trial.best_value is not None), None)
    budget = tradeoffs.budget_status(sweep_dir=sweep_dir, spec=spec)
    return {
        **overview, "leaderboard": rows, "chosen": chosen, "compute_unit": compute_unit(spec)[0], "budget": budget,
        "chosen_is_best": chosen_is_best(chosen=chosen, best_trial=best, mode=spec.search.mode) if best else None,
        "objectives": [objective.model_dump() for objective in spec.search.objectives] or None,
        "figures": _sweep_figures(sweep_dir=sweep_dir, spec=spec, rows=rows, best_trial=overview["best_trial"],
                                  budget=budget),
    }


def _sweep_figures(*, sweep_dir: Path, spec: SweepSpec, rows: list[dict[str, Any]], best_trial: str | None,
                   budget: dict[str, Any] | None) -> dict[str, Any]:
    metric, mode = spec.search.metric, spec.search.mode
    curves = data.learning_curves(sweep_dir=sweep_dir, spec=spec)
    unit, devices = compute_unit(spec)
    history = optimisation_history(curves=curves, metric=metric, mode=mode, devices=devices)
    # The budget is a line on the history's compute axis when both count the same device-hours.
    same_unit = budget is not None and budget["unit"] == unit.lower().replace("-", "_")
    return {
        "pareto": tradeoffs.pareto_figure(sweep_dir=sweep_dir, spec=spec),
        "budget": tradeoffs.budget_figure(budget),
        "curves": figures.curves_figure(curves=curves, best_trial_id=best_trial, metric=metric),
        "parallel": figures.parallel_figure(rows=rows, log_scale=data.searched_log_scale(spec=spec),
                                            metric=metric, mode=mode),
        "history": figures.history_figure(history=history, metric=metric, unit=unit,
                                          budget=budget["amount"] if same_unit else None),
    }


@router.get("/sweeps/{name}/importance")
def importance(name: str, request: Request) -> dict[str, Any]:
    sweep_dir = _sweep_dir(request, name)
    result = data.param_importance(sweep_dir=sweep_dir, spec=read_spec(sweep_dir))
    return {**result, "figure": figures.importance_figure(importances=result["importances"])}


@router.get("/sweeps/{name}/trials/{trial_id}")
def trial(name: str, trial_id: str, request: Request) -> dict[str, Any]:
    sweep_dir = _sweep_dir(request, name)
    spec, trials = data.read_trials(sweep_dir=sweep_dir)
    summary = data.find_trial(trials=trials, trial_id=trial_id)
    curve = data.learning_curves(sweep_dir=sweep_dir, spec=spec).get(trial_id)
    # A trial the scheduler stops may still evaluate and save once or twice before its workers end: those
    # checkpoints are real, but their results never reached Tune (nor the leaderboard). A running trial's
    # newest checkpoint may just be ahead of its result row, so only ended trials are judged.
    reported_steps = set(curve["step"]) if curve else set()
    ended = summary.state not in data.ACTIVE_STATES
    checkpoints = [{**checkpoint, "reported": not ended or checkpoint["step"] in reported_steps}
                   for checkpoint in data.trial_checkpoints(sweep_dir=sweep_dir, trial_id=trial_id)]
    return {
        "sweep": name, "metric": spec.search.metric, "mode": spec.search.mode,
        "trial": {**summary.as_dict(), "rank": trials.index(summary) + 1,
                  "wandb": data.wandb_runs(sweep_dir=sweep_dir, spec=spec).get(trial_id)},
        "error_text": data.error_text(sweep_dir=sweep_dir, trial_id=trial_id),
        "checkpoints": checkpoints,
        "best_checkpoint": Path(summary.best_checkpoint).name if summary.best_checkpoint else None,
        "chosen": chosen_checkpoint(sweep_dir=sweep_dir),
        "figure": figures.trial_figure(curve=curve, metric=spec.search.metric, trial_id=trial_id),
    }


@router.post("/sweeps/{name}/choose")
def choose(name: str, body: ChooseRequest, request: Request) -> dict[str, Any]:
    sweep_dir = _sweep_dir(request, name)
    return choose_checkpoint(sweep_dir=sweep_dir, trial_id=body.trial_id, name=body.checkpoint)


@router.post("/sweeps/{name}/clear-choice")
def clear(name: str, request: Request) -> dict[str, Any]:
    return {"cleared": clear_choice(sweep_dir=_sweep_dir(request, name))}


@router.post("/sweeps/{name}/export")
def export(name: str, body: ExportRequest, request: Request) -> dict[str, Any]:
    sweep_dir = _sweep_dir(request, name)
    source = export_source(sweep_dir=sweep_dir, trial_id=body.trial_id, name=body.checkpoint)
    kind = "merged" if body.merged else "adapter"
    out_dir = sweep_dir / WEB_EXPORTS_DIR / f"{source.trial_id}-step{source.step}-{kind}"
    result = {"path": str(out_dir), "trial_id": source.trial_id, "checkpoint": source.name, "step": source.step,
              "merged": body.merged, "already_existed": out_dir.exists()}
    if out_dir.exists():
        return result
    if not _export_lock.acquire(blocking=False):
        raise HTTPException(status_code=409, detail="another export is running; try again when it is done")
    try:
        export_checkpoint(sweep_dir=sweep_dir, out_dir=out_dir, merged=body.merged, trial_id=source.trial_id,
                          name=source.name)
    finally:
        _export_lock.release()
    return result
