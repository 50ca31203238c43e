"""Read a sweep directory: Tune's per-trial results, the best trial and its best checkpoint.

Everything comes from the directory alone (local, NFS or S3), so ``best``, ``export`` and the dashboard
work on a laptop against a finished sweep, without the Ray cluster that ran it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sweeps.core.errors import UserError
from sweeps.core.layout import ERROR_FILE, TUNE_DIR
from sweeps.core.values import best_by, finite_or_none, sort_key
from sweeps.run.events import error_line
from sweeps.spec import SweepSpec
from trainer.startup import PHASES, STARTUP_KEY


@dataclass(frozen=True)
class TrialSummary:
    """One trial as a user sees it in the leaderboard."""

    trial_id: str
    state: str  # TERMINATED, ERROR, RUNNING, PENDING (Tune's trial states)
    params: dict[str, Any]
    iterations: int  # reports (evaluations) made: ASHA's time unit
    last_value: float | None
    best_value: float | None
    best_checkpoint: str | None  # the checkpoint of the best report
    stopped_early: bool  # ended by the scheduler before its training finished
    error: str | None = None  # the last line of a failed trial's traceback
    error_file: str | None = None  # where Tune saved the whole traceback
    node_ids: list[str] = field(default_factory=list)
    # Seconds from the trial's launch to each start-up phase it reached (trainer.startup.PHASES), as reported.
    startup: dict[str, float] = field(default_factory=dict)
    wall_seconds: float | None = None  # from the trial's start to its latest report (Tune's time_total_s)
    first_report_seconds: float | None = None  # start-up, data and model loading, and training to the first eval

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def trial_summaries(sweep_dir: Path, spec: SweepSpec) -> list[TrialSummary]:
    """Every trial of the sweep, best first (failed and unscored trials last)."""
    analysis = _analysis(sweep_dir, spec)
    if analysis is None:
        return []
    frames = analysis.trial_dataframes
    summaries = [_summarise(trial, frames.get(trial.trial_id), spec) for trial in analysis.trials]
    return sorted(summaries, key=lambda summary: sort_key(summary.best_value, mode=spec.search.mode))


def trial_reports(sweep_dir: Path, spec: SweepSpec) -> dict[str, list[dict[str, Any]]]:
    """Trial id → every report it made with the sweep's metric, in order (Tune's result rows)."""
    analysis = _analysis(sweep_dir, spec)
    if analysis is None:
        return {}
    metric = spec.search.metric
    return {trial_id: frame.dropna(subset=[metric]).to_dict("records") if metric in frame else []
            for trial_id, frame in analysis.trial_dataframes.items()}


def _analysis(sweep_dir: Path, spec: SweepSpec) -> Any:
    from ray.tune import ExperimentAnalysis

    experiment_dir = Path(sweep_dir).resolve() / TUNE_DIR  # pyarrow reads a bare relative path as a bad URI
    if not experiment_dir.is_dir():
        return None
    try:
        return ExperimentAnalysis(str(experiment_dir), default_metric=spec.search.metric,
                                  default_mode=spec.search.mode)
    except (ValueError, KeyError, TypeError, OSError) as error:  # a state file cut short, edited or not Tune's
        raise UserError(f"{experiment_dir}: Tune's record of the trials cannot be read ({type(error).__name__}: "
                        f"{error})") from None


def _summarise(trial: Any, frame: Any, spec: SweepSpec) -> TrialSummary:
    metric = spec.search.metric
    rows = [] if frame is None or metric not in frame else frame.dropna(subset=[metric]).to_dict("records")
    best_row = best_by(rows, key=lambda row: row[metric], mode=spec.search.mode) if rows else None
    last = rows[-1] if rows else {}
    return TrialSummary(
        trial_id=trial.trial_id,
        state=trial.status,
        params=dict(trial.config),
        iterations=int(last.get("training_iteration", 0)),
        last_value=finite_or_none(last.get(metric)),
        best_value=finite_or_none(best_row[metric]) if best_row else None,
        best_checkpoint=best_row.get("checkpoint_path") if best_row else None,
        stopped_early=trial.status == "TERMINATED" and bool(rows) and not _finished_training(last),
        error=_error_text(trial),
        error_file=str(Path(trial.path) / ERROR_FILE) if trial.status == "ERROR" else None,
        node_ids=sorted({row["node_id"] for row in rows if row.get("node_id")}),
        startup=_startup(last),
        wall_seconds=finite_or_none(last.get("time_total_s")),
        first_report_seconds=finite_or_none(rows[0].get("time_total_s")) if rows else None,
    )


def _startup(row: dict[str, Any]) -> dict[str, float]:
    # Tune's result tables flatten the reported {phase: seconds} into "startup/<phase>" columns.
    seconds = {phase: finite_or_none(row.get(f"{STARTUP_KEY}/{phase}")) for phase in PHASES}
    return {phase: value for phase, value in seconds.items() if value is not None}


def _finished_training(last_row: dict[str, Any]) -> bool:
    # Not Tune's `done`: Tune sets it on scheduler-stopped trials as well.
    return bool(last_row.get("training_finished"))


def _error_text(trial: Any) -> str | None:
    return error_line(Path(trial.path) / ERROR_FILE) if trial.status == "ERROR" else None


def best_trial(summaries: list[TrialSummary]) -> TrialSummary | None:
    """The trial with the best reported value, if any trial reported one."""
    scored = [summary for summary in summaries if summary.best_value is not None]
    return scored[0] if scored else None
