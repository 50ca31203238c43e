"""The dashboard's views of quality against cost and of compute spent: the Pareto front of a sweep with
``search.objectives`` (each point a trial; clicking one chooses its checkpoint, which the page's export then
takes), and the burn-down of a sweep with ``search.budget`` (what is left of it against time since the sweep
started, read from each trial's reports as the runner's ledger reads them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from dashboard.figures import BEST_COLOR, OTHER_COLOR, _as_json, _layout
from sweeps.core.values import format_params, format_value
from sweeps.results.pareto import objective_points, pareto_front
from sweeps.results.reading import trial_reports
from sweeps.spec import SweepSpec
from sweeps.spec.objectives import devices_held, spent_in


def pareto_figure(*, sweep_dir: Path, spec: SweepSpec) -> dict | None:
    """Every trial at its first two objectives (cost across, quality up), the front joined in red; each point
    carries its trial id as ``customdata``. None without objectives or before any trial reported them all."""
    objectives = spec.search.objectives
    points = objective_points(sweep_dir, spec) if objectives else []
    if not points:
        return None
    quality, cost = objectives[0].metric, objectives[1].metric
    front = sorted(pareto_front(points, spec=spec), key=lambda point: point["values"][cost])
    on_front = {point["trial_id"] for point in front}
    others = [point for point in points if point["trial_id"] not in on_front]
    figure = go.Figure()
    for name, chosen, color, mode in (("other trials", others, OTHER_COLOR, "markers"),
                                      ("Pareto front", front, BEST_COLOR, "lines+markers")):
        figure.add_trace(go.Scatter(
            x=[point["values"][cost] for point in chosen], y=[point["values"][quality] for point in chosen],
            mode=mode, name=name, marker={"color": color, "size": 10}, line={"color": color, "shape": "hv"},
            customdata=[point["trial_id"] for point in chosen], hovertext=[_hover(point) for point in chosen],
            hoverinfo="text"))
    rest = f"; also {', '.join(o.metric for o in objectives[2:])} (hover)" if len(objectives) > 2 else ""
    figure.update_layout(_layout(title={"text": f"Pareto front{rest}: click a point to choose it"},
                                 xaxis_title=f"{cost} ({objectives[1].mode})", yaxis_title=f"{quality} "
                                 f"({objectives[0].mode})", legend={"orientation": "h", "y": -0.25}))
    return _as_json(figure)


def _hover(point: dict[str, Any]) -> str:
    values = "<br>".join(f"{metric} {format_value(value)}" for metric, value in point["values"].items())
    stopped = "<br>stopped early" if point["stopped_early"] else ""
    return f"trial {point['trial_id']}<br>{values}<br>{format_params(point['params'])}{stopped}"


def budget_status(*, sweep_dir: Path, spec: SweepSpec) -> dict[str, Any] | None:
    """``{unit, amount, spent, burn: [(seconds since the first trial started, left)]}``; None without a budget."""
    budget = spec.search.budget
    if budget is None:
        return None
    devices = devices_held(spec.resources, unit=budget.unit)
    rows = sorted(((float(row.get("timestamp") or 0), trial_id, spent_in(row, unit=budget.unit, devices=devices),
                    float(row.get("time_total_s") or 0)) for trial_id, reports in trial_reports(sweep_dir, spec).items()
                   for row in reports), key=lambda row: row[0])
    start = min((stamp - running for stamp, _, _, running in rows), default=0.0)
    latest: dict[str, float] = {}  # trial id → what it had spent by then
    burn = [(0.0, budget.amount)]
    for stamp, trial_id, spent, _ in rows:
        latest[trial_id] = max(spent, latest.get(trial_id, 0.0))
        burn.append((stamp - start, budget.amount - sum(latest.values())))
    return {"unit": budget.unit, "amount": budget.amount, "spent": sum(latest.values()), "burn": burn}


def budget_figure(status: dict[str, Any] | None) -> dict | None:
    """The budget left against time, down to the zero line where the sweep stops starting trials."""
    if status is None:
        return None
    seconds, left = zip(*status["burn"], strict=True)
    figure = go.Figure([go.Scatter(x=[second / 60 for second in seconds], y=left, mode="lines+markers",
                                   name="budget left", line={"color": OTHER_COLOR, "shape": "hv"})])
    figure.add_hline(y=0, line={"color": BEST_COLOR, "dash": "dash"}, annotation_text="budget spent")
    figure.update_layout(_layout(title={"text": f"budget: {format_value(status['spent'])} of "
                                                 f"{format_value(status['amount'])} {status['unit']} spent"},
                                 xaxis_title="minutes since the first trial started",
                                 yaxis_title=f"{status['unit']} left"))
    return _as_json(figure)
