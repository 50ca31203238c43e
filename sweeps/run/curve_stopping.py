"""``scheduler.name: curve``: stop a trial when where its curve is going, not where it is, is unlikely to reach
the top-k finals.

At each report (at progress q of the trial's own schedule) the trial's final value is predicted from its
value at q by a straight line fitted on the reference curves — the trials of this sweep that trained to their
end, and the finished runs of ``search.warm_start`` sources — pairing each reference's value at q with its
final value. With the fit's residual spread σ, the trial stops when prediction + z·σ stays below the k-th best
reference final (above it, for a metric to minimise). No weights to download (learning-curve models such as
LC-PFN ship none here): the fit is refitted on the curves at hand at every decision. Until there are enough
references at that q, ASHA (the default scheduler, with the sweep's rungs) decides.
"""

from __future__ import annotations

import bisect
import math
import statistics
from collections.abc import Sequence
from typing import Any

from ray.tune.schedulers import TrialScheduler

from sweeps.run.wrapping import WrappingScheduler

Curve = list[tuple[float, float]]  # (progress, value) points, progress increasing


class CurveStopping(WrappingScheduler):
    """The curve rule above, with ``fallback`` (an ASHA scheduler) deciding until it can (see the module doc)."""

    def __init__(self, *, fallback: TrialScheduler, references: Sequence[Curve] = (), grace: float, top_k: int = 3,
                 z: float = 1.28, min_references: int = 5):
        super().__init__(fallback)
        self.references: list[Curve] = [list(curve) for curve in references if curve]
        self.grace, self.top_k, self.z, self.min_references = grace, top_k, z, min_references
        self.curves: dict[str, Curve] = {}  # trial id → its reports so far (values as reported, like references)
        self._metric: str | None = None
        self.sign = 1.0  # +1: higher is better

    def set_search_properties(self, metric: str | None, mode: str | None, **spec: Any) -> bool:
        self._metric, self.sign = metric, (-1.0 if mode == "min" else 1.0)
        return self.inner.set_search_properties(metric, mode, **spec)

    def on_trial_result(self, tune_controller: Any, trial: Any, result: dict[str, Any]) -> str:
        decision = self.inner.on_trial_result(tune_controller, trial, result)
        if self._metric not in result or "progress" not in result:
            return decision
        progress, value = float(result["progress"]), float(result[self._metric])
        self.curves.setdefault(trial.trial_id, []).append((progress, value))
        signed = [[(at, self.sign * point) for at, point in curve] for curve in self.references]
        verdict = None if progress < self.grace else unlikely_to_reach(
            self.sign * value, progress=progress, references=signed, top_k=self.top_k, z=self.z,
            min_references=self.min_references)
        if verdict is None:
            return decision
        return TrialScheduler.STOP if verdict else TrialScheduler.CONTINUE

    def on_trial_complete(self, tune_controller: Any, trial: Any, result: dict[str, Any]) -> None:
        if result.get("training_finished") and trial.trial_id in self.curves:
            self.references.append(self.curves[trial.trial_id])
        self.inner.on_trial_complete(tune_controller, trial, result)

    def debug_string(self) -> str:
        return f"CurveStopping: {len(self.references)} reference curves; fallback {self.inner.debug_string()}"


def unlikely_to_reach(value: float, *, progress: float, references: Sequence[Curve], top_k: int, z: float,
                      min_references: int) -> bool | None:
    """Whether a trial at ``value`` (higher is better) at ``progress`` is unlikely to end among the top ``top_k``
    reference finals; None when fewer than ``min_references`` references have a point by ``progress``."""
    pairs = [(at, curve[-1][1]) for curve in references if (at := value_at(curve, progress)) is not None]
    if len(pairs) < max(min_references, top_k):
        return None
    bar = sorted((final for _, final in pairs), reverse=True)[top_k - 1]
    slope, intercept, spread = _line(pairs)
    return slope * value + intercept + z * spread < bar


def value_at(curve: Curve, progress: float) -> float | None:
    """The curve's last value at or before ``progress`` (None if its first point comes later)."""
    index = bisect.bisect_right([point for point, _ in curve], progress + 1e-9)
    return curve[index - 1][1] if index else None


def _line(pairs: Sequence[tuple[float, float]]) -> tuple[float, float, float]:
    """Least squares ``final ≈ slope · value + intercept``, and the residuals' standard deviation."""
    xs, ys = [x for x, _ in pairs], [y for _, y in pairs]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    var_x = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in pairs) / var_x if var_x > 0 else 0.0
    intercept = mean_y - slope * mean_x
    residuals = [y - (slope * x + intercept) for x, y in pairs]
    spread = math.sqrt(sum(r * r for r in residuals) / max(len(pairs) - 2, 1))
    return slope, intercept, spread
