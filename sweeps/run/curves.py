"""The curves file: recorded learning curves (your past sweeps, or published ones) that ``finesweep replay``
plays back, and the converter from opda's published tuning results.

JSON lines, UTF-8. Line 1 names the metric and its direction; every further line is one recorded run::

    {"metric": "accuracy", "mode": "max"}
    {"params": {"training.learning_rate": 6.7e-06, "training.batch_size": 56}, "curve": [[1000, 0.849], [2000, 0.862]]}

``params`` maps spec paths (the keys of the sweep's ``search_space``) to the run's values; ``curve`` lists
``[step, value]`` pairs with strictly increasing positive integer steps and finite values. Each pair is
one report (one ASHA time unit), so pairs should sit on one evaluation cadence for every run.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sweeps.core.errors import UserError
from sweeps.core.values import best_of


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CurvesHeader(_Strict):
    metric: str = Field(min_length=1, description="The name the sweep's search.metric must have.")
    mode: Literal["min", "max"] = Field(description="Whether lower or higher values are better.")


class RecordedRun(_Strict):
    params: dict[str, bool | int | float | str]
    curve: list[tuple[int, float]] = Field(min_length=1)

    @field_validator("curve")
    @classmethod
    def _steps_increase(cls, curve: list[tuple[int, float]]) -> list[tuple[int, float]]:
        steps = [step for step, _ in curve]
        if steps[0] < 1 or any(later <= earlier for earlier, later in itertools.pairwise(steps)):
            raise ValueError(f"steps must be positive and strictly increasing, but got {steps[:8]}…")
        if not all(math.isfinite(value) for _, value in curve):
            raise ValueError("values must be finite numbers (drop diverged runs or cut their curves)")
        return curve


class Curves(_Strict):
    """A curves file in memory: its header and its runs in file order."""

    header: CurvesHeader
    runs: list[RecordedRun] = Field(min_length=1)

    def best_value(self) -> float:
        """The best value of any point of any run: the target a replayed sweep is measured against."""
        return best_of((value for run in self.runs for _, value in run.curve), mode=self.header.mode)

    def most_reports(self) -> int:
        return max(len(run.curve) for run in self.runs)


def read_curves(path: Path) -> Curves:
    """The curves file at ``path``; raises :class:`UserError` naming the line, the field and the problem."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise UserError(f"{path}: cannot read the curves file ({error.strerror})") from None
    numbered = [(number, line) for number, line in enumerate(lines, start=1) if line.strip()]
    if len(numbered) < 2:
        raise UserError(f"{path}: a curves file needs a header line and at least one run, "
                        f"but got {len(numbered)} non-empty line(s)")
    header = _parse(CurvesHeader, numbered[0], path=path)
    runs = [_parse(RecordedRun, item, path=path) for item in numbered[1:]]
    return Curves(header=header, runs=runs)


def _parse(model: type[BaseModel], item: tuple[int, str], *, path: Path) -> Any:
    number, line = item
    try:
        return model.model_validate(json.loads(line))
    except json.JSONDecodeError as error:
        raise UserError(f"{path}:{number}: not valid JSON ({error.msg})") from None
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "line"
        message = first["msg"].removeprefix("Value error, ")
        raise UserError(f"{path}:{number}: {field}: {message} (got {_short(first['input'])})") from None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}…"


# The opda files evaluate every 1,000 steps plus at each epoch's end; only the cadence (and the last point)
# is kept, because ASHA counts reports and a report must stand for the same training in every run.
OPDA_CADENCE = 1000


def convert_opda(*, source: Path, target: Path, validation_set: str = "matched") -> int:
    """Write opda's tuning results (``deberta-base_tuning.results.jsonl``: DeBERTa on MultiNLI, by Nicholas
    Lourie, CC BY-SA 4.0, https://github.com/nicholaslourie/opda) as a curves file of accuracy on
    ``validation_set``, mode max; returns the number of runs.

    Parameters map to spec paths: num_train_epochs → training.epochs, train_batch_size → training.batch_size,
    learning_rate → training.learning_rate, cls_drop_out → method.dropout, and warmup_steps →
    training.warmup_ratio as warmup_steps / (total_model_steps / num_train_epochs), i.e. the share of the
    *first epoch* opda sampled (Uniform[0, 0.6]), not finesweep's share of all steps.
    """
    lines = [json.dumps({"metric": "accuracy", "mode": "max"})]
    for line in Path(source).read_text(encoding="utf-8").splitlines():
        if line.strip():
            lines.append(json.dumps(_opda_run(json.loads(line), validation_set=validation_set)))
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    Path(target).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines) - 1


def _opda_run(row: dict[str, Any], *, validation_set: str) -> dict[str, Any]:
    steps_per_epoch = row["total_model_steps"] / row["num_train_epochs"]
    params = {
        "training.learning_rate": row["learning_rate"],
        "training.batch_size": row["train_batch_size"],
        "training.epochs": row["num_train_epochs"],
        "training.warmup_ratio": round(row["warmup_steps"] / steps_per_epoch, 6),
        "method.dropout": row["cls_drop_out"],
    }
    points = row["learning_curves"][validation_set]
    last_step = points[-1][0]
    curve = [[step, value] for step, value in points if step % OPDA_CADENCE == 0 or step == last_step]
    return {"params": params, "curve": curve}
