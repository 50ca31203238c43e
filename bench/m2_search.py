"""M2 search efficiency: searcher + scheduler pairs replayed on opda's 1,024 real DeBERTa-base learning curves
(MultiNLI matched accuracy every 1,000 steps; Nicholas Lourie, CC BY-SA 4.0), through ``finesweep replay``'s
code: the real runner, Optuna searcher, ASHA scheduler and Tune bookkeeping, on a simulated clock.

For each method, concurrency and seed: simulated training steps spent (over all trials, in the order Tune
processed the reports) until the best-so-far is within 0.5 pp of the best accuracy in the file, and the
final regret. Also the simulated-clock utilisation M4 reports.

    python -m bench.m2_search [--seeds 20] [--trials 24] [--concurrency 1 4 16] [--minutes 9]
    python -m bench.m2_search --resume --seeds 20 --minutes 600   # add the seeds m2_runs.json lacks
    python -m bench.m2_search --resume --methods tpe+asha-grace4  # an extra arm beside the saved ones
"""

from __future__ import annotations

import argparse
import bisect
import heapq
import itertools
import json
import logging
import math
import os
import shutil
import statistics
import time
from typing import Any

from bench.common import FAST_STORAGE, OPDA_SWEEP, OUT, PLOTS, fresh_dir, opda_curves, save, spread
from sweeps.run.curves import Curves
from sweeps.run.replay import ReplayLedger, replay_spec, run_replay

METHODS = {  # label → (search.algorithm, scheduler.name, scheduler.grace_period); the first is the default
    "tpe+asha": ("tpe", "asha", 1),
    "random": ("random", "none", 1),
    "random+asha": ("random", "asha", 1),
    "tpe": ("tpe", "none", 1),
    # Not one of the four: ASHA judging a run after 4 reports instead of 1 (BENCHMARKS.md, M2).
    "tpe+asha-grace4": ("tpe", "asha", 4),
}
COMPARED = ("tpe+asha", "random", "random+asha", "tpe")  # the comparison: what make bench runs
RUNS_FILE = OUT / "m2_runs.json"
TARGET_GAP = 0.005  # 0.5 pp of accuracy
GOAL_BUDGET_FACTOR = 4


def sim_utilisation(ledger: ReplayLedger, *, slots: int) -> float:
    """Busy ÷ available slot-steps on the simulated clock, trials placed on the first free slot in the order
    Tune started them, each lasting the steps it trained."""
    trained = ledger.trained_steps()
    free_at = [0] * slots
    for trial in ledger.starts:
        heapq.heappush(free_at, heapq.heappop(free_at) + trained.get(trial, 0))
    return sum(trained.values()) / (max(free_at) * slots)


def replay_once(curves: Curves, *, method: str, concurrency: int, seed: int, trials: int) -> dict[str, Any]:
    algorithm, scheduler, grace_period = METHODS[method]
    storage = fresh_dir(f"m2-{method}-{concurrency}-{seed}", base=FAST_STORAGE)
    overrides = [f"search.algorithm={algorithm}", f"scheduler.name={scheduler}", f"search.seed={seed}",
                 f"scheduler.grace_period={grace_period}",
                 f"search.num_trials={trials}", f"search.max_concurrent_trials={concurrency}",
                 f"storage.path={storage}"]
    spec = replay_spec(spec_path=OPDA_SWEEP, overrides=overrides, curves=curves)
    ledger = ReplayLedger(spec.search.metric)
    started = time.monotonic()
    run_replay(spec=spec, curves=curves, callbacks=[ledger])
    shutil.rmtree(storage, ignore_errors=True)
    curve = ledger.budget_curve(mode="max")
    target = curves.best_value() - TARGET_GAP
    return {"method": method, "concurrency": concurrency, "seed": seed, "seconds": time.monotonic() - started,
            "budget_to_target": next((spent for spent, best in curve if best >= target), math.inf),
            "regret": curves.best_value() - curve[-1][1], "budget": curve[-1][0],
            "sim_utilisation": sim_utilisation(ledger, slots=concurrency), "curve": _steps_only(curve)}


