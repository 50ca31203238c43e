"""Replay recorded learning curves instead of training: each trial of a sweep plays back the recorded run
nearest to the config its searcher proposed. A user tunes the searcher and scheduler on past sweeps before
paying for GPUs. :mod:`sweeps.run.simulate` replays on a simulated clock (``finesweep replay``, the
benchmarks); :func:`run_replay` replays as real Tune trials through the real runner (``--on-ray``: exercises a
cluster, not a searcher). The curves file's format is in :mod:`sweeps.run.curves`.

Nearest run: each searched parameter whose recorded values are all numbers is scaled to [0, 1] over the
file's range of values, in log space when the search space samples it on a log scale (``loguniform``, or
``int`` with ``log: true``); any other parameter counts 0 when equal and 1 when not. The run at the
smallest Euclidean distance is replayed (ties: the earlier line). On the simulated clock a sweep replays each
run at most once: a searcher that proposes a config next to one it already tried gets the next-nearest run, as
training near a known config gives a new, similar result; replaying the same recorded run again would give it
nothing new for its budget (and would hold a model-based searcher on one point of a sparse file).

A report carries the recorded point's ``step``, ``examples`` seen, ``progress`` (the step over the run's
planned length) and ``sim_cost``, the compute spent so far in the curves file's cost unit.
"""

from __future__ import annotations

import itertools
import json
import math
import tempfile
from collections.abc import Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from ray import tune

from search_spaces.space import IntRange, LogUniform, SearchSpace
from sweeps.config.loading import load_spec
from sweeps.config.space import effective_space
from sweeps.core.errors import SpecError, UserError
from sweeps.core.values import is_number
from sweeps.run.curves import Curves, RecordedRun
from sweeps.run.runner import init_ray, run_sweep

if TYPE_CHECKING:
    from ray.tune import ResultGrid

    from sweeps.spec import SweepSpec

SIM_COST = "sim_cost"  # the compute the replayed run had spent at this report (the curves file's cost_unit)
REPLAYED_RUN = "replayed_run"  # 0-based index of the replayed run among the file's runs
DISTANCE = "replay_distance"  # distance from the proposed config to the replayed run
# A curves file's cost unit → the search.budget units a replayed report can tell what it spent in.
BUDGET_UNITS = {"gpu_seconds": lambda cost: {"gpu_hours": cost / 3600},
                "examples": lambda cost: {"train_examples": cost}}
PLAYED_FILE = "played.json"  # a replayed trial's Tune checkpoint: how many points it has reported


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
        self.numeric = [name for name in self.names if all(is_number(v) for v in values[name])]
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

    def nearest(self, params: Mapping[str, Any], *, exclude: Collection[int] = ()) -> tuple[int, float]:
        """The index of the run nearest ``params`` (a trial config) and its distance; runs in ``exclude`` are
        passed over unless every run is in it."""
        query = np.array([float(params[name]) for name in self.numeric])
        scaled = (self._warp(query[None, :]) - self.low) / self.span
        squared = ((self.points - scaled) ** 2).sum(axis=1)
        wanted = [params[name] for name in self.names if name not in self.numeric]
        if wanted:
            squared += np.array([sum(a != b for a, b in zip(labels, wanted, strict=True)) for labels in self.labels])
        if len(exclude) < len(squared):
            squared[list(exclude)] = np.inf
        number = int(np.argmin(squared))
        return number, float(math.sqrt(squared[number]))


def _is_log(param: Any) -> bool:
    return isinstance(param, LogUniform) or (isinstance(param, IntRange) and param.log)


