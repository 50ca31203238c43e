"""A sweep on recorded curves as a discrete-event simulation: the searcher and scheduler ``finesweep run``
builds see each trial's reports in the order of the simulated clock, across all concurrent trials.

The anchor is Syne Tune's simulated backend: nothing trains and nothing sleeps; a trial started at time t
reports its i-th recorded point at t + cost_i (the compute that point took: GPU seconds or examples, as the
curves file says), a free slot starts the next trial at once, and ties go to the earlier event. The searcher
and scheduler are the very objects of a real sweep (Ray's ``OptunaSearch`` subclass, ``ASHAScheduler``, ...)
driven through the calls Ray Tune's controller makes, in its order; so a seed gives the same sweep on any
machine and at any load, and ``max_concurrent_trials`` means what it means on a cluster.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sweeps.config.space import effective_space
from sweeps.run.curves import Curves, RecordedRun
from sweeps.run.replay import DISTANCE, Replay, replay_max_t
from sweeps.run.runner import build_search
from sweeps.run.schedulers import build_scheduler, sweep_ledger

if TYPE_CHECKING:
    from search_spaces.space import SearchSpace
    from sweeps.spec import SweepSpec

RUNNING, TERMINATED, ERROR = "RUNNING", "TERMINATED", "ERROR"  # the Tune trial states schedulers look at


@dataclass(eq=False)
class SimulatedTrial:
    """One trial of a simulated sweep, with the attributes Ray's schedulers read of a Tune trial."""

    trial_id: str
    config: dict[str, Any]
    run: int  # the recorded run it replays
    distance: float  # from the proposed config to that run (see replay.RunIndex)
    start: float  # the simulated time it started
    status: str = RUNNING
    reports: list[dict[str, Any]] = field(default_factory=list)
    end: float | None = None
    last_result: dict[str, Any] = field(default_factory=dict)

    @property
    def stopped_early(self) -> bool:
        return self.status == TERMINATED and not self.last_result.get("training_finished", False)

    @property
    def cost(self) -> float:
        """The compute this trial used: up to its last report, or to its end (a failure's full cost)."""
        return (self.end - self.start) if self.end is not None else 0.0


@dataclass
class SimulatedSweep:
    """What a simulated sweep did: its trials in start order and its events' times."""

    trials: list[SimulatedTrial]
    metric: str
    mode: str

    def budget_curve(self) -> list[tuple[float, float]]:
        """``(compute spent by every trial by then, best value so far)`` at each report, in time order: running
        trials count what they used up to that moment, as a cluster's bill would."""
        from sweeps.core.values import better

        reports = sorted((report["sim_time"], number, report[self.metric])
                         for number, trial in enumerate(self.trials) for report in trial.reports)
        best, curve = None, []
        for time, _, value in reports:
            best = value if better(value, best, mode=self.mode) else best
            curve.append((self.spent_by(time), best))
        return curve

    def spent_by(self, time: float) -> float:
        """The compute all trials had used at ``time`` on the simulated clock."""
        return sum(min(time, trial.end if trial.end is not None else time) - trial.start
                   for trial in self.trials if trial.start <= time)

    def as_curves(self, *, recorded: Curves, space: SearchSpace) -> Curves:
        """The sweep's trials as a curves file (what ``finesweep curves`` writes of a real sweep): the params of
        the recorded run each replayed (the config that made its curve), each report a point, stopped and failed
        trials marked so."""
        runs = []
        for trial in self.trials:
            params = {name: recorded.runs[trial.run].params[name] for name in space}
            points = [(int(report["step"]), float(report[self.metric])) for report in trial.reports]
            costs = [float(report["sim_time"] - trial.start) for report in trial.reports]
            failed = {"step": max([step for step, _ in points], default=0) + 1, "cost": trial.cost} \
                if trial.status == ERROR else None
            runs.append(RecordedRun(params=params, curve=points, cost=costs, failed=failed,
                                    stopped=trial.stopped_early))
        return Curves(header=recorded.header, runs=runs)

    def total_cost(self) -> float:
        return sum(trial.cost for trial in self.trials)

    def wall_time(self) -> float:
        """When the last trial ended, on the simulated clock."""
        return max((trial.end for trial in self.trials if trial.end is not None), default=0.0)


class _Controller:
    """The part of Ray Tune's ``TuneController`` that its schedulers call back into."""

    def __init__(self) -> None:
        self.trials: list[SimulatedTrial] = []

    def get_trials(self) -> list[SimulatedTrial]:
        return self.trials

    def get_live_trials(self) -> list[SimulatedTrial]:
        return [trial for trial in self.trials if trial.status == RUNNING]


