"""M3 bookkeeping: what Tune + Optuna + finesweep cost per trial, with near-zero trial work.

1. A replayed sweep of 1,000 trials, each reporting one point (opda runs cut to their first report), through
   the real runner with everything on (default TPE + ASHA, Optuna journal and Tune files on disk), vs. the
   same number of bare calls of the replay function. The driver's stack is sampled to say where the
   time goes.
2. Optuna alone, per trial (ask, suggest the space, report, tell): the sweep's JournalStorage file vs.
   InMemoryStorage, alternated and repeated, medians.

    python -m bench.m3_bookkeeping [--trials 1000] [--concurrency 1] [--repeats 3]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import pstats
import statistics
import sys
import threading
import time
from typing import Any
from unittest import mock

from bench.common import OPDA_SWEEP, fresh_dir, opda_curves, save, spread
from sweeps.run.curves import Curves, RecordedRun
from sweeps.run.replay import Replay, ReplayLedger, replay_spec, run_replay
from sweeps.run.runner import init_ray

GOAL_SWEEP_FACTOR = 1.10
GOAL_STORAGE_FACTOR = 3.0
# Where the driver's time goes: profile entries (file fragment, function) summed per component.
COMPONENTS = {
    "waiting on trial actors (ray.wait)": [("_private/worker.py", "wait")],
    "Optuna searcher (suggest, report, complete)": [("search/optuna/optuna_search.py", name) for name in
                                                    ("suggest", "on_trial_result", "on_trial_complete")],
    "Tune result files and callbacks": [("tune/callback.py", "on_trial_result"),
                                        ("tune/callback.py", "on_trial_complete")],
    "Tune experiment-state snapshots": [("tune/execution/experiment_state.py", "sync_up_experiment_state")],
    "actor start/stop/reuse": [("tune/execution/tune_controller.py", name) for name in
                               ("_schedule_trial_actor", "_maybe_reuse_cached_actor", "_schedule_trial_stop")],
}


def first_points(curves: Curves) -> Curves:
    """The same runs, each cut to its first report: trials of near-zero simulated time."""
    runs = [RecordedRun(params=run.params, curve=run.curve[:1]) for run in curves.runs]
    return curves.model_copy(update={"runs": runs})


class StackSampler:
    """Samples the main thread's stack every few ms from a side thread: which share of the sweep's wall time
    each component was on the stack (cProfile would slow the Tune driver itself several-fold)."""

    def __init__(self, *, interval_s: float = 0.005):
        self.interval_s = interval_s
        self.samples = 0
        self.hits = dict.fromkeys(COMPONENTS, 0)
        self._stop = threading.Event()
        self._main = threading.main_thread().ident
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> StackSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            frame = sys._current_frames().get(self._main)
            stack = set()
            while frame is not None:
                stack.add((frame.f_code.co_filename, frame.f_code.co_name))
                frame = frame.f_back
            self.samples += 1
            for component, functions in COMPONENTS.items():
                if any(path.endswith(fragment) and name == wanted
                       for path, name in stack for fragment, wanted in functions):
                    self.hits[component] += 1

    def shares(self) -> dict[str, float]:
        return {component: hits / max(self.samples, 1) for component, hits in self.hits.items()}


def sweep(curves: Curves, *, trials: int, concurrency: int) -> dict[str, Any]:
    storage = fresh_dir("m3-sweep")
    spec = replay_spec(spec_path=OPDA_SWEEP, curves=curves, overrides=[
        f"search.num_trials={trials}", f"search.max_concurrent_trials={concurrency}", f"storage.path={storage}"])
    ledger = ReplayLedger(spec.search.metric)
    init_ray(None)  # Ray's start-up is M1's; here only the sweep is timed
    started = time.perf_counter()
    with StackSampler() as sampler:
        run_replay(spec=spec, curves=curves, callbacks=[ledger], reuse_actors=True)
    return {"seconds": time.perf_counter() - started, "trials": len(ledger.runs), "components": sampler.shares(),
            # The bare calls query with the replayed runs' own configs: a lookup costs the same for any query.
            "queries": [curves.runs[number].params for number in ledger.runs.values()], "spec": spec}


def bare_calls(curves: Curves, *, queries: list[dict[str, Any]], spec: Any) -> float:
    """Seconds for the same trials as plain calls of the replay function: nearest run, then its reports."""
    from sweeps.config.space import effective_space

    replay = Replay(curves, space=effective_space(spec))
    started = time.perf_counter()
    for query in queries:
        for _ in replay.reports(query):
            pass
    return time.perf_counter() - started


def optuna_per_trial(*, space: dict, storage_kind: str, trials: int, path_dir) -> float:
    """Seconds per trial of ask → suggest every parameter → report one value → tell, as Ray's OptunaSearch
    does for a one-report trial. Random sampling, so that the storage's cost is what differs."""
    import optuna

    from search_spaces.optuna_space import define_by_run

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if storage_kind == "memory":
        storage = optuna.storages.InMemoryStorage()
    else:
        backend = optuna.storages.journal.JournalFileBackend(str(path_dir / f"{time.monotonic_ns()}.journal"))
        storage = optuna.storages.JournalStorage(backend)
    study = optuna.create_study(storage=storage, sampler=optuna.samplers.RandomSampler(seed=0), direction="maximize")
    suggest = define_by_run(space)
    # Diagnostic only: the journal without its fsync per write shows what durability costs.
    durable = contextlib.nullcontext() if storage_kind != "journal-no-fsync" else mock.patch("os.fsync")
    started = time.perf_counter()
    with durable:
        for _ in range(trials):
            trial = study.ask()
            suggest(trial)
            trial.report(0.5, step=1)
            study.tell(trial, 0.5)
    return (time.perf_counter() - started) / trials


