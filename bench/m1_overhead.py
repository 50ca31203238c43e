"""M1 overhead: the same Hugging Face training loop (tiny Llama, same data, seed and torch threads) run bare in
one process vs. as the trials of one finesweep sweep (Tune trial → Ray Train worker, reporting metrics and
adapter checkpoints at every evaluation; ``--trials`` trials one after another), each arm in a fresh process,
alternated and repeated.

Loop: steps/s from the loop's own timing (a TrainerCallback stamping every step's end) from the end of the
first evaluation's step to the last step, evaluations and reports included; each report's cost is split into
the evaluation, the adapter checkpoint's save, and Ray Train's report (sync across ranks, upload into the
sweep's storage, hand-off to the controller), timed on the worker. Start-up: bare, launching the process → the
first step; the sweep's first trial the same (Ray's start and the Tuner's included) and each phase since the
trial's launch; later trials from their own launch, as their results record it (``startup``).

    python -m bench.m1_overhead [--repeats 3] [--trials 3] [--steps 200]
"""

from __future__ import annotations

import argparse
import functools
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import OUT, TINY_SWEEP, fresh_dir, gpu_note, save, spread, tiny_files
from bench.loops import REPORT_PARTS, StepTimer, loop_seconds, step_seconds, timed_loop

GOAL_SLOWDOWN = 1.10
GOAL_LATER_STARTUP_S = 15.0


def tiny_spec(*, storage: Path, steps: int, overrides: tuple[str, ...] = ()):
    """The bench sweep with its storage in ``storage`` (a fresh folder: no data cache from an earlier run)."""
    from sweeps.config.loading import load_spec

    return load_spec(TINY_SWEEP, [f"storage.path={storage}", f"training.max_steps={steps}", *overrides])


def run_bare(*, out: Path, steps: int, marks: dict[str, float]) -> None:
    """The loop in this process, no Ray: what a user's own HF script would do (it prepares its data itself)."""
    import torch

    from trainer.train_loop import train

    spec = tiny_spec(storage=fresh_dir(f"m1-bare-{out.name}"), steps=steps)
    # A Ray Train worker with N CPUs runs torch on N threads; the bare loop gets the same.
    torch.set_num_threads(max(1, round(spec.resources.cpus_per_worker)))
    marks["imports_done"] = time.time()
    train(spec, callbacks=[StepTimer(out / "bare.json")])


def run_sweep_arm(*, out: Path, steps: int, trials: int, marks: dict[str, float]) -> None:
    """What ``finesweep run`` does (load the file, run the sweep: embedded Ray, Tune, one Train worker per
    trial, ``trials`` trials one at a time), with the step timer added to each trial's loop. W&B offline, the
    user default."""
    from ray import tune

    from sweeps.config.space import effective_space
    from sweeps.run.runner import init_ray, run_sweep
    from trainer.trainable import run_trial

    spec = tiny_spec(storage=fresh_dir(f"m1-sweep-{out.name}"), steps=steps,
                     overrides=(f"search.num_trials={trials}", "tracking.wandb.mode=offline"))
    marks["imports_done"] = time.time()
    init_ray(None)
    marks["ray_ready"] = time.time()
    loop = functools.partial(timed_loop, timer_path=str(out / "{run}.json"))
    run_sweep(spec, trainable=tune.with_parameters(run_trial, spec=spec, searched=tuple(effective_space(spec)),
                                                   loop=loop))
    (out / "sweep_dir").write_text(spec.sweep_dir)


