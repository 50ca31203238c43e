"""Quality against cost (``search.objectives``): each trial as a point — its best report by the first objective,
with the other objectives' values at that report, the checkpoint a user would export — and the Pareto front."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sweeps.core.values import best_by, finite_or_none, format_value
from sweeps.results.reading import trial_reports, trial_summaries
from sweeps.spec import SweepSpec


def objective_points(sweep_dir: Path, spec: SweepSpec) -> list[dict[str, Any]]:
    """Every trial that reported all objectives, as ``{trial_id, values, step, checkpoint_path, params,
    stopped_early}``, in the order Tune lists them."""
    objectives = spec.search.objectives
    trials = {summary.trial_id: summary for summary in trial_summaries(sweep_dir, spec)}
    points = []
    for trial_id, rows in trial_reports(sweep_dir, spec).items():
        rows = [row for row in rows if all(finite_or_none(row.get(o.metric)) is not None for o in objectives)]
        if not rows or trial_id not in trials:
            continue
        row = best_by(rows, key=lambda row: row[objectives[0].metric], mode=objectives[0].mode)
        points.append({"trial_id": trial_id, "step": row.get("step"), "checkpoint_path": row.get("checkpoint_path"),
                       "values": {objective.metric: float(row[objective.metric]) for objective in objectives},
                       "params": trials[trial_id].params, "stopped_early": trials[trial_id].stopped_early})
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


def trade_off(point: dict[str, Any], *, against: dict[str, Any], spec: SweepSpec) -> str:
    """How ``point`` compares with ``against`` in each objective, in words: ``eval_loss 0.02 worse,
    train_tokens 6× lower``."""
    parts = []
    for objective in spec.search.objectives:
        mine, theirs = point["values"][objective.metric], against["values"][objective.metric]
        if mine == theirs:
            parts.append(f"{objective.metric} the same")
        elif mine > 0 and theirs > 0 and max(mine, theirs) / min(mine, theirs) >= 2:
            parts.append(f"{objective.metric} {max(mine, theirs) / min(mine, theirs):.1f}× "
                         f"{'lower' if mine < theirs else 'higher'}")
        else:
            better = (mine < theirs) == (objective.mode == "min")
            parts.append(f"{objective.metric} {format_value(abs(mine - theirs))} {'better' if better else 'worse'}")
    return ", ".join(parts)