class Replay:
    """What a replayed trial reports: the nearest run's curve, point by point, with the time units a scheduler
    may count in (reports, steps, examples, progress) and the compute each point took."""

    def __init__(self, curves: Curves, *, space: SearchSpace):
        self.curves = curves
        self.index = RunIndex(curves.runs, space=space)
        # A stopped run holds only its start: there is nothing to play after its last point.
        self.unplayable = frozenset(number for number, run in enumerate(curves.runs) if run.stopped)

    def result(self, number: int, index: int) -> dict[str, Any]:
        """The report of point ``index`` of run ``number``."""
        run = self.curves.runs[number]
        step, value = run.curve[index]
        # `training_finished` lets `finesweep best` and the summary tell early stops from finished runs.
        cost = run.costs()[index]
        return {self.curves.header.metric: value, "step": step, "examples": run.examples_at(step),
                "progress": step / run.planned(), SIM_COST: cost, REPLAYED_RUN: number,
                **BUDGET_UNITS.get(self.curves.header.cost_unit, lambda _: {})(cost),
                "training_finished": run.finished and index == len(run.curve) - 1}

    def reports(self, config: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        number, distance = self.index.nearest(config, exclude=self.unplayable)
        for index in range(len(self.curves.runs[number].curve)):
            yield {**self.result(number, index), DISTANCE: distance}


def replay_max_t(spec: SweepSpec, *, curves: Curves) -> float:
    """The scheduler's top rung on ``curves``, in its time unit: the longest run's length."""
    unit = spec.scheduler.time_unit
    if unit == "progress":
        return 1.0
    ends = [(len(run.curve), run.curve[-1][0], run.examples_at(run.curve[-1][0])) for run in curves.runs if run.curve]
    return float(max(end[("reports", "steps", "examples").index(unit)] for end in ends))


class ReplayLedger(tune.Callback):
    """A Tune callback keeping trial starts and reports in the order Tune processed them (wall-clock order:
    the Ray path of replay, for runs that exercise a cluster rather than measure a searcher)."""

    def __init__(self, metric: str):
        self.metric = metric
        self.starts: list[str] = []
        self.reports: list[tuple[str, float, float]] = []  # (trial id, cost so far, metric value)
        self.runs: dict[str, int] = {}  # trial id → index of the recorded run it replayed

    def on_trial_start(self, iteration, trials, trial, **info):
        self.starts.append(trial.trial_id)

    def on_trial_result(self, iteration, trials, trial, result, **info):
        self.reports.append((trial.trial_id, float(result[SIM_COST]), float(result[self.metric])))
        self.runs[trial.trial_id] = int(result[REPLAYED_RUN])


def replay_trial(config: dict[str, Any], *, replay: Replay) -> None:
    """A Tune function trainable: report every point of the replayed run until the scheduler stops it. Each
    report carries a Tune checkpoint holding the points played so far, so a trial Tune starts again (its
    node was lost) goes on after them: Tune's record of it has every point once."""
    played = _points_played()
    for points, metrics in enumerate(itertools.islice(replay.reports(config), played, None), start=played + 1):
        with tempfile.TemporaryDirectory() as folder:
            Path(folder, PLAYED_FILE).write_text(json.dumps({"points": points}))
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(folder))


def _points_played() -> int:
    checkpoint = tune.get_checkpoint()
    if checkpoint is None:
        return 0
    with checkpoint.as_directory() as folder:
        return json.loads(Path(folder, PLAYED_FILE).read_text())["points"]


def replay_trainable(curves: Curves, *, space: SearchSpace):
    """The trainable ``run_sweep(..., trainable=...)`` takes; the curves travel once, via Ray's object store."""
    return tune.with_parameters(replay_trial, replay=Replay(curves, space=space))


def replay_spec(*, spec_path: Path, overrides: Sequence[str], curves: Curves) -> SweepSpec:
    """The sweep file's spec for replaying ``curves``: its metric and mode must be the file's, model and data
    need not exist here, and results go to ``<storage.path>/<name>-replay`` (never over the real sweep)."""
    spec = load_spec(spec_path, overrides, check_files=False, metrics={curves.header.metric: curves.header.mode})
    budget = spec.search.budget
    units = list(dict.fromkeys(["train_examples", *BUDGET_UNITS.get(curves.header.cost_unit, lambda _: {})(0.0)]))
    if budget is not None and budget.unit not in units:
        raise SpecError(str(spec_path), [f"search.budget: a replay counts compute in the curves file's "
                                         f"{curves.header.cost_unit}, so the budget must be in {' or '.join(units)}, "
                                         f"but got {budget.unit}"])
    return spec.model_copy(update={"name": f"{spec.name}-replay"})


def run_replay(*, spec: SweepSpec, curves: Curves, address: str | None = None,
               callbacks: Sequence[tune.Callback] = (), reuse_actors: bool = False) -> ResultGrid:
    """Run ``spec``'s sweep with every trial replaying ``curves`` as a real Tune trial, through the real runner:
    reports reach Tune in wall-clock order (see :mod:`sweeps.run.simulate` for the simulated clock).
    ``reuse_actors=True`` measures Tune's bookkeeping without a Python worker start per trial (M3); a replay
    that exercises a cluster keeps a real sweep's fresh actor per trial and so its behaviour under faults."""
    init_ray(address)  # the curves go to the object store of the Ray the sweep runs on
    trainable = replay_trainable(curves, space=effective_space(spec))
    return run_sweep(spec, address=address, callbacks=callbacks, trainable=trainable, reuse_actors=reuse_actors)
