"""What the dashboard shows, read from sweep directories on top of :mod:`sweeps.results`: the same
leaderboard ``finesweep best`` prints, plus curves, the study and links.

Everything is re-read on each request (a 4-trial sweep takes ~50 ms), so a page follows a running sweep
by polling, and a sweep on shared storage written by a cluster needs nothing but this directory.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

from search_spaces.searcher import journal_storage
from sweeps.config.loading import read_spec
from sweeps.config.space import effective_space
from sweeps.core.errors import UserError
from sweeps.core.layout import (
    ERROR_FILE,
    JOURNAL_FILE,
    SPEC_FILE,
    SUMMARY_FILE,
    SWEEP_NAME,
    TRAIN_DIR,
    TRIAL_ID,
    TUNE_DIR,
)
from sweeps.core.values import finite_or_none
from sweeps.results.checkpoints import kept_checkpoints
from sweeps.results.history import compute_unit
from sweeps.results.reading import TrialSummary, trial_summaries
from sweeps.spec import SweepSpec

ACTIVE_STATES = ("RUNNING", "PENDING", "PAUSED")
MIN_TRIALS_FOR_IMPORTANCE = 2


class NotFound(LookupError):
    """No such sweep or trial under the storage path."""


def sweep_dirs(*, storage_path: Path) -> list[Path]:
    """Every sweep directory directly under ``storage_path``, by name."""
    return sorted(path for path in Path(storage_path).iterdir() if (path / SPEC_FILE).is_file())


def find_sweep(*, storage_path: Path, name: str) -> Path:
    """The sweep directory ``name``; names that are not plain folder names are refused before any lookup."""
    sweep_dir = Path(storage_path) / name
    if not SWEEP_NAME.fullmatch(name) or not (sweep_dir / SPEC_FILE).is_file():
        raise NotFound(f"no sweep {name!r} under {storage_path}")
    return sweep_dir


def read_trials(*, sweep_dir: Path) -> tuple[SweepSpec, list[TrialSummary]]:
    """The spec and the trials best first, with the state a running sweep really has.

    Tune saves trial states every few seconds but results as they come, so a trial can report results while
    its saved state still says PENDING; such a trial is running.
    """
    spec = read_spec(sweep_dir)
    trials = [dataclasses.replace(trial, state="RUNNING") if trial.state == "PENDING" and trial.iterations else trial
              for trial in trial_summaries(sweep_dir, spec)]
    return spec, trials


def sweep_overview(*, sweep_dir: Path, spec: SweepSpec, trials: list[TrialSummary]) -> dict[str, Any]:
    """One line of the sweeps page: state (starting, running, finished, interrupted), trial counts, best
    value, elapsed time, last update."""
    summary_file, updated_at = sweep_dir / SUMMARY_FILE, _last_write(sweep_dir)
    active = any(trial.state in ACTIVE_STATES for trial in trials)
    # `run` and `resume` write the summary when they end, even when interrupted; with unfinished trials,
    # only a Tune write after the summary (file times) tells a resume in progress from an interruption.
    resumed = summary_file.is_file() and active and summary_file.stat().st_mtime < (updated_at or 0)
    if summary_file.is_file() and not resumed:
        state = "interrupted" if active else "finished"
        elapsed = json.loads(summary_file.read_text())["wall_seconds"]
    else:
        state = "running" if trials else "starting"
        elapsed = time.time() - (sweep_dir / SPEC_FILE).stat().st_mtime  # the runner writes it at the start
    scored = [trial for trial in trials if trial.best_value is not None]
    planned = None if spec.search.budget and not spec.search.num_trials else spec.search.trial_limit()  # None: budget
    return {
        "name": sweep_dir.name, "path": str(sweep_dir), "state": state, "metric": spec.search.metric,
        "mode": spec.search.mode, "planned_trials": planned, "elapsed_seconds": elapsed,
        "updated_at": updated_at, "counts": _counts(trials),
        "best_value": scored[0].best_value if scored else None, "best_trial": scored[0].trial_id if scored else None,
    }


def _counts(trials: list[TrialSummary]) -> dict[str, int]:
    states = [trial.state for trial in trials]
    return {"total": len(trials), "running": states.count("RUNNING"),
            "pending": states.count("PENDING") + states.count("PAUSED"), "failed": states.count("ERROR"),
            "stopped": sum(trial.state == "TERMINATED" and trial.stopped_early for trial in trials),
            "done": sum(trial.state == "TERMINATED" and not trial.stopped_early for trial in trials)}


def _last_write(sweep_dir: Path) -> float | None:
    tune_dir = sweep_dir / TUNE_DIR
    files = [*tune_dir.glob("experiment_state-*.json"), *tune_dir.glob("*/result.json")]
    return max((file.stat().st_mtime for file in files), default=None)


def leaderboard_rows(*, sweep_dir: Path, spec: SweepSpec, trials: list[TrialSummary]) -> list[dict[str, Any]]:
    """The trials best first, each with its best checkpoint's size, its W&B run and the compute it held."""
    runs = wandb_runs(sweep_dir=sweep_dir, spec=spec)
    _, devices = compute_unit(spec)
    rows = []
    for rank, trial in enumerate(trials, start=1):
        checkpoint = Path(trial.best_checkpoint).name if trial.best_checkpoint else None
        # Rebuilt under this sweep directory: Tune's path is where the sweep ran, maybe another machine.
        folder = sweep_dir / TRAIN_DIR / trial.trial_id / checkpoint if checkpoint else None
        size = sum(file.stat().st_size for file in folder.iterdir() if file.is_file()) if folder and folder.is_dir() \
            else None
        compute = trial.wall_seconds * devices / 3600 if trial.wall_seconds is not None else None
        rows.append({**trial.as_dict(), "rank": rank, "checkpoint": checkpoint, "checkpoint_bytes": size,
                     "wandb": runs.get(trial.trial_id), "compute": compute})
    return rows


