"""The curves file: recorded learning curves (your past sweeps, or published ones) that ``finesweep replay``
plays back, and that ``search.warm_start`` imports.

JSON lines, UTF-8. Line 1 names the metric and its direction (and, optionally, the unit of the runs' cost);
every further line is one recorded run::

    {"metric": "accuracy", "mode": "max", "cost_unit": "examples"}
    {"params": {"training.learning_rate": 6.7e-06, "training.batch_size": 56}, "curve": [[1000, 0.849], [2000, 0.862]]}

``params`` maps spec paths (the keys of the sweep's ``search_space``) to the run's values; ``curve`` lists
``[step, value]`` pairs: strictly increasing positive optimizer steps, finite values, the last one the end of
the run's training. Optional per run:

- ``examples_per_step``: examples one optimizer step trains on (default: the run's ``training.batch_size``,
  else 1), so a replay knows the examples seen at each report;
- ``cost``: the compute spent up to each point, one number per point, in the header's ``cost_unit`` (default:
  the examples seen) — e.g. GPU seconds from the run's own clock;
- ``planned_steps``: the run's whole planned length (default: its last point's step), for a run that ended early;
- ``failed``: ``{"step": s, "cost": c, "reason": "..."}`` for a run that failed (its loss became NaN, it
  crashed) at step ``s`` after ``c`` of compute; its curve holds the points before that (maybe none), and a
  replayed trial of it fails there;
- ``stopped``: true for a run a scheduler stopped before its end (a finesweep sweep's early stops): warm start
  imports it as pruned; replay cannot play what it never recorded and passes it over.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sweeps.core.errors import UserError
from sweeps.core.values import best_of, is_number


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CurvesHeader(_Strict):
    metric: str = Field(min_length=1, description="The name the sweep's search.metric must have.")
    mode: Literal["min", "max"] = Field(description="Whether lower or higher values are better.")
    cost_unit: str = Field(default="examples", min_length=1, description="What the runs' cost counts.")


class Failure(_Strict):
    step: int = Field(ge=1, description="The optimizer step at which the run failed.")
    cost: float = Field(gt=0, description="The compute spent until then, in the header's cost_unit.")
    reason: str = Field(default="nan loss", description="Why: `nan loss` (diverged), or an error's last line.")


class RecordedRun(_Strict):
    params: dict[str, bool | int | float | str]
    curve: list[tuple[int, float]]
    examples_per_step: float | None = Field(default=None, gt=0)
    cost: list[float] | None = None
    planned_steps: int | None = Field(default=None, ge=1)
    failed: Failure | None = None
    stopped: bool = False

    @field_validator("curve")
    @classmethod
    def _steps_increase(cls, curve: list[tuple[int, float]]) -> list[tuple[int, float]]:
        steps = [step for step, _ in curve]
        if steps and (steps[0] < 1 or any(later <= earlier for earlier, later in itertools.pairwise(steps))):
            raise ValueError(f"steps must be positive and strictly increasing, but got {steps[:8]}…")
        if not all(math.isfinite(value) for _, value in curve):
            raise ValueError("values must be finite numbers (give a diverged run's NaN as `failed`)")
        return curve

    @model_validator(mode="after")
    def _cost_fits_the_curve(self) -> RecordedRun:
        if not self.curve and self.failed is None:
            raise ValueError("curve: a run that did not fail needs at least one point")
        if self.cost is not None and (len(self.cost) != len(self.curve)
                                      or any(later < earlier for earlier, later in itertools.pairwise(self.cost))):
            raise ValueError(f"cost: must hold one non-decreasing number per curve point ({len(self.curve)}), "
                             f"but got {self.cost[:8]}")
        return self

    def examples_at(self, step: int) -> float:
        """Examples trained on by ``step``."""
        batch = self.params.get("training.batch_size")
        per_step = self.examples_per_step or (batch if is_number(batch) else 1)
        return step * float(per_step)

    def costs(self) -> list[float]:
        """The compute spent by each point: the recorded ``cost``, else the examples seen."""
        return list(self.cost) if self.cost is not None else [self.examples_at(step) for step, _ in self.curve]

    def total_cost(self) -> float:
        """What training this run to its end (or to its failure) cost."""
        return self.failed.cost if self.failed else self.costs()[-1]

    def planned(self) -> int:
        """The run's whole planned length in steps."""
        return self.planned_steps or (self.failed.step if self.failed and not self.curve else self.curve[-1][0])

    @property
    def finished(self) -> bool:
        """Trained to its end: neither failed nor stopped."""
        return self.failed is None and not self.stopped


class Curves(_Strict):
    """A curves file in memory: its header and its runs in file order."""

    header: CurvesHeader
    runs: list[RecordedRun] = Field(min_length=1)

    def best_value(self) -> float:
        """The best value of any point of any run: the target a replayed sweep is measured against."""
        return best_of((value for run in self.runs for _, value in run.curve), mode=self.header.mode)

    def final_values(self) -> list[float]:
        """Each finished run's value at the end of its training."""
        return [run.curve[-1][1] for run in self.runs if run.finished]

    def most_reports(self) -> int:
        return max(len(run.curve) for run in self.runs)


def read_curves(path: Path) -> Curves:
    """The curves file at ``path``; raises :class:`UserError` naming the line, the field and the problem."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise UserError(f"{path}: cannot read the curves file ({error.strerror})") from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text; a curves file is JSON lines") from None
    numbered = [(number, line) for number, line in enumerate(lines, start=1) if line.strip()]
    if len(numbered) < 2:
        raise UserError(f"{path}: a curves file needs a header line and at least one run, "
                        f"but got {len(numbered)} non-empty line(s)")
    header = _parse(CurvesHeader, numbered[0], path=path)
    runs = [_parse(RecordedRun, item, path=path) for item in numbered[1:]]
    return Curves(header=header, runs=runs)


def read_header(path: Path) -> CurvesHeader:
    """Only the header line of the curves file at ``path`` (a cheap check before a sweep starts)."""
    try:
        with Path(path).open(encoding="utf-8") as lines:
            first = next((item for item in enumerate(lines, start=1) if item[1].strip()), None)
    except OSError as error:
        raise UserError(f"{path}: cannot read the curves file ({error.strerror})") from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text; a curves file is JSON lines") from None
    if first is None:
        raise UserError(f"{path}: empty; a curves file starts with a header line") from None
    return _parse(CurvesHeader, first, path=path)


def write_curves(curves: Curves, target: Path) -> None:
    """Write ``curves`` as a curves file (the header line, then one line per run)."""
    lines = [curves.header.model_dump_json(), *(run.model_dump_json(exclude_none=True) for run in curves.runs)]
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    Path(target).write_text("\n".join(lines) + "\n", encoding="utf-8")


def _parse(model: type[BaseModel], item: tuple[int, str], *, path: Path) -> Any:
    number, line = item
    try:
        return model.model_validate(json.loads(line))
    except json.JSONDecodeError as error:
        raise UserError(f"{path}:{number}: not valid JSON ({error.msg})") from None
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        where = f"{field}: " if field else ""
        raise UserError(f"{path}:{number}: {where}{message} (got {_short(first['input'])})") from None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}…"
