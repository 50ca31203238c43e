"""Replay recorded learning curves through the real runner, searcher and scheduler, without training.

``finesweep replay CURVES.jsonl --spec sweep.yaml`` runs the sweep of ``sweep.yaml`` (Optuna sampler,
ASHA/median/none, Tune bookkeeping: the same code as ``finesweep run``), but each trial plays back the
recorded run nearest to the config the searcher proposed instead of training. A user tunes the searcher
and scheduler on past sweeps before paying for GPUs.

Curves file: JSON lines, UTF-8. Line 1 names the metric and its direction; every further line is one
recorded run::

    {"metric": "accuracy", "mode": "max"}
    {"params": {"training.learning_rate": 6.7e-06, "training.batch_size": 56}, "curve": [[1000, 0.849], [2000, 0.862]]}

``params`` maps spec paths (the keys of the sweep's ``search_space``) to the run's values; ``curve`` lists
``[step, value]`` pairs with strictly increasing positive integer steps and finite values. Each pair is
one report (one ASHA time unit), so pairs should sit on one evaluation cadence for every run.

Nearest run: each searched parameter whose recorded values are all numbers is scaled to [0, 1] over the
file's range of values, in log space when the search space samples it on a log scale (``loguniform``, or
``int`` with ``log: true``); any other parameter counts 0 when equal and 1 when not. The run at the
smallest Euclidean distance is replayed (ties: the earlier line).

Simulated clock: nothing sleeps. A report carries ``sim_steps``, the step of the recorded point, so the
budget of a sweep is the sum over trials of the last ``sim_steps`` each reached (a trial stopped at its
2nd report of a 1,000-step cadence cost 2,000 steps).
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from ray import tune

from search_spaces.space import IntRange, LogUniform, SearchSpace
from sweeps.errors import UserError

if TYPE_CHECKING:
    from ray.tune import ResultGrid

    from sweeps.spec import SweepSpec

SIM_STEPS = "sim_steps"  # the report's step on the recorded run: the simulated clock
REPLAYED_RUN = "replayed_run"  # 0-based index of the replayed run among the file's runs
DISTANCE = "replay_distance"  # distance from the proposed config to the replayed run


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
        pick = max if self.header.mode == "max" else min
        return pick(value for run in self.runs for _, value in run.curve)

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


class RunIndex:
    """The recorded runs as points in the unit cube of the searched parameters (see the module doc)."""

    def __init__(self, runs: list[RecordedRun], *, space: SearchSpace):
        for number, run in enumerate(runs, start=2):
            missing = [name for name in space if name not in run.params]
            if missing:
                raise UserError(f"curves file line {number}: params has no value for {', '.join(missing)}, "
                                f"which the sweep's search_space searches")
        self.names = list(space)
        values = {name: [run.params[name] for run in runs] for name in self.names}
        self.numeric = [name for name in self.names if all(_is_number(v) for v in values[name])]
        # A recorded value <= 0 has no logarithm: such a parameter is compared on a linear scale.
        self.log = np.array([_is_log(space[name]) and min(values[name]) > 0 for name in self.numeric], dtype=bool)
        raw = np.array([values[name] for name in self.numeric], dtype=float).T.reshape(len(runs), len(self.numeric))
        matrix = self._warp(raw)
        self.low = matrix.min(axis=0)
        # A parameter with one recorded value cannot tell runs apart: a span of 1 leaves it at 0.
        self.span = np.where(np.ptp(matrix, axis=0) > 0, np.ptp(matrix, axis=0), 1.0)
        self.points = (matrix - self.low) / self.span
        self.labels = [[run.params[name] for name in self.names if name not in self.numeric] for run in runs]

    def _warp(self, matrix: np.ndarray) -> np.ndarray:
        return np.where(self.log, np.log(np.where(self.log, matrix, 1.0)), matrix)

    def nearest(self, params: Mapping[str, Any]) -> tuple[int, float]:
        """The index of the run nearest ``params`` (a trial config) and its distance."""
        query = np.array([float(params[name]) for name in self.numeric])
        scaled = (self._warp(query[None, :]) - self.low) / self.span
        squared = ((self.points - scaled) ** 2).sum(axis=1)
        wanted = [params[name] for name in self.names if name not in self.numeric]
        if wanted:
            squared += np.array([sum(a != b for a, b in zip(labels, wanted, strict=True)) for labels in self.labels])
        number = int(np.argmin(squared))
        return number, float(math.sqrt(squared[number]))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_log(param: Any) -> bool:
    return isinstance(param, LogUniform) or (isinstance(param, IntRange) and param.log)


class Replay:
    """What one replayed trial reports: the nearest run's curve, point by point, on the simulated clock."""

    def __init__(self, curves: Curves, *, space: SearchSpace):
        self.curves = curves
        self.index = RunIndex(curves.runs, space=space)

    def reports(self, config: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        number, distance = self.index.nearest(config)
        curve = self.curves.runs[number].curve
        last_step = curve[-1][0]
        for step, value in curve:
            # `training_finished` lets `finesweep best` and the summary tell ASHA stops from finished runs.
            yield {self.curves.header.metric: value, SIM_STEPS: step, REPLAYED_RUN: number, DISTANCE: distance,
                   "training_finished": step == last_step}


class ReplayLedger(tune.Callback):
    """A Tune callback keeping trial starts and reports in the order Tune processed them: the timeline of the
    simulated clock, from which the budget a replayed sweep spent is read."""

    def __init__(self, metric: str):
        self.metric = metric
        self.starts: list[str] = []
        self.reports: list[tuple[str, int, float]] = []  # (trial id, sim_steps, metric value)
        self.runs: dict[str, int] = {}  # trial id → index of the recorded run it replayed

    def on_trial_start(self, iteration, trials, trial, **info):
        self.starts.append(trial.trial_id)

    def on_trial_result(self, iteration, trials, trial, result, **info):
        self.reports.append((trial.trial_id, int(result[SIM_STEPS]), float(result[self.metric])))
        self.runs[trial.trial_id] = int(result[REPLAYED_RUN])

    def trained_steps(self) -> dict[str, int]:
        """Simulated steps each trial trained before it finished or was stopped."""
        return {trial: steps for trial, steps, _ in self.reports}

    def budget_curve(self, *, mode: str) -> list[tuple[int, float]]:
        """(steps spent by all trials so far, best value so far) after each report."""
        pick = max if mode == "max" else min
        reached: dict[str, int] = {}
        spent, best, curve = 0, None, []
        for trial, steps, value in self.reports:
            spent += steps - reached.get(trial, 0)
            reached[trial] = steps
            best = value if best is None else pick(best, value)
            curve.append((spent, best))
        return curve


def replay_trial(config: dict[str, Any], *, replay: Replay) -> None:
    """A Tune function trainable: report every point of the replayed run until the scheduler stops it."""
    for metrics in replay.reports(config):
        tune.report(metrics)


def replay_trainable(curves: Curves, *, space: SearchSpace):
    """The trainable ``run_sweep(..., trainable=...)`` takes; the curves travel once, via Ray's object store."""
    return tune.with_parameters(replay_trial, replay=Replay(curves, space=space))


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


def replay_spec(*, spec_path: Path, overrides: Sequence[str], curves: Curves) -> SweepSpec:
    """The sweep file's spec for replaying ``curves``: its metric and mode must be the file's, model and data
    need not exist here, results go to ``<storage.path>/<name>-replay`` (never over the real sweep), and
    ASHA's top rung defaults to the longest curve's number of reports."""
    from sweeps.loading import load_spec

    spec = load_spec(spec_path, overrides, check_files=False, metrics={curves.header.metric: curves.header.mode})
    scheduler = spec.scheduler
    if scheduler.max_t is None:
        scheduler = scheduler.model_copy(update={"max_t": max(curves.most_reports(), scheduler.grace_period)})
    return spec.model_copy(update={"name": f"{spec.name}-replay", "scheduler": scheduler})


def run_replay(*, spec: SweepSpec, curves: Curves, address: str | None = None,
               callbacks: Sequence[tune.Callback] = ()) -> ResultGrid:
    """Run ``spec``'s sweep with every trial replaying ``curves``, through the real runner."""
    from sweeps.loading import effective_space
    from sweeps.runner import init_ray, run_sweep

    init_ray(address)  # the curves go to the object store of the Ray the sweep runs on
    trainable = replay_trainable(curves, space=effective_space(spec))
    return run_sweep(spec, address=address, callbacks=callbacks, trainable=trainable, reuse_actors=True)