def loop_figures(record: dict[str, Any], *, every: int) -> dict[str, Any]:
    """Steps/s, tokens/s, median plain and report steps, and each report part's median seconds of one loop."""
    steps, seconds = loop_seconds(record, from_step=every)
    durations = step_seconds(record, every=every)
    parts = {"eval": record["eval_seconds"], **record.get("report_parts", {})}
    return {"steps_per_s": steps / seconds, "tokens_per_s": steps * record["tokens_per_step"] / seconds,
            "plain_step_s": _median(durations["plain"]), "report_step_s": _median(durations["report"]),
            "report_parts_s": {part: _median(values) for part, values in parts.items()},
            "threads": record["threads"], "peak_gpu_bytes": record["peak_gpu_bytes"]}


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def measure(arm: str, *, index: int, trials: int, steps: int, every: int) -> dict[str, Any]:
    """Launch one arm in a fresh process and read back its timings."""
    out = OUT / "m1" / f"{arm}-{index}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    launched = time.time()
    completed = subprocess.run([sys.executable, "-m", "bench.m1_overhead", "--arm", arm, "--out", str(out),
                                "--trials", str(trials), "--steps", str(steps)],
                               capture_output=True, text=True, timeout=3600)
    if completed.returncode != 0:
        raise RuntimeError(f"{arm} run failed:\n{completed.stderr[-3000:]}")
    marks = json.loads((out / "marks.json").read_text())
    run = {"arm": arm, "phases_s": {name: mark - launched for name, mark in marks.items()}}
    if arm == "bare":
        record = json.loads((out / "bare.json").read_text())
        return {**run, **loop_figures(record, every=every), "startup_s": record["first_step_begin"] - launched}
    return {**run, "trials": sweep_trials(out, launched=launched, every=every)}


def sweep_trials(out: Path, *, launched: float, every: int) -> list[dict[str, Any]]:
    """Each trial of a sweep arm in launch order: its loop, its start-up phases (seconds since its launch,
    from its result) and, for the first, launch → first step from the command's launch."""
    from sweeps.config.loading import read_spec
    from sweeps.results.reading import trial_summaries

    sweep_dir = Path((out / "sweep_dir").read_text())
    summaries = {s.trial_id: s for s in trial_summaries(sweep_dir, read_spec(sweep_dir))}
    trials = []
    for trial_id, summary in summaries.items():
        record = json.loads((out / f"{trial_id}.json").read_text())
        trials.append({"trial_id": trial_id, **loop_figures(record, every=every), "startup": summary.startup,
                       "first_step_from_command_s": record["first_step_begin"] - launched})
    return sorted(trials, key=lambda trial: trial["first_step_from_command_s"])


def compare(*, repeats: int, trials: int, steps: int) -> dict[str, Any]:
    """Alternate the arms (bare first on even rounds, the sweep first on odd ones) so drifting load hits both."""
    every = tiny_spec(storage=OUT, steps=steps).training.eval_every_steps
    bare, swept = [], []
    for index in range(repeats):
        for arm in (("bare", "sweep") if index % 2 == 0 else ("sweep", "bare")):
            run = measure(arm, index=index, trials=trials, steps=steps, every=every)
            (bare if arm == "bare" else swept).append(run)
            print(f"{arm:5s} #{index}: " + (f"{run['steps_per_s']:.2f} steps/s, start-up {run['startup_s']:.1f} s"
                  if arm == "bare" else ", ".join(f"{t['steps_per_s']:.2f} steps/s first step "
                                                   f"{t['startup'].get('first_step', float('nan')):.1f} s"
                                                   for t in run["trials"])), flush=True)
    return summarise(bare, swept)


