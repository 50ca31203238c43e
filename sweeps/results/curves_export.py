"""``finesweep curves runs/<sweep> OUT.jsonl``: a finesweep sweep as a curves file, so that its trials can be
replayed (try another searcher or scheduler on them) or warm-start the next sweep (``search.warm_start``)."""

from __future__ import annotations

from pathlib import Path

from sweeps.config.loading import read_spec
from sweeps.config.space import effective_space
from sweeps.core.errors import UserError
from sweeps.results.reading import TrialSummary, trial_reports, trial_summaries
from sweeps.run.curves import Curves, CurvesHeader, RecordedRun


def sweep_curves(sweep_dir: Path) -> Curves:
    """Every ended trial of the sweep in ``sweep_dir`` as a recorded run: its searched parameters (spec paths),
    each report a point, cost = the trial's own seconds; stopped and failed trials marked so."""
    spec = read_spec(sweep_dir)
    space = effective_space(spec)
    reports = trial_reports(sweep_dir, spec)
    runs = []
    for summary in trial_summaries(sweep_dir, spec):
        if summary.state in ("TERMINATED", "ERROR") and all(name in summary.params for name in space):
            runs.append(_recorded(summary, rows=reports.get(summary.trial_id, []), metric=spec.search.metric,
                                  params={name: summary.params[name] for name in space},
                                  batch_size=spec.training.batch_size))
    if not runs:
        raise UserError(f"{sweep_dir}: no trial has ended yet, so there is no curve to write")
    return Curves(header=CurvesHeader(metric=spec.search.metric, mode=spec.search.mode, cost_unit="seconds"),
                  runs=runs)


def _recorded(summary: TrialSummary, *, rows: list[dict], metric: str, params: dict, batch_size: int) -> RecordedRun:
    curve = [(int(row["step"]), float(row[metric])) for row in rows]
    cost = [float(row["time_total_s"]) for row in rows]
    progress = rows[-1].get("progress") if rows else None
    failed = None
    if summary.state == "ERROR":
        failed = {"step": (curve[-1][0] + 1) if curve else 1, "cost": max(cost[-1] if cost else 0.0, 1e-6),
                  "reason": summary.error or "failed"}
    return RecordedRun(params=params, curve=curve, cost=cost, failed=failed, stopped=summary.stopped_early,
                       planned_steps=round(curve[-1][0] / progress) if curve and progress else None,
                       examples_per_step=None if "training.batch_size" in params else batch_size)
