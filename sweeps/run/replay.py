"""Replay recorded learning curves through the real runner, searcher and scheduler, without training.

``finesweep replay CURVES.jsonl --spec sweep.yaml`` runs the sweep of ``sweep.yaml`` (Optuna sampler,
ASHA/median/none, Tune bookkeeping: the same code as ``finesweep run``), but each trial plays back the
recorded run nearest to the config the searcher proposed instead of training. A user tunes the searcher
and scheduler on past sweeps before paying for GPUs.

The curves file's format is in :mod:`sweeps.run.curves`.

Nearest run: each searched parameter whose recorded values are all numbers is scaled to [0, 1] over the
file's range of values, in log space when the search space samples it on a log scale (``loguniform``, or
``int`` with ``log: true``); any other parameter counts 0 when equal and 1 when not. The run at the
smallest Euclidean distance is replayed (ties: the earlier line).

Simulated clock: nothing sleeps. A report carries ``sim_steps``, the step of the recorded point, so the
budget of a sweep is the sum over trials of the last ``sim_steps`` each reached (a trial stopped at its
2nd report of a 1,000-step cadence cost 2,000 steps).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from ray import tune

from search_spaces.space import IntRange, LogUniform, SearchSpace
from sweeps.config.loading import load_spec
from sweeps.config.space import effective_space
from sweeps.core.errors import UserError
from sweeps.core.values import better, is_number
from sweeps.run.curves import Curves, RecordedRun
from sweeps.run.runner import init_ray, run_sweep

if TYPE_CHECKING:
    from ray.tune import ResultGrid

    from sweeps.spec import SweepSpec

SIM_STEPS = "sim_steps"  # the report's step on the recorded run: the simulated clock
REPLAYED_RUN = "replayed_run"  # 0-based index of the replayed run among the file's runs
DISTANCE = "replay_distance"  # distance from the proposed config to the replayed run


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
        reached: dict[str, int] = {}
        spent, best, curve = 0, None, []
        for trial, steps, value in self.reports:
            spent += steps - reached.get(trial, 0)
            reached[trial] = steps
            best = value if better(value, best, mode=mode) else best
            curve.append((spent, best))
        return curve


def replay_trial(config: dict[str, Any], *, replay: Replay) -> None:
    """A Tune function trainable: report every point of the replayed run until the scheduler stops it."""
    for metrics in replay.reports(config):
        tune.report(metrics)


def replay_trainable(curves: Curves, *, space: SearchSpace):
    """The trainable ``run_sweep(..., trainable=...)`` takes; the curves travel once, via Ray's object store."""
    return tune.with_parameters(replay_trial, replay=Replay(curves, space=space))


def replay_spec(*, spec_path: Path, overrides: Sequence[str], curves: Curves) -> SweepSpec:
    """The sweep file's spec for replaying ``curves``: its metric and mode must be the file's, model and data
    need not exist here, results go to ``<storage.path>/<name>-replay`` (never over the real sweep), and
    ASHA's top rung defaults to the longest curve's number of reports."""
    spec = load_spec(spec_path, overrides, check_files=False, metrics={curves.header.metric: curves.header.mode})
    scheduler = spec.scheduler
    if scheduler.max_t is None:
        scheduler = scheduler.model_copy(update={"max_t": max(curves.most_reports(), scheduler.grace_period)})
    return spec.model_copy(update={"name": f"{spec.name}-replay", "scheduler": scheduler})


def run_replay(*, spec: SweepSpec, curves: Curves, address: str | None = None,
               callbacks: Sequence[tune.Callback] = ()) -> ResultGrid:
    """Run ``spec``'s sweep with every trial replaying ``curves``, through the real runner."""
    init_ray(address)  # the curves go to the object store of the Ray the sweep runs on
    trainable = replay_trainable(curves, space=effective_space(spec))
    return run_sweep(spec, address=address, callbacks=callbacks, trainable=trainable, reuse_actors=True)