Hook = Callable[[SimulatedTrial, dict[str, Any]], None]


def simulate(spec: SweepSpec, *, curves: Curves, on_report: Sequence[Hook] = ()) -> SimulatedSweep:
    """Run ``spec``'s sweep on ``curves`` on the simulated clock (see the module docstring)."""
    import numpy as np

    replay = Replay(curves, space=effective_space(spec))
    max_t = replay_max_t(spec, curves=curves)
    ledger = sweep_ledger(spec, max_t=max_t)
    searcher = build_search(spec, journal_path=None, ledger=ledger)
    scheduler = build_scheduler(spec, max_t=max_t, ledger=ledger)
    scheduler.set_search_properties(spec.search.metric, spec.search.mode)  # as TuneConfig(metric, mode) does
    np.random.seed(spec.search.seed)  # ASHA draws each trial's bracket from numpy's global generator
    loop = _Loop(spec, replay=replay, searcher=searcher, scheduler=scheduler, on_report=on_report)
    loop.run()
    return SimulatedSweep(trials=loop.controller.trials, metric=spec.search.metric, mode=spec.search.mode)


class _Loop:
    """The event loop: a heap of (time, order, trial, point index) events."""

    def __init__(self, spec: SweepSpec, *, replay: Replay, searcher: Any, scheduler: Any, on_report: Sequence[Hook]):
        self.spec, self.replay, self.searcher, self.scheduler = spec, replay, searcher, scheduler
        self.on_report = on_report
        self.controller = _Controller()
        self.events: list[tuple[float, int, SimulatedTrial, int]] = []
        self.order = itertools.count()
        self.exhausted = False

    def run(self) -> None:
        now = 0.0
        self._fill_slots(now)
        while self.events:
            now, _, trial, index = heapq.heappop(self.events)
            if index < 0:
                self._fail(trial, now)
            else:
                self._report(trial, index, now)
            self._fill_slots(now)

    def _fill_slots(self, now: float) -> None:
        search = self.spec.search
        while (not self.exhausted and len(self.controller.get_live_trials()) < search.max_concurrent_trials
               and len(self.controller.trials) < search.trial_limit()):
            self._start(now)

    def _start(self, now: float) -> None:
        trial_id = f"{len(self.controller.trials):05d}"
        config = self.searcher.suggest(trial_id)
        if config is None or config == "FINISHED":  # a grid searched through
            self.exhausted = True
            return
        used = {trial.run for trial in self.controller.trials}
        run, distance = self.replay.index.nearest(config, exclude=used | self.replay.unplayable)
        trial = SimulatedTrial(trial_id=trial_id, config=dict(config), run=run, distance=distance, start=now)
        self.controller.trials.append(trial)
        self.scheduler.on_trial_add(self.controller, trial)
        self._schedule(trial, index=0)

    def _schedule(self, trial: SimulatedTrial, *, index: int) -> None:
        recorded = self.replay.curves.runs[trial.run]
        if index < len(recorded.curve):
            time, event = trial.start + recorded.costs()[index], index
        else:  # past the last point: only a failed run gets here, and it fails
            time, event = trial.start + recorded.failed.cost, -1
        heapq.heappush(self.events, (time, next(self.order), trial, event))

    def _report(self, trial: SimulatedTrial, index: int, now: float) -> None:
        result = {**self.replay.result(trial.run, index), DISTANCE: trial.distance, "training_iteration": index + 1,
                  "trial_id": trial.trial_id, "sim_time": now, "time_total_s": now - trial.start}
        decision = self.scheduler.on_trial_result(self.controller, trial, result)
        if decision != "STOP":
            self.searcher.on_trial_result(trial.trial_id, result)
        trial.reports.append(result)
        trial.last_result = result
        for hook in self.on_report:
            hook(trial, result)
        last = index == len(self.replay.curves.runs[trial.run].curve) - 1
        if decision == "STOP" or (last and self.replay.curves.runs[trial.run].failed is None):
            trial.status, trial.end = TERMINATED, now
            self.scheduler.on_trial_complete(self.controller, trial, result)
            self.searcher.on_trial_complete(trial.trial_id, result=result)
        else:
            self._schedule(trial, index=index + 1)

    def _fail(self, trial: SimulatedTrial, now: float) -> None:
        trial.status, trial.end = ERROR, now
        self.scheduler.on_trial_error(self.controller, trial)
        self.searcher.on_trial_complete(trial.trial_id, result=trial.last_result or None, error=True)