def early_ranks(curves: Curves, *, reports: tuple[int, ...] = (1, 2, 4, 8)) -> dict[str, Any]:
    """The share of the runs that come within TARGET_GAP of the best which sit below the median of all runs at
    their k-th report: the good runs an ASHA rung k reports in (reduction factor 2) would stop."""
    target = curves.best_value() - TARGET_GAP
    good = [run.curve for run in curves.runs if max(value for _, value in run.curve) >= target]
    below = {}
    for k in reports:
        median = statistics.median(run.curve[k - 1][1] for run in curves.runs if len(run.curve) >= k)
        below[k] = sum(curve[k - 1][1] < median for curve in good if len(curve) >= k) / len(good)
    return {"runs": len(curves.runs), "runs_reaching_target": len(good), "below_median_at_report": below}


def summarise(runs: list[dict[str, Any]], *, concurrency: int) -> dict[str, Any]:
    rows = {}
    for method in METHODS:
        mine = [run for run in runs if run["method"] == method and run["concurrency"] == concurrency]
        if not mine:
            continue
        rows[method] = {key: spread([run[key] for run in mine])
                        for key in ("budget_to_target", "regret", "budget", "sim_utilisation")}
        rows[method]["reached"] = sum(math.isfinite(run["budget_to_target"]) for run in mine)
    if "tpe+asha" not in rows or "random" not in rows:
        return rows
    default, baseline = rows["tpe+asha"], rows["random"]
    factor = baseline["budget_to_target"]["median"] / default["budget_to_target"]["median"]
    rows["goal"] = {"budget_factor": factor, "budget_met": factor >= GOAL_BUDGET_FACTOR,
                    "regret_met": default["regret"]["median"] <= baseline["regret"]["median"]}
    return rows


def plot(runs: list[dict[str, Any]], *, concurrencies: list[int], best: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(concurrencies), figsize=(4.5 * len(concurrencies), 3.8), sharey=True,
                                squeeze=False)
    grid = [1000 * 2 ** (i / 4) for i in range(4 * 12)]  # 1,000 to 4M steps
    for axis, concurrency in zip(axes[0], concurrencies, strict=True):
        for method in METHODS:
            mine = [run["curve"] for run in runs if run["method"] == method and run["concurrency"] == concurrency]
            if not mine:
                continue
            bands = [spread([_regret_at(curve, budget, best) for curve in mine]) for budget in grid]
            line, = axis.plot(grid, [100 * b["median"] for b in bands], label=method)
            axis.fill_between(grid, [100 * b["q1"] for b in bands], [100 * b["q3"] for b in bands],
                              color=line.get_color(), alpha=0.15)
        axis.axhline(100 * TARGET_GAP, color="grey", linestyle=":", linewidth=1)
        axis.set(xscale="log", yscale="log", title=f"concurrency {concurrency}", xlabel="simulated steps spent")
    axes[0][0].set_ylabel("regret of best-so-far (pp)")
    axes[0][0].legend(fontsize=8)
    seeds = len({run["seed"] for run in runs})
    figure.suptitle(f"Replayed opda DeBERTa-base curves (data: N. Lourie, CC BY-SA 4.0)\nmedian and quartiles "
                    f"over {seeds} seeds; dotted: the 0.5 pp target", fontsize=9)
    figure.tight_layout()
    for folder in (OUT, PLOTS):
        folder.mkdir(parents=True, exist_ok=True)
        figure.savefig(folder / "m2_best_so_far.png", dpi=80)


def _regret_at(curve: list[tuple[int, float]], budget: float, best: float) -> float:
    # Before a run's first report nothing is found yet: the regret of "nothing" is the best value itself.
    # A run that reached the best has zero regret; 0.01 pp keeps it on the log axis.
    index = bisect.bisect_right(curve, budget, key=lambda point: point[0])
    return max(best - curve[index - 1][1], 1e-4) if index else best