def summarise(bare: list[dict[str, Any]], swept: list[dict[str, Any]]) -> dict[str, Any]:
    """The figures: slowdown per repeat (bare ÷ the median of its sweep's trials), start-up of first and later
    trials, and the median plain step, report step and report parts of each arm."""
    trials = [run["trials"] for run in swept]
    later = [trial for runs in trials for trial in runs[1:]]
    later_first_steps = [trial["startup"]["first_step"] for trial in later if "first_step" in trial["startup"]]
    slowdowns = [b["steps_per_s"] / statistics.median(t["steps_per_s"] for t in runs)
                 for b, runs in zip(bare, trials, strict=True)]
    all_trials = [trial for runs in trials for trial in runs]
    figures = {
        "slowdown_in_loop": spread(slowdowns),
        "bare_steps_per_s": spread([r["steps_per_s"] for r in bare]),
        "trial_steps_per_s": spread([t["steps_per_s"] for t in all_trials]),
        "bare_startup_s": spread([r["startup_s"] for r in bare]),
        "first_trial_from_command_s": spread([runs[0]["first_step_from_command_s"] for runs in trials]),
        "first_trial_phases_s": _median_phases([runs[0] for runs in trials]),
        "later_trials_first_step_s": spread(later_first_steps) if later_first_steps else None,
        "later_trials_phases_s": _median_phases(later),
        "per_step_s": {arm: {kind: _median([r[kind] for r in runs if r[kind] is not None])
                             for kind in ("plain_step_s", "report_step_s")}
                       for arm, runs in (("bare", bare), ("trial", all_trials))},
        "report_parts_s": {arm: {part: _median([r["report_parts_s"][part] for r in runs
                                                if r["report_parts_s"].get(part) is not None])
                                 for part in ("eval", *(REPORT_PARTS if arm == "trial" else ()))}
                           for arm, runs in (("bare", bare), ("trial", all_trials))},
        "bare_runs": bare, "sweep_runs": swept,
    }
    figures["goal_loop_met"] = figures["slowdown_in_loop"]["median"] <= GOAL_SLOWDOWN
    figures["goal_later_startup_met"] = bool(later_first_steps) and (
        figures["later_trials_first_step_s"]["median"] <= GOAL_LATER_STARTUP_S)
    return figures


def _median_phases(trials: list[dict[str, Any]]) -> dict[str, float | None]:
    from trainer.startup import PHASES

    return {phase: _median([t["startup"][phase] for t in trials if phase in t["startup"]]) for phase in PHASES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--trials", type=int, default=3, help="trials per sweep, one at a time")
    parser.add_argument("--steps", type=int, default=200, help="training steps per run (a report every 20)")
    parser.add_argument("--arm", choices=("bare", "sweep"), help=argparse.SUPPRESS)  # one measured child run
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.arm:
        marks: dict[str, float] = {}
        if args.arm == "bare":
            run_bare(out=args.out, steps=args.steps, marks=marks)
        else:
            run_sweep_arm(out=args.out, steps=args.steps, trials=args.trials, marks=marks)
        (args.out / "marks.json").write_text(json.dumps(marks))
        return
    tiny_files()
    figures = compare(repeats=args.repeats, trials=args.trials, steps=args.steps)
    figures["gpu"] = gpu_note() or "peak GPU memory (LoRA) per run is in the runs' peak_gpu_bytes"
    save("m1_overhead", figures)
    print(report_text(figures))


def report_text(figures: dict[str, Any]) -> str:
    """What the run measured, in a few lines."""
    later = figures["later_trials_first_step_s"]
    parts = figures["report_parts_s"]
    return (f"in-loop slowdown {figures['slowdown_in_loop']['median']:.3f}x (goal <= {GOAL_SLOWDOWN}); per step, "
            f"bare vs trial: {json.dumps(figures['per_step_s'])}\n"
            f"per report (median s): bare {json.dumps(parts['bare'])}; trial {json.dumps(parts['trial'])}\n"
            f"start-up to first step: bare {figures['bare_startup_s']['median']:.1f} s; first trial "
            f"{figures['first_trial_from_command_s']['median']:.1f} s from the command; later trials "
            + (f"{later['median']:.1f} s from their launch" if later else "none (run with --trials 2 or more)")
            + f" (goal <= {GOAL_LATER_STARTUP_S:.0f} s)\nphases since launch: first {figures['first_trial_phases_s']}; "
            f"later {figures['later_trials_phases_s']}\n{figures['gpu']}")


if __name__ == "__main__":
    main()
