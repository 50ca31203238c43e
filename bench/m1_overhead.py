"""M1 overhead: the same Hugging Face training loop (tiny Llama, same data, seed and torch threads) run bare in
one process vs. as one finesweep trial (Tune trial → Ray Train worker, reporting metrics and adapter
checkpoints at every evaluation), each in a fresh process, alternated and repeated.

Steps/s come from the loop's own timing (a TrainerCallback stamping every step's end), from the end of the
first evaluation's step to the last step, evaluations and reports included. Start-up is the time from
launching the process to the first step's start.

    python -m bench.m1_overhead [--repeats 3]
"""

from __future__ import annotations

import argparse
import functools
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import OUT, TINY_SWEEP, fresh_dir, gpu_note, save, spread, tiny_files
from bench.loops import StepTimer, loop_seconds, timed_loop

GOAL_SLOWDOWN = 1.05
GOAL_STARTUP_S = 15.0


def run_bare(*, timer_path: Path, marks: dict[str, float]) -> None:
    """The loop in this process, no Ray: what a user's own HF script would do."""
    import torch

    from sweeps.config.loading import load_spec
    from trainer.train_loop import train

    spec = load_spec(TINY_SWEEP)
    # A Ray Train worker with N CPUs runs torch on N threads; the bare loop gets the same.
    torch.set_num_threads(int(spec.resources.cpus_per_worker))
    marks["imports_done"] = time.time()
    train(spec, callbacks=[StepTimer(timer_path)])


def run_sweep_arm(*, timer_path: Path, marks: dict[str, float]) -> None:
    """What ``finesweep run`` does (load the file, run the sweep: embedded Ray, Tune, one Train worker), with
    the step timer added to the trial's loop. W&B stays at the user default, offline."""
    from ray import tune

    from sweeps.config.loading import load_spec
    from sweeps.config.space import effective_space
    from sweeps.run.runner import init_ray, run_sweep
    from trainer.trainable import run_trial

    storage = fresh_dir(f"m1-sweep-{timer_path.stem}")
    spec = load_spec(TINY_SWEEP, [f"storage.path={storage}", "tracking.wandb.mode=offline"])
    marks["imports_done"] = time.time()
    init_ray(None)
    marks["ray_ready"] = time.time()
    loop = functools.partial(timed_loop, timer_path=str(timer_path))
    trial = tune.with_parameters(run_trial, spec=spec, searched=tuple(effective_space(spec)), loop=loop)
    run_sweep(spec, trainable=trial)


def measure(arm: str, *, index: int) -> dict[str, Any]:
    """Launch one arm in a fresh process and read back its timings."""
    timer_path = OUT / "m1" / f"{arm}-{index}.json"
    timer_path.parent.mkdir(parents=True, exist_ok=True)
    timer_path.unlink(missing_ok=True)
    launched = time.time()
    completed = subprocess.run([sys.executable, "-m", "bench.m1_overhead", "--arm", arm, "--timer", str(timer_path)],
                               capture_output=True, text=True, timeout=1200)
    if completed.returncode != 0 or not timer_path.is_file():
        raise RuntimeError(f"{arm} run failed:\n{completed.stderr[-3000:]}")
    record = json.loads(timer_path.read_text())
    marks = json.loads(timer_path.with_suffix(".marks.json").read_text())
    steps, seconds = loop_seconds(record, from_step=_eval_every())
    return {"arm": arm, "steps_per_s": steps / seconds, "tokens_per_s": steps * record["tokens_per_step"] / seconds,
            "startup_s": record["first_step_begin"] - launched, "threads": record["threads"],
            "phases_s": {name: mark - launched for name, mark in marks.items()},
            "peak_gpu_bytes": record["peak_gpu_bytes"]}


@functools.cache
def _eval_every() -> int:
    from sweeps.config.loading import load_spec

    return load_spec(TINY_SWEEP).training.eval_every_steps


def compare(repeats: int) -> dict[str, Any]:
    """Alternate the arms (bare first on even rounds, the sweep first on odd ones) so drifting load hits both."""
    runs = []
    for index in range(repeats):
        for arm in (("bare", "sweep") if index % 2 == 0 else ("sweep", "bare")):
            runs.append(measure(arm, index=index))
            print(f"{arm:5s} #{index}: {runs[-1]['steps_per_s']:.2f} steps/s, start-up {runs[-1]['startup_s']:.1f} s",
                  flush=True)
    bare = [run for run in runs if run["arm"] == "bare"]
    swept = [run for run in runs if run["arm"] == "sweep"]
    slowdowns = [b["steps_per_s"] / s["steps_per_s"] for b, s in zip(bare, swept, strict=True)]
    figures = {
        "slowdown_in_loop": spread(slowdowns), "bare_steps_per_s": spread([r["steps_per_s"] for r in bare]),
        "sweep_steps_per_s": spread([r["steps_per_s"] for r in swept]),
        "bare_tokens_per_s": spread([r["tokens_per_s"] for r in bare]),
        "sweep_tokens_per_s": spread([r["tokens_per_s"] for r in swept]),
        "bare_startup_s": spread([r["startup_s"] for r in bare]),
        "sweep_startup_s": spread([r["startup_s"] for r in swept]), "runs": runs,
    }
    figures["goal_loop_met"] = figures["slowdown_in_loop"]["median"] <= GOAL_SLOWDOWN
    figures["goal_startup_met"] = figures["sweep_startup_s"]["median"] <= GOAL_STARTUP_S
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--arm", choices=("bare", "sweep"), help=argparse.SUPPRESS)  # one measured child run
    parser.add_argument("--timer", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.arm:
        marks: dict[str, float] = {}
        (run_bare if args.arm == "bare" else run_sweep_arm)(timer_path=args.timer.resolve(), marks=marks)
        args.timer.with_suffix(".marks.json").write_text(json.dumps(marks))
        return
    tiny_files()
    figures = compare(args.repeats)
    figures["gpu"] = gpu_note() or "peak GPU memory (LoRA) per run is in runs[].peak_gpu_bytes"
    save("m1_overhead", figures)
    print(f"in-loop slowdown {figures['slowdown_in_loop']['median']:.3f}x (goal <= {GOAL_SLOWDOWN}); start-up "
          f"{figures['sweep_startup_s']['median']:.1f} s as a trial vs {figures['bare_startup_s']['median']:.1f} s "
          f"bare (goal <= {GOAL_STARTUP_S:.0f} s); {figures['gpu']}")


if __name__ == "__main__":
    main()
