"""Reporting from the Hugging Face ``Trainer`` to Ray Train: metrics from every rank, a checkpoint from rank 0."""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from transformers import TrainerCallback

from trainer.fsdp import full_trainable_state

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedTokenizerBase

# The file inside each checkpoint that says what produced it, for `best`, `export` and humans.
CHECKPOINT_INFO = "finesweep.json"


def save_checkpoint(model: torch.nn.Module, *, directory: str, writer: bool,
                    tokenizer: PreTrainedTokenizerBase | None = None) -> None:
    """Write what reloads ``model`` to ``directory`` if this rank is the ``writer``; every rank must call it.

    A PEFT model saves its adapter only (full tensors and adapter config, what ``PeftModel.from_pretrained``
    reads); the full tensors are gathered first, and gathering sharded weights is a collective that would
    hang with rank 0 alone. A model without PEFT (``full``, ``freeze``) saves all its weights and
    ``tokenizer``, a folder ``AutoModelForCausalLM.from_pretrained`` loads on its own; such a model trains
    on one worker (sweeps.method_checks), so there is nothing to gather.
    """
    from peft import PeftModel

    if isinstance(model, PeftModel):
        state = full_trainable_state(model)
        if writer:
            model.save_pretrained(directory, state_dict=state)
    elif writer:
        model.save_pretrained(directory)
        if tokenizer is not None:
            tokenizer.save_pretrained(directory)


class RayReportCallback(TrainerCallback):
    """After each evaluation, report eval_loss, perplexity and the running best to Ray, with a checkpoint.

    ``ray.train.report`` is a collective in Train V2, so every rank calls it; only rank 0 passes a
    checkpoint, and for PEFT methods it holds only the adapter (a few MB), never the base model. Ray's stock
    ``RayTrainReportCallback`` copies a full checkpoint from every rank, which is why this one exists.
    """

    def __init__(self, *, metric: str, mode: str, params: dict[str, Any], checkpoints: bool = True):
        self.metric = metric
        self.mode = mode
        self.params = params
        self.checkpoints = checkpoints  # False: metrics only (bench/m5_checkpoints.py prices the checkpoints)
        self.best: float | None = None
        self.train_loss: float | None = None

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "loss" in logs:
            self.train_loss = float(logs["loss"])

    def on_step_end(self, args, state, control, **kwargs):
        # The last step always gets evaluated, so the end of training is never left unreported.
        if state.global_step == state.max_steps:
            control.should_evaluate = True

    def on_evaluate(self, args, state, control, metrics=None, model=None, processing_class=None, **kwargs):
        import ray.train

        metrics = self._metrics(metrics, step=state.global_step, epoch=state.epoch)
        # Tune marks a scheduler-stopped trial `done` too; only the trainer knows training really ended.
        metrics["training_finished"] = state.global_step >= state.max_steps
        metrics["node_id"] = ray.get_runtime_context().get_node_id()  # where the trial ran, for results
        with tempfile.TemporaryDirectory() as checkpoint_dir:
            checkpoint = None
            writer = ray.train.get_context().get_world_rank() == 0
            if self.checkpoints:
                save_checkpoint(model, directory=checkpoint_dir, writer=writer, tokenizer=processing_class)
            if self.checkpoints and writer:
                info = {"step": state.global_step, "params": self.params, "metrics": metrics}
                Path(checkpoint_dir, CHECKPOINT_INFO).write_text(json.dumps(info, indent=2))
                checkpoint = ray.train.Checkpoint.from_directory(checkpoint_dir)
            ray.train.report(metrics, checkpoint=checkpoint)

    def _metrics(self, eval_metrics: dict[str, float], *, step: int, epoch: float | None) -> dict[str, float]:
        eval_loss = float(eval_metrics["eval_loss"])
        # exp overflows past ~709; a capped perplexity still ranks diverged trials last.
        metrics = {"eval_loss": eval_loss, "perplexity": math.exp(min(eval_loss, 50.0)), "step": step,
                   "epoch": float(epoch or 0.0)}
        if self.train_loss is not None:
            metrics["train_loss"] = self.train_loss
        value = metrics[self.metric]
        better = self.best is None or (value < self.best if self.mode == "min" else value > self.best)
        self.best = value if better else self.best
        metrics[f"best_{self.metric}"] = self.best
        return metrics
