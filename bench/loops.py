"""The trial loop the benchmarks run inside Ray Train workers: finesweep's own (``trainer.train_loop.train_loop``)
plus a step timer that also prices each report's parts, and optionally without adapter checkpoints (M5's
baseline)."""

from __future__ import annotations

import functools
import itertools
import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

# What a report costs in a trial, each timed where it runs on the worker: the adapter checkpoint written to a
# temporary folder (trainer.report), then Ray Train's report: rank-0's checkpoint folder name agreed across
# ranks (an actor call), the checkpoint copied into the sweep's storage, and the result handed to the
# controller (waits while the controller has not yet taken the previous one).
TRAIN_CONTEXT = ("ray.train.v2._internal.execution.context", "TrainContext")
REPORT_PARTS = {
    "checkpoint_save": ("trainer.report", None, "save_checkpoint"),
    "report_sync": (*TRAIN_CONTEXT, "_sync_checkpoint_dir_name_across_ranks"),
    "report_upload": (*TRAIN_CONTEXT, "_upload_checkpoint"),
    "report_handoff": (*TRAIN_CONTEXT, "_wait_then_report"),
}


class StepTimer(TrainerCallback):
    """Wall-clock time of the first step's start and of every step's end, each evaluation's own time, the torch
    threads and the tokens per step (padding excluded), written to ``path`` when training ends: the loop's own
    timing. With ``report_parts`` it also times the parts of each report (:data:`REPORT_PARTS`)."""

    def __init__(self, path: Path, *, report_parts: bool = False):
        self.path = Path(path)
        self.first_step_begin: float | None = None
        self.step_ends: list[tuple[int, float]] = []
        self.eval_seconds: list[float] = []
        self.parts: dict[str, list[float]] = defaultdict(list)
        self.tokens_per_step = 0.0
        if report_parts:
            for part, (module, owner, name) in REPORT_PARTS.items():
                _time_calls(module, owner, name, into=self.parts[part])

    def on_train_begin(self, args, state, control, train_dataloader=None, **kwargs):
        rows = train_dataloader.dataset if train_dataloader is not None else []
        lengths = [len(row["input_ids"]) for row in rows]
        self.tokens_per_step = args.per_device_train_batch_size * sum(lengths) / max(len(lengths), 1)

    def on_step_begin(self, args, state, control, **kwargs):
        if self.first_step_begin is None:
            self.first_step_begin = time.time()

    def on_step_end(self, args, state, control, **kwargs):
        self.step_ends.append((state.global_step, time.time()))

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        self.eval_seconds.append(float(metrics.get("eval_runtime", 0.0)))

    def on_train_end(self, args, state, control, **kwargs):
        import torch

        peak = torch.cuda.max_memory_allocated() if torch.cuda.is_available() else None
        record = {"first_step_begin": self.first_step_begin, "step_ends": self.step_ends,
                  "eval_seconds": self.eval_seconds, "report_parts": dict(self.parts),
                  "threads": torch.get_num_threads(), "tokens_per_step": self.tokens_per_step,
                  "peak_gpu_bytes": peak}
        self.path.write_text(json.dumps(record))


def _time_calls(module: str, owner: str | None, name: str, *, into: list[float]) -> None:
    """Replace ``module.owner.name`` (``owner`` None: a module function) in this process by a wrapper that
    appends each call's seconds to ``into``."""
    import importlib

    target = importlib.import_module(module)
    target = getattr(target, owner) if owner else target
    original = getattr(target, name)

    @functools.wraps(original)
    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            into.append(time.perf_counter() - started)

    setattr(target, name, timed)


def timed_loop(config: dict[str, Any], *, timer_path: str, checkpoints: bool = True) -> None:
    """``trainer.train_loop.train_loop`` plus a :class:`StepTimer` pricing each report; ``timer_path`` may name
    the Train run (``{run}``: the trial id), so each trial of a sweep writes its own; ``checkpoints=False``
    reports without the adapter checkpoint."""
    import ray.train

    from trainer.train_loop import train_loop

    path = Path(timer_path.format(run=ray.train.get_context().get_experiment_name()))
    train_loop(config, callbacks=[StepTimer(path, report_parts=True)], checkpoints=checkpoints)


def loop_seconds(record: dict[str, Any], *, from_step: int) -> tuple[int, float]:
    """Steps and seconds from the end of step ``from_step`` to the end of the last step: the loop with its
    evaluations and reports, without start-up."""
    ends = dict(record["step_ends"])
    last = max(ends)
    return last - from_step, ends[last] - ends[from_step]


def step_seconds(record: dict[str, Any], *, every: int) -> dict[str, list[float]]:
    """Each step's seconds (end to end) after the first evaluation, split into plain steps and steps that
    follow an evaluation and report (the Trainer evaluates after a step's end callbacks, so the time lands in
    the next step)."""
    ends = record["step_ends"]
    durations: dict[str, list[float]] = {"plain": [], "report": []}
    for (_, previous), (step, end) in itertools.pairwise(ends):
        if step > every + 1:
            durations["report" if (step - 1) % every == 0 else "plain"].append(end - previous)
    return durations
