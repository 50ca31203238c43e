"""Metric values: which of two is better under a sweep's mode, which values are numbers, and how a user
reads them (``lr=3.2e-04 r=8``)."""

from __future__ import annotations

import math
from typing import Any, Literal

Mode = Literal["min", "max"]


def better(value: float, than: float | None, *, mode: Mode) -> bool:
    """Whether ``value`` beats ``than`` under ``mode`` (anything beats None)."""
    return than is None or (value < than if mode == "min" else value > than)


def best_of(values: Any, *, mode: Mode) -> Any:
    """The best of ``values`` under ``mode``."""
    return min(values) if mode == "min" else max(values)


def best_by(items: Any, *, key: Any, mode: Mode) -> Any:
    """The item whose ``key(item)`` is best under ``mode``."""
    return min(items, key=key) if mode == "min" else max(items, key=key)


def sort_key(value: float | None, *, mode: Mode) -> tuple[bool, float]:
    """A key that sorts values best first under ``mode``, None last."""
    return value is None, (value or 0.0) * (1 if mode == "min" else -1)


def is_number(value: Any) -> bool:
    """An int or float that is not a bool (``True == 1`` in Python, but a flag is not a count)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def finite_or_none(value: Any) -> float | None:
    """``value`` as a float, or None when it is missing or NaN (JSON has no NaN)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


def format_value(value: Any, *, digits: int = 3) -> str:
    """A number short enough for a table cell: ``digits`` significant digits, scientific outside [1e-3, 1e4)."""
    if isinstance(value, float):
        return f"{value:.{digits}g}" if 1e-3 <= abs(value) < 1e4 or value == 0 else f"{value:.{digits - 1}e}"
    return str(value)


def format_params(params: dict[str, Any]) -> str:
    """``lr=3.2e-04 r=8`` style: the last part of each dotted path, numbers kept short."""
    return " ".join(f"{path.rsplit('.', 1)[-1]}={format_value(value)}" for path, value in sorted(params.items()))
