"""Plotly figures of a sweep, built in Python and drawn in the page by plotly.js (``Plotly.react``).

Each function returns the figure as plain JSON data; ``layout.uirevision`` keeps a user's zoom and
hidden traces while the page redraws the figure with new results.
"""

from __future__ import annotations

import json
import math
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sweeps.core.values import is_number

BEST_COLOR = "#d62728"
OTHER_COLOR = "#4c78a8"
TRAIN_COLOR = "#9a9a9a"


def _layout(**extra: Any) -> dict[str, Any]:
    return {"template": "plotly_white", "height": 360, "margin": {"l": 60, "r": 20, "t": 40, "b": 50},
            "uirevision": "keep", **extra}


def _as_json(figure: go.Figure) -> dict[str, Any]:
    # Plotly's own encoder turns numpy values and NaN into JSON that plotly.js reads.
    return json.loads(figure.to_json())


def _exact(values: list[Any]) -> list[str]:
    """Each value as Python writes it back exactly (the shortest repr), for hover text: plotly's own
    formatting rounds to the axis's few digits."""
    return [repr(value) for value in values]


def curves_figure(*, curves: dict[str, dict[str, list[Any]]], best_trial_id: str | None, metric: str) -> dict:
    """The metric of every trial against training step, the best trial drawn thick, red and on top."""
    figure = go.Figure()
    order = sorted(curves, key=lambda trial_id: trial_id == best_trial_id)  # the best last, so on top
    for trial_id in order:
        curve, best = curves[trial_id], trial_id == best_trial_id
        figure.add_trace(go.Scatter(
            x=curve["step"] or curve["training_iteration"], y=curve[metric], mode="lines+markers",
            name=f"{trial_id} (best)" if best else trial_id, opacity=1.0 if best else 0.55,
            line={"width": 4 if best else 1.5, "color": BEST_COLOR if best else OTHER_COLOR},
            customdata=_exact(curve[metric]), hovertemplate=f"trial {trial_id}<br>step %{{x}}<br>"
                                                            f"{metric} %{{customdata}}<extra></extra>",
        ))
    figure.update_layout(_layout(title={"text": f"{metric} of every trial"}, xaxis_title="step",
                                 yaxis_title=metric))
    return _as_json(figure)


def parallel_figure(*, rows: list[dict[str, Any]], log_scale: set[str], metric: str, mode: str) -> dict | None:
    """Hyperparameters against each trial's best metric, one line per scored trial; None before any score."""
    scored = [row for row in rows if row["best_value"] is not None]
    if not scored:
        return None
    names = sorted({name for row in scored for name in row["params"]})
    dimensions = [_dimension(name, [row["params"].get(name) for row in scored], log=name in log_scale)
                  for name in names]
    values = [row["best_value"] for row in scored]
    dimensions.append({"label": f"best {metric}", "values": values})
    line = {"color": values, "colorscale": "Viridis", "showscale": True,
            "reversescale": mode == "min"}  # the best trials in the bright colour either way
    figure = go.Figure(go.Parcoords(line=line, dimensions=dimensions))
    # Axis names sit above the axes: the title goes higher, out of their way.
    figure.update_layout(_layout(title={"text": f"hyperparameters vs best {metric}", "y": 0.98},
                                 margin={"l": 80, "r": 80, "t": 100, "b": 30}))
    return _as_json(figure)


def _dimension(name: str, values: list[Any], *, log: bool) -> dict[str, Any]:
    numeric = all(is_number(value) for value in values)
    if numeric and log and all(value > 0 for value in values):
        # Parallel coordinates have no log axes: plot log10 and label the decades.
        logs = [math.log10(value) for value in values]
        decades = list(range(math.floor(min(logs)), math.ceil(max(logs)) + 1))
        return {"label": name, "values": logs, "range": [decades[0], decades[-1]], "tickvals": decades,
                "ticktext": [f"1e{decade}" for decade in decades]}
    if numeric:
        return {"label": name, "values": values}
    labels = sorted({str(value) for value in values})
    return {"label": name, "values": [labels.index(str(value)) for value in values],
            "tickvals": list(range(len(labels))), "ticktext": labels}


