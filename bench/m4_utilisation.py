"""M4 utilisation: busy worker-seconds ÷ available worker-seconds.

Real: a tiny sweep through the unmodified product path (TPE + ASHA, Tune trial → Ray Train worker), as many
concurrent trials as cores; busy = the sum of the trials' ``time_total_s`` (a trial's Train start-up counts as
busy), available = the sweep's wall time (Ray already up) × concurrent slots.
Simulated: the replayed sweeps of M2 (the default arm, DeBERTa, 24 trials), on their simulated clock
(bench/out/m2_search.json).

    python -m bench.m4_utilisation [--trials 6]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

from bench.common import OUT, TINY_SWEEP, fresh_dir, save, tiny_files

GOAL_REAL = 0.90
GOAL_SIMULATED = 0.97


def real_sweep(*, trials: int) -> dict[str, Any]:
    from sweeps.config.loading import load_spec
    from sweeps.run.runner import init_ray, run_sweep

    slots = os.cpu_count() or 1
    storage = fresh_dir("m4-real")
    spec = load_spec(TINY_SWEEP, [f"search.num_trials={trials}", f"search.max_concurrent_trials={slots}",
                                  "scheduler.name=asha", "search.algorithm=tpe", f"storage.path={storage}"])
    init_ray(None)  # Ray's own start-up is M1's figure, not a gap between trials
    started = time.monotonic()
    grid = run_sweep(spec)
    wall = time.monotonic() - started
    busy = sum(result.metrics.get("time_total_s", 0.0) for result in grid)
    return {"trials": len(grid), "slots": slots, "wall_s": wall, "busy_worker_s": busy,
            "utilisation": busy / (wall * slots),
            "stopped_early": sum(not result.metrics.get("training_finished", True) for result in grid)}


def simulated() -> dict[str, Any] | None:
    path = OUT / "m2_search.json"
    if not path.is_file():
        return None
    rows = json.loads(path.read_text())["rows"]
    return {row["concurrency"]: {"median": row["utilisation"]} for row in rows
            if row["arm"] == "default" and row["set"] == "deberta" and row["trials"] == 24}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=6)
    args = parser.parse_args()
    tiny_files()
    real = real_sweep(trials=args.trials)
    sim = simulated()
    met = None if sim is None else {concurrency: s["median"] >= GOAL_SIMULATED for concurrency, s in sim.items()}
    figures = {"real": real, "goal_real_met": real["utilisation"] >= GOAL_REAL, "simulated": sim,
               "goal_simulated_met": met}
    save("m4_utilisation", figures)
    print(f"real tiny sweep: {real['utilisation']:.2f} busy ({real['trials']} trials on {real['slots']} slots, "
          f"{real['wall_s']:.0f} s); simulated (median over M2 seeds): "
          + (", ".join(f"c={c} {s['median']:.2f}" for c, s in sim.items()) if sim else "run bench.m2_search first"))


if __name__ == "__main__":
    main()
