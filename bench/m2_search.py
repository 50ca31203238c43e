"""M2 search efficiency: searcher + scheduler arms (bench/m2_arms.py) replayed on opda's real learning curves
(DeBERTa-base and AlexNet; Nicholas Lourie, CC BY-SA 4.0) on the simulated clock, for every seed, concurrency and
sweep size: compute to the near-best target against random search without stopping, final regret, and the share
of seeds that end worse than random's by more than 0.2 pp. Also M4's simulated utilisation.

    python -m bench.m2_search                         # the full grid: 20 seeds, c = 1, 4, 16, 24 and 64 trials
    python -m bench.m2_search --seeds 2               # what make bench runs
    python -m bench.m2_search --summarise-only        # the tables and plots from bench/out/m2_runs.json
    python -m bench.m2_search --budget --front        # budgets and fronts instead (bench/m2_costs.py)
    python -m bench.m2_search --seeds 100 --concurrency 1 --label _c1 --arms random default ...  # apart from the grid
"""

from __future__ import annotations

import argparse
import bisect
import json
import logging
import math
import time
import warnings
from multiprocessing import Pool
from typing import Any

from bench.common import OUT, PLOTS, save, spread
from bench.m2_arms import ARMS, SETS, WARM_ARMS, replay_arm

REGRET_SLACK = 0.002  # a seed "loses to random" when its final regret is worse than random's by more than 0.2 pp


def _job(job: tuple[str, str, int, int, int]) -> dict[str, Any]:
    warnings.filterwarnings("ignore")
    logging.getLogger("optuna").setLevel(logging.ERROR)
    set_name, arm, trials, concurrency, seed = job
    return replay_arm(set_name=set_name, arm=arm, trials=trials, concurrency=concurrency, seed=seed)