def importance_figure(*, importances: dict[str, float]) -> dict | None:
    """Optuna's importances as horizontal bars, the most important on top; None when there are none."""
    if not importances:
        return None
    names = sorted(importances, key=importances.get)
    figure = go.Figure(go.Bar(x=[importances[name] for name in names], y=names, orientation="h",
                              marker_color=OTHER_COLOR))
    figure.update_layout(_layout(title={"text": "hyperparameter importance"}, xaxis_title="importance",
                                 margin={"l": 160, "r": 20, "t": 40, "b": 50}))
    return _as_json(figure)


def trial_figure(*, curve: dict[str, list[Any]] | None, metric: str, trial_id: str) -> dict | None:
    """One trial's metric (left axis) and train loss (right axis) against training step."""
    if not curve:
        return None
    steps = curve["step"] or curve["training_iteration"]
    figure = go.Figure([
        go.Scatter(x=steps, y=curve[metric], name=metric, mode="lines+markers",
                   line={"color": BEST_COLOR, "width": 3}, customdata=_exact(curve[metric]),
                   hovertemplate=f"step %{{x}}<br>{metric} %{{customdata}}<extra></extra>"),
        go.Scatter(x=steps, y=curve["train_loss"], name="train_loss", mode="lines+markers", yaxis="y2",
                   line={"color": TRAIN_COLOR, "dash": "dot"}),
    ])
    figure.update_layout(_layout(title={"text": f"trial {trial_id}: {metric} and train loss"}, xaxis_title="step",
                                 yaxis_title=metric, yaxis2={"title": {"text": "train_loss"}, "overlaying": "y",
                                                             "side": "right", "showgrid": False},
                                 legend={"orientation": "h", "y": -0.25}))
    return _as_json(figure)


def history_figure(*, history: dict[str, list[dict[str, Any]]], metric: str, unit: str,
                   budget: float | None = None) -> dict | None:
    """The best value so far against the trials run (left) and the compute spent (right, in ``unit``, with
    ``search.budget`` as a vertical line when it is in that unit), each trial's best (left) or each report
    (right) as a dot; None before any report."""
    if not history["by_trial"]:
        return None
    figure = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.06,
                           subplot_titles=("by trial", f"by compute spent ({unit})"))
    panels = ((1, history["by_trial"], "number", "trial #%{x}", "each trial's best"),
              (2, history["by_compute"], "compute", f"%{{x:.4g}} {unit}", "each report"))
    for column, points, x_key, where, dots in panels:
        x, values, best = ([point[key] for point in points] for key in (x_key, "value", "best_so_far"))
        figure.add_trace(go.Scatter(
            x=x, y=values, mode="markers", name=dots, marker={"color": OTHER_COLOR, "opacity": 0.6},
            customdata=list(zip([point["trial_id"] for point in points], _exact(values), strict=True)),
            hovertemplate=f"{where}<br>trial %{{customdata[0]}}<br>{metric} %{{customdata[1]}}<extra></extra>",
        ), row=1, col=column)
        figure.add_trace(go.Scatter(
            x=x, y=best, mode="lines", name="best so far", showlegend=column == 1, customdata=_exact(best),
            line={"color": BEST_COLOR, "width": 3, "shape": "hv"},
            hovertemplate=f"{where}<br>best so far %{{customdata}}<extra></extra>",
        ), row=1, col=column)
    # The figure's title above the two panels' own titles: a taller top margin keeps them apart.
    figure.update_layout(_layout(title={"text": f"optimisation history: best {metric} so far", "y": 0.97},
                                 yaxis_title=metric, legend={"orientation": "h", "y": -0.25},
                                 margin={"l": 60, "r": 20, "t": 80, "b": 50}))
    figure.update_xaxes(title_text="trial (in start order)", row=1, col=1)
    figure.update_xaxes(title_text=unit, row=1, col=2)
    if budget is not None:
        figure.add_vline(x=budget, row=1, col=2, line={"color": BEST_COLOR, "dash": "dash"}, annotation_text="budget")
    return _as_json(figure)
