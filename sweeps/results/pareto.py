"""Quality against cost (``search.objectives``): each trial as a point — its best report by the first objective,
with the other objectives' values at that report, the checkpoint a user would export — and the Pareto front."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sweeps.core.values import best_by
from sweeps.results.reading import trial_reports
from sweeps.spec import SweepSpec


def objective_points(sweep_dir: Path, spec: SweepSpec) -> list[dict[str, Any]]:
    """Every trial that reported all objectives, as ``{trial_id, values, step, checkpoint_path}``."""
    objectives = spec.search.objectives
    points = []
    for trial_id, rows in trial_reports(sweep_dir, spec).items():
        rows = [row for row in rows if all(_has(row, objective.metric) for objective in objectives)]
        if not rows:
            continue
        row = best_by(rows, key=lambda row: row[objectives[0].metric], mode=objectives[0].mode)
        points.append({"trial_id": trial_id, "step": row.get("step"), "checkpoint_path": row.get("checkpoint_path"),
                       "values": {objective.metric: float(row[objective.metric]) for objective in objectives}})
    return points


def pareto_front(points: list[dict[str, Any]], *, spec: SweepSpec) -> list[dict[str, Any]]:
    """The points no other point dominates (as good in every objective and better in one), best first by the
    first objective."""
    signs = {objective.metric: 1.0 if objective.mode == "min" else -1.0 for objective in spec.search.objectives}

    def dominates(a: dict[str, Any], b: dict[str, Any]) -> bool:
        pairs = [(signs[m] * a["values"][m], signs[m] * b["values"][m]) for m in signs]
        return all(x <= y for x, y in pairs) and any(x < y for x, y in pairs)

    front = [point for point in points if not any(dominates(other, point) for other in points if other is not point)]
    first = next(iter(signs))
    return sorted(front, key=lambda point: signs[first] * point["values"][first])


def _has(row: dict[str, Any], metric: str) -> bool:
    value = row.get(metric)
    return value is not None and value == value  # NaN: a missing cell in Tune's table