def wandb_runs(*, sweep_dir: Path, spec: SweepSpec) -> dict[str, dict[str, Any]]:
    """Trial id → its W&B run: offline runs have no URL, only a folder to `wandb sync`."""
    wandb = spec.tracking.wandb
    if wandb.mode == "disabled":
        return {}
    offline = wandb.mode == "offline"
    runs = {}
    # wandb names folders (offline-)run-<date>_<time>-<run id>; later folders of a resumed run win.
    for folder in sorted((sweep_dir / "wandb").glob("offline-run-*" if offline else "run-*")):
        run_id = folder.name.split("-", 3 if offline else 2)[-1]
        trial_id = run_id.removeprefix(f"{spec.name}-")  # the tracker's run id is <sweep name>-<trial id>
        url = f"https://wandb.ai/{wandb.entity}/{wandb.project}/runs/{run_id}" if wandb.entity else None
        runs[trial_id] = {"run_id": run_id, "mode": wandb.mode, "project": wandb.project, "folder": str(folder),
                          "url": None if offline else url, "sync": f"wandb sync {folder}" if offline else None}
    return runs


def learning_curves(*, sweep_dir: Path, spec: SweepSpec) -> dict[str, dict[str, list[Any]]]:
    """Trial id → its reports: step, the sweep's metric, train loss and times (the trial's seconds so far,
    the report's wall-clock time), in report order."""
    from ray.tune import ExperimentAnalysis

    experiment_dir = sweep_dir.resolve() / TUNE_DIR
    if not experiment_dir.is_dir():
        return {}
    frames = ExperimentAnalysis(str(experiment_dir)).trial_dataframes
    columns = ("training_iteration", "step", spec.search.metric, "train_loss", "time_total_s", "timestamp")
    curves = {}
    for trial_id, frame in frames.items():
        if spec.search.metric not in frame:
            continue
        frame = frame.dropna(subset=[spec.search.metric])
        curves[trial_id] = {column: _plain(frame[column].tolist()) if column in frame else [] for column in columns}
    return curves


def _plain(values: list[Any]) -> list[Any]:
    # JSON has no NaN: a missing train loss (no log before the first eval) becomes null.
    return [finite_or_none(value) if isinstance(value, float) else value for value in values]


def trial_checkpoints(*, sweep_dir: Path, trial_id: str) -> list[dict[str, Any]]:
    """The kept checkpoints of a trial, oldest first; none for a trial that failed before its first one."""
    try:
        return [checkpoint.as_dict() for checkpoint in kept_checkpoints(sweep_dir=sweep_dir, trial_id=trial_id)]
    except UserError:
        return []


def find_trial(*, trials: list[TrialSummary], trial_id: str) -> TrialSummary:
    matches = [trial for trial in trials if trial.trial_id == trial_id] if TRIAL_ID.fullmatch(trial_id) else []
    if not matches:
        raise NotFound(f"no trial {trial_id!r} in this sweep")
    return matches[0]


def error_text(*, sweep_dir: Path, trial_id: str) -> str | None:
    """The whole traceback Tune saved for a failed trial (the leaderboard shows its last line)."""
    error_file = sweep_dir / TUNE_DIR / trial_id / ERROR_FILE
    return error_file.read_text() if error_file.is_file() else None


def param_importance(*, sweep_dir: Path, spec: SweepSpec) -> dict[str, Any]:
    """Optuna's hyperparameter importance (its default evaluator, fANOVA) on the sweep's study."""
    import optuna

    journal = sweep_dir / JOURNAL_FILE
    result: dict[str, Any] = {"importances": {}, "evaluator": "fANOVA (Optuna's default)", "complete_trials": 0,
                              "optuna_dashboard": f"optuna-dashboard {journal.resolve()}", "message": None}
    if not journal.is_file():  # checked first: JournalFileBackend would create an empty journal
        return {**result, "message": "no study journal yet"}
    storage = journal_storage(journal)
    try:
        study = optuna.load_study(study_name=spec.name, storage=storage)
    except KeyError:
        return {**result, "message": f"the journal holds no study named {spec.name!r} yet"}
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    result["complete_trials"] = len(complete)
    if len(complete) < MIN_TRIALS_FOR_IMPORTANCE:
        return {**result, "message": f"needs {MIN_TRIALS_FOR_IMPORTANCE} completed trials, has {len(complete)}"}
    try:
        result["importances"] = optuna.importance.get_param_importances(study)
    except (ValueError, RuntimeError) as error:  # e.g. every completed trial used the same values
        result["message"] = f"Optuna could not rank the parameters: {error}"
    return result


def searched_log_scale(*, spec: SweepSpec) -> set[str]:
    """The searched parameters sampled in log space, plotted on log axes."""
    return {name for name, param in effective_space(spec).items()
            if getattr(param, "type", None) == "loguniform" or getattr(param, "log", False)}
