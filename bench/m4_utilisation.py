"""M4 utilisation: busy worker-seconds ÷ available worker-seconds.

Real: a tiny sweep through the unmodified product path (TPE + ASHA, Tune trial → Ray Train worker), as many
concurrent trials as cores; available = the sweep's wall time (Ray already up) × concurrent slots. Two kinds
of busy: slots held = the sum of the trials' ``time_total_s`` (start-up counts), and training = each trial's
time from its first step on (``time_total_s`` less its start-up, read from its result's ``startup`` phases).
Simulated: the replayed sweeps of M2 (the default arm, DeBERTa, 24 trials), on their simulated clock
(bench/out/m2_search.json).

    python -m bench.m4_utilisation [--trials 6] [--steps 200]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

from bench.common import OUT, TINY_SWEEP, fresh_dir, save, tiny_files

GOAL_REAL = 0.95
GOAL_SIMULATED = 0.97


def real_sweep(*, trials: int, steps: int) -> dict[str, Any]:
    from sweeps.config.loading import load_spec
    from sweeps.run.runner import init_ray, run_sweep

    slots = os.cpu_count() or 1
    storage = fresh_dir("m4-real")
    spec = load_spec(TINY_SWEEP, [f"search.num_trials={trials}", f"search.max_concurrent_trials={slots}",
                                  "scheduler.name=asha", "search.algorithm=tpe", f"storage.path={storage}",
                                  f"training.max_steps={steps}", "resources.cpus_per_worker=1"])
    init_ray(None)  # Ray's own start-up is M1's figure, not a gap between trials
    started = time.monotonic()
    grid = run_sweep(spec)
    wall = time.monotonic() - started
    held = sum(result.metrics.get("time_total_s", 0.0) for result in grid)
    training = sum(training_seconds(result.metrics) for result in grid)
    return {"trials": len(grid), "slots": slots, "wall_s": wall, "held_slot_s": held, "training_s": training,
            "utilisation": held / (wall * slots), "training_utilisation": training / (wall * slots),
            "startup_s": [result.metrics.get("startup") for result in grid],
            "stopped_early": sum(not result.metrics.get("training_finished", True) for result in grid)}


def training_seconds(metrics: dict[str, Any]) -> float:
    """A trial's time from its first step to its end: Tune's ``time_total_s`` runs from the trial function's
    start (the ``actor_start`` phase), so the phases between that and ``first_step`` come off."""
    phases = metrics.get("startup") or {}
    start_up = phases.get("first_step", 0.0) - phases.get("actor_start", 0.0)
    return max(metrics.get("time_total_s", 0.0) - start_up, 0.0)


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
    parser.add_argument("--steps", type=int, default=200, help="training steps per trial (a report every 20)")
    args = parser.parse_args()
    tiny_files()
    real = real_sweep(trials=args.trials, steps=args.steps)
    sim = simulated()
    met = None if sim is None else {concurrency: s["median"] >= GOAL_SIMULATED for concurrency, s in sim.items()}
    figures = {"real": real, "goal_real_met": real["utilisation"] >= GOAL_REAL, "simulated": sim,
               "goal_simulated_met": met}
    save("m4_utilisation", figures)
    print(f"real tiny sweep: slots held {real['utilisation']:.2f}, training {real['training_utilisation']:.2f} "
          f"({real['trials']} trials on {real['slots']} slots, {real['stopped_early']} stopped early, "
          f"{real['wall_s']:.0f} s); simulated (median over M2 seeds): "
          + (", ".join(f"c={c} {s['median']:.2f}" for c, s in sim.items()) if sim else "run bench.m2_search first"))


if __name__ == "__main__":
    main()