def replay_grid(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every (set, arm, trials, concurrency, seed) of the grid, over ``--processes`` processes."""
    _ensure_curves()
    jobs = [(set_name, arm, trials, concurrency, seed) for set_name in args.sets for arm in args.arms
            for trials in args.trials for concurrency in args.concurrency for seed in range(args.seeds)]
    with Pool(args.processes) as pool:
        return pool.map(_job, jobs, chunksize=2)


def _ensure_curves() -> None:
    from sweeps.run.opda import convert_opda

    for curve_set in SETS.values():
        if not curve_set.curves_file.is_file():
            convert_opda(source=curve_set.source, target=curve_set.curves_file)


def summarise(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (set, trials, concurrency, arm): medians, and the factors and losses against the baseline."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for run in runs:
        groups.setdefault((run["set"], run["trials"], run["concurrency"], run["arm"]), []).append(run)
    rows = []
    for (set_name, trials, concurrency, arm), mine in sorted(groups.items()):
        baseline = groups.get((set_name, trials, concurrency, "half-random" if arm in WARM_ARMS else "random"), [])
        rows.append(_row(mine, baseline=baseline) | {"set": set_name, "trials": trials, "concurrency": concurrency,
                                                      "arm": arm})
    return rows


def _row(mine: list[dict[str, Any]], *, baseline: list[dict[str, Any]]) -> dict[str, Any]:
    budget = spread([run["budget_to_target"] for run in mine])["median"]
    base_budget = spread([run["budget_to_target"] for run in baseline])["median"] if baseline else math.nan
    base_regret = {run["seed"]: run["regret"] for run in baseline}
    losses = [run["regret"] - base_regret[run["seed"]] > REGRET_SLACK for run in mine if run["seed"] in base_regret]
    return {"seeds": len(mine), "reached": sum(math.isfinite(run["budget_to_target"]) for run in mine),
            "budget_factor": base_budget / budget if budget and math.isfinite(budget) else 0.0,
            "regret_pp": 100 * spread([run["regret"] for run in mine])["median"],
            "mean_regret_pp": 100 * sum(run["regret"] for run in mine) / len(mine),
            "loses_to_random": sum(losses) / len(losses) if losses else math.nan,
            "cost_factor": (spread([run["cost"] for run in baseline])["median"] /
                            spread([run["cost"] for run in mine])["median"]) if baseline else math.nan,
            "utilisation": spread([run["utilisation"] for run in mine])["median"],
            "seconds": sum(run["seconds"] for run in mine)}


def print_tables(rows: list[dict[str, Any]]) -> None:
    """Markdown, one table per curve set: the arms down, the (trials, concurrency) cells across."""
    for set_name in dict.fromkeys(row["set"] for row in rows):
        mine = [row for row in rows if row["set"] == set_name]
        cells = sorted({(row["trials"], row["concurrency"]) for row in mine})
        print(f"\n{SETS[set_name].label}: budget factor vs random (×) / median (mean) regret (pp) / seeds losing "
              "to random")
        print("| arm | " + " | ".join(f"{t} trials, c={c}" for t, c in cells) + " |")
        print("|---" * (len(cells) + 1) + "|")
        for arm in dict.fromkeys(row["arm"] for row in mine):
            by_cell = {(row["trials"], row["concurrency"]): row for row in mine if row["arm"] == arm}
            print(f"| {arm} | " + " | ".join(_cell(by_cell.get(cell)) for cell in cells) + " |")


def _cell(row: dict[str, Any] | None) -> str:
    if row is None:
        return "–"
    losing = "" if math.isnan(row["loses_to_random"]) else f" / {100 * row['loses_to_random']:.0f}%"
    return f"{row['budget_factor']:.2f}× / {row['regret_pp']:.2f} ({row['mean_regret_pp']:.2f}){losing}"


PLOTTED = ("random", "default", "random-share", "priors", "curve", "old-default")


def plot(runs: list[dict[str, Any]], *, trials: int) -> None:
    """Per set: median regret of the best-so-far against compute spent, one panel per concurrency."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sweeps.run.curves import read_curves

    for set_name, curve_set in SETS.items():
        mine = [run for run in runs if run["set"] == set_name and run["trials"] == trials]
        if not mine:
            continue
        curves = read_curves(curve_set.curves_file)
        best, unit = curves.best_value(), curves.header.cost_unit.replace("_", " ")
        concurrencies = sorted({run["concurrency"] for run in mine})
        figure, axes = plt.subplots(1, len(concurrencies), figsize=(4.5 * len(concurrencies), 3.8), squeeze=False)
        for axis, concurrency in zip(axes[0], concurrencies, strict=True):
            _panel(axis, [run for run in mine if run["concurrency"] == concurrency], best=best)
            axis.axhline(100 * curve_set.target_gap, color="grey", linestyle=":", linewidth=1)
            axis.set(xscale="log", yscale="log", title=f"c = {concurrency}", xlabel=f"compute spent ({unit})")
        axes[0][0].set_ylabel("regret of the best so far (pp)")
        axes[0][0].legend(fontsize=8)
        figure.suptitle(f"{curve_set.label}, {trials} trials: medians over "
                        f"{len({run['seed'] for run in mine})} seeds (data: N. Lourie, CC BY-SA 4.0)", fontsize=9)
        figure.tight_layout()
        PLOTS.mkdir(parents=True, exist_ok=True)
        figure.savefig(PLOTS / f"m2_{set_name}.png", dpi=80)


def _panel(axis: Any, runs: list[dict[str, Any]], *, best: float) -> None:
    budgets = sorted(spent for run in runs for spent, _ in run["curve"])
    grid = [budgets[0] * (budgets[-1] / budgets[0]) ** (i / 60) for i in range(61)]
    for arm in PLOTTED:
        curves = [run["curve"] for run in runs if run["arm"] == arm]
        if curves:
            medians = [spread([_regret_at(curve, spent, best) for curve in curves])["median"] for spent in grid]
            axis.plot(grid, [100 * value for value in medians], label=arm)


def _regret_at(curve: list[list[float]], budget: float, best: float) -> float:
    # Nothing found before the first report: "nothing" is as far as the best value itself. 0.01 pp keeps a run
    # that found the best on a log axis.
    index = bisect.bisect_right([spent for spent, _ in curve], budget)
    return max(best - curve[index - 1][1], 1e-4) if index else best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--trials", type=int, nargs="+", default=[24, 64])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--sets", nargs="+", choices=list(SETS), default=list(SETS))
    parser.add_argument("--arms", nargs="+", choices=list(ARMS), default=list(ARMS))
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--summarise-only", action="store_true", help="tables and plots of bench/out/m2_runs.json")
    parser.add_argument("--budget", action="store_true", help="instead of the arms: budget-capped sweeps against "
                        "trial-count sweeps of the same mean cost (bench/m2_costs.py)")
    parser.add_argument("--front", action="store_true", help="instead of the arms: the Pareto front's hypervolume "
                        "against random search at the same budget (bench/m2_costs.py)")
    parser.add_argument("--label", default="", help="a run apart from the grid: its results go to "
                        "bench/out/m2_runs<label>.json and m2_search<label>.json, and it draws no plots")
    args = parser.parse_args()
    started = time.monotonic()
    if args.budget or args.front:
        return costs(args, started=started)
    runs_file = OUT / f"m2_runs{args.label}.json"
    if args.summarise_only:  # the grid's own wall time, not this summary's
        grid = json.loads(runs_file.read_text())
    else:
        grid = {"runs": replay_grid(args), "minutes": (time.monotonic() - started) / 60}
        runs_file.write_text(json.dumps(grid))
    runs, minutes = grid["runs"], grid.get("minutes")
    rows = summarise(runs)
    if not args.label:
        plot(runs, trials=min(run["trials"] for run in runs))
    print_tables(rows)
    save(f"m2_search{args.label}", {"seeds": args.seeds, "rows": rows, "minutes": minutes})
    print(f"\n{len(runs)} replayed sweeps in " + (f"{minutes:.1f} min" if minutes else "an unrecorded time"))


def costs(args: argparse.Namespace, *, started: float) -> None:
    from bench.m2_costs import print_costs, run_costs

    _ensure_curves()
    with Pool(args.processes) as pool:
        results = run_costs(seeds=args.seeds, sets=args.sets, front=args.front, budget=args.budget, pool=pool)
    print_costs(results)
    minutes = (time.monotonic() - started) / 60
    save("m2_costs", {"seeds": args.seeds, **results, "minutes": minutes}, module="m2_search")
    print(f"\n{minutes:.1f} min")


if __name__ == "__main__":
    main()