def journal_profile(*, space: dict, trials: int, path_dir) -> dict[str, float]:
    """Share of the journal's time per trial in its system calls: fsync per write, and the lock file
    (symlink + unlink) every write takes."""
    profile = cProfile.Profile()
    profile.enable()
    optuna_per_trial(space=space, storage_kind="journal", trials=trials, path_dir=path_dir)
    profile.disable()
    stats = pstats.Stats(profile)
    calls = {name: entry[2] for (_, _, name), entry in stats.stats.items() if name.startswith("<built-in method posix")}
    return {"fsync": sum(t for name, t in calls.items() if "fsync" in name) / stats.total_tt,
            "lock file": sum(t for name, t in calls.items() if "symlink" in name or "unlink" in name) / stats.total_tt}


def storage_ratio(*, space: dict, trials: int, repeats: int) -> dict[str, Any]:
    folder = fresh_dir("m3-optuna")
    times: dict[str, list[float]] = {"journal": [], "memory": [], "journal-no-fsync": []}
    for _ in range(repeats):  # alternated, so drifting load hits both alike
        for kind in times:
            times[kind].append(optuna_per_trial(space=space, storage_kind=kind, trials=trials, path_dir=folder))
    ratios = [journal / memory for journal, memory in zip(times["journal"], times["memory"], strict=True)]
    return {"journal_s_per_trial": spread(times["journal"]), "memory_s_per_trial": spread(times["memory"]),
            "journal_no_fsync_s_per_trial": spread(times["journal-no-fsync"]),
            "journal_time_shares": journal_profile(space=space, trials=min(trials, 200), path_dir=folder),
            "ratio": spread(ratios), "goal_met": statistics.median(ratios) <= GOAL_STORAGE_FACTOR}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=1,
                        help="1: every trial reuses one actor; at 4 Tune also starts workers it then discards")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    curves = first_points(opda_curves())
    result = sweep(curves, trials=args.trials, concurrency=args.concurrency)
    bare = statistics.median(bare_calls(curves, queries=result["queries"], spec=result["spec"])
                             for _ in range(args.repeats))
    from sweeps.config.space import effective_space

    storage = storage_ratio(space=effective_space(result["spec"]), trials=args.trials, repeats=args.repeats)
    factor = result["seconds"] / bare
    figures = {
        "trials": result["trials"], "concurrency": args.concurrency, "sweep_seconds": result["seconds"],
        "bare_seconds": bare, "sweep_vs_bare": factor, "goal_met": factor <= GOAL_SWEEP_FACTOR,
        "overhead_ms_per_trial": 1000 * (result["seconds"] - bare) / result["trials"],
        "driver_time_shares": result["components"], "optuna_storage": storage,
    }
    save("m3_bookkeeping", figures)
    print(f"{result['trials']} trials: sweep {result['seconds']:.1f} s vs {bare * 1000:.1f} ms bare "
          f"({factor:,.0f}x; {figures['overhead_ms_per_trial']:.0f} ms per trial); "
          f"journal vs in-memory Optuna storage {storage['ratio']['median']:.2f}x")
    for component, share in result["components"].items():
        print(f"  {100 * share:5.1f} %  {component}")


if __name__ == "__main__":
    main()