def replay_seeds(curves: Curves, *, methods: list[str], concurrencies: list[int], seeds: int, trials: int,
                 minutes: float, saved: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ``saved`` runs plus every method and concurrency they lack, seed after seed, until ``seeds`` or the
    time budget is reached (a seed is always finished); all saved to RUNS_FILE after every seed, so a
    stopped run keeps what it did."""
    runs = list(saved)
    done = {(run["method"], run["concurrency"], run["seed"]) for run in saved}
    started = time.monotonic()
    for seed in range(seeds):
        if time.monotonic() - started > 60 * minutes:
            print(f"time budget of {minutes:g} min spent: stopped before seed {seed}", flush=True)
            break
        for concurrency, method in itertools.product(concurrencies, methods):
            if (method, concurrency, seed) in done:
                continue
            run = replay_once(curves, method=method, concurrency=concurrency, seed=seed, trials=trials)
            runs.append(run)
            print(f"{method:12s} c={concurrency:2d} seed={seed:2d}: to target {run['budget_to_target']:9.0f} "
                  f"steps, regret {100 * run['regret']:.2f} pp, {run['seconds']:.1f} s", flush=True)
        RUNS_FILE.write_text(json.dumps({"trials": trials, "runs": runs}))
    return runs


def _steps_only(curve: list[tuple[int, float]]) -> list[tuple[int, float]]:
    # The best-so-far is a step function: its changes and its end are all a plot needs.
    kept = [point for index, point in enumerate(curve) if index == 0 or point[1] != curve[index - 1][1]]
    return [*kept, curve[-1]] if kept[-1] != curve[-1] else kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--trials", type=int, default=24, help="trials per replayed sweep")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--methods", nargs="+", choices=list(METHODS), default=list(COMPARED))
    parser.add_argument("--minutes", type=float, default=9.0,
                        help="start no new seed after this many minutes (make bench gives 4: one seed)")
    parser.add_argument("--resume", action="store_true",
                        help="keep the runs bench/out/m2_runs.json holds and replay only what it lacks")
    parser.add_argument("--summarise-only", action="store_true",
                        help="only summarise and plot the runs bench/out/m2_runs.json holds")
    args = parser.parse_args()
    # Tune's per-result JSON/CSV/TensorBoard files are bookkeeping, which M3 prices; here they only slow
    # the sweeps down (the ledger keeps what M2 needs). Without them Tune's result reader logs one error per
    # trial at the end of every sweep, which would bury the progress lines.
    os.environ["TUNE_DISABLE_AUTO_CALLBACK_LOGGERS"] = "1"
    logging.getLogger("ray.tune.analysis.experiment_analysis").setLevel(logging.CRITICAL)
    curves = opda_curves()
    trials, runs = saved_runs(args, parser=parser)
    if not args.summarise_only:
        runs = replay_seeds(curves, methods=args.methods, concurrencies=args.concurrency, seeds=args.seeds,
                            trials=trials, minutes=args.minutes, saved=runs)
    runs = [run for run in runs if run["concurrency"] in args.concurrency]
    plot(runs, concurrencies=args.concurrency, best=curves.best_value())
    summary = {str(c): summarise(runs, concurrency=c) for c in args.concurrency}
    profile = early_ranks(curves)
    save("m2_search", {"trials_per_sweep": trials, "seeds": len({run["seed"] for run in runs}),
                       "best_in_file": curves.best_value(), "summary": summary, "early_ranks": profile,
                       "runs": [{k: v for k, v in run.items() if k != "curve"} for run in runs]})
    print_summary(summary, profile=profile)


def saved_runs(args: argparse.Namespace, *, parser: argparse.ArgumentParser) -> tuple[int, list[dict[str, Any]]]:
    """Trials per sweep and the runs to start from: RUNS_FILE's with --resume or --summarise-only, else none
    (the old file is moved aside: 20 seeds are hours of replay)."""
    resumed = (args.resume and RUNS_FILE.exists()) or args.summarise_only
    saved = json.loads(RUNS_FILE.read_text()) if resumed else {"runs": []}
    if not saved["runs"] and RUNS_FILE.exists():
        RUNS_FILE.replace(RUNS_FILE.with_name("m2_runs.previous.json"))
    trials = saved.get("trials", args.trials)
    if trials != args.trials and not args.summarise_only:
        parser.error(f"{RUNS_FILE} holds sweeps of {trials} trials, but --trials is {args.trials}")
    return trials, saved["runs"]


def print_summary(summary: dict[str, Any], *, profile: dict[str, Any]) -> None:
    for concurrency, rows in summary.items():
        for method, row in rows.items():
            if method != "goal":
                print(f"c={concurrency:>2} {method:16s} to target {row['budget_to_target']['median']:>9,.0f} steps "
                      f"({row['reached']} reached), regret {100 * row['regret']['median']:.2f} pp, "
                      f"{row['budget']['median']:>9,.0f} steps in all")
        if "goal" in rows:
            print(f"concurrency {concurrency}: default needs {rows['goal']['budget_factor']:.2f}x less budget than "
                  f"random search; regret no worse: {rows['goal']['regret_met']}")
    shares = ", ".join(f"{100 * share:.0f} % at report {k}" for k, share in profile["below_median_at_report"].items())
    print(f"{profile['runs_reaching_target']} of {profile['runs']} recorded runs come within the target; below the "
          f"median of all runs: {shares}")

if __name__ == "__main__":
    main()
