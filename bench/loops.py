"""The trial loop the benchmarks run inside Ray Train workers: finesweep's own (``trainer.train_loop.train``
with ``RayReportCallback``) plus a step timer, and optionally without adapter checkpoints (M5's baseline)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from transformers import TrainerCallback


class StepTimer(TrainerCallback):
    """Wall-clock time of the first step's start and of every step's end, the torch threads and the tokens per
    step (padding excluded), written to ``path`` when training ends: the loop's own timing."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.first_step_begin: float | None = None
        self.step_ends: list[tuple[int, float]] = []
        self.tokens_per_step = 0.0

    def on_train_begin(self, args, state, control, train_dataloader=None, **kwargs):
        rows = train_dataloader.dataset if train_dataloader is not None else []
        lengths = [len(row["input_ids"]) for row in rows]
        self.tokens_per_step = args.per_device_train_batch_size * sum(lengths) / max(len(lengths), 1)

    def on_step_begin(self, args, state, control, **kwargs):
        if self.first_step_begin is None:
            self.first_step_begin = time.time()

    def on_step_end(self, args, state, control, **kwargs):
        self.step_ends.append((state.global_step, time.time()))

    def on_train_end(self, args, state, control, **kwargs):
        import torch

        peak = torch.cuda.max_memory_allocated() if torch.cuda.is_available() else None
        record = {"first_step_begin": self.first_step_begin, "step_ends": self.step_ends,
                  "threads": torch.get_num_threads(), "tokens_per_step": self.tokens_per_step,
                  "peak_gpu_bytes": peak}
        self.path.write_text(json.dumps(record))


def timed_loop(config: dict[str, Any], *, timer_path: str, checkpoints: bool = True) -> None:
    """``trainer.train_loop.train_loop`` plus a :class:`StepTimer`; ``checkpoints=False`` reports without the
    adapter checkpoint."""
    from trainer.report import RayReportCallback
    from trainer.train_loop import train

    spec = config["trial_spec"]
    report = RayReportCallback(metric=spec.search.metric, mode=spec.search.mode, params=config["params"],
                               checkpoints=checkpoints)
    train(spec, callbacks=[StepTimer(Path(timer_path)), report])


def loop_seconds(record: dict[str, Any], *, from_step: int) -> tuple[int, float]:
    """Steps and seconds from the end of step ``from_step`` to the end of the last step: the loop with its
    evaluations and reports, without start-up."""
    ends = dict(record["step_ends"])
    last = max(ends)
    return last - from_step, ends[last] - ends[from_step]
