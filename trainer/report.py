"""Reporting from the Hugging Face ``Trainer`` to Ray Train: metrics from every rank, a checkpoint from rank 0."""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from transformers import TrainerCallback

from sweeps.core.layout import CHECKPOINT_INFO
from sweeps.core.values import better
from trainer import startup
from trainer.costs import cost_metrics
from trainer.fsdp import full_trainable_state

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedTokenizerBase

# What the HF Trainer adds to every evaluation's metrics about its speed: not a result of the model.
TRAINER_TIMINGS = frozenset({"eval_runtime", "eval_samples_per_second", "eval_steps_per_second",
                             "eval_model_preparation_time", "eval_jit_compilation_time"})


def save_checkpoint(model: torch.nn.Module, *, directory: str, writer: bool,
                    tokenizer: PreTrainedTokenizerBase | None = None) -> None:
    """Write what reloads ``model`` to ``directory`` if this rank is the ``writer``; every rank must call it.

    A PEFT model saves its adapter only (full tensors and adapter config, what ``PeftModel.from_pretrained``
    reads); the full tensors are gathered first, and gathering sharded weights is a collective that would
    hang with rank 0 alone; a sequence classifier's adapter comes with the model's config, which names its
    labels. A model without PEFT (``full``, ``freeze``) saves all its weights and
    ``tokenizer``, a folder ``AutoModelForCausalLM.from_pretrained`` loads on its own; such a model trains
    on one worker (sweeps.config.method_checks), so there is nothing to gather.
    """
    from peft import PeftModel

    if isinstance(model, PeftModel):
        state = full_trainable_state(model)
        if writer:
            model.save_pretrained(directory, state_dict=state)
            if model.peft_config[model.active_adapter].task_type == "SEQ_CLS":
                # The adapter does not say what its score head's outputs mean: the model config's id2label does.
                model.config.save_pretrained(directory)
    elif writer:
        model.save_pretrained(directory)
        if tokenizer is not None:
            tokenizer.save_pretrained(directory)


def last_reported_step() -> int:
    """The step of the Train run's latest checkpoint, which Ray restores when a run starts again under the
    same name (a trial retried after running out of memory, or resumed); 0 for a new run. Ray keeps the
    latest checkpoint whatever ``keep_checkpoints`` says, and every report of a trial carries one."""
    import ray.train

    checkpoint = ray.train.get_checkpoint()
    if checkpoint is None:
        return 0
    with checkpoint.as_directory() as checkpoint_dir:
        return int(json.loads(Path(checkpoint_dir, CHECKPOINT_INFO).read_text())["step"])


class NonFiniteLossError(RuntimeError):
    """A trial's loss became NaN or infinite: nothing it trains from there on means anything."""


def check_finite(name: str, value: float, *, step: int) -> None:
    """Raise :class:`NonFiniteLossError` if ``value`` (a loss) is NaN or infinite, which fails the trial."""
    if not math.isfinite(value):
        raise NonFiniteLossError(f"{name} became {value} at step {step}, so the trial stopped; a learning rate "
                                 f"too high for this model and data is the usual cause")


class RayReportCallback(TrainerCallback):
    """After each evaluation, report the task's metrics (eval_loss and each other ``eval_<name>`` as
    ``<name>``: perplexity, accuracy, ...) and the running best to Ray, with a checkpoint.

    ``ray.train.report`` is a collective in Train V2, so every rank calls it; only rank 0 passes a
    checkpoint, and for PEFT methods it holds only the adapter (a few MB), never the base model. Ray's stock
    ``RayTrainReportCallback`` copies a full checkpoint from every rank, which is why this one exists.
    """

    def __init__(self, *, metric: str, mode: str, params: dict[str, Any], checkpoints: bool = True,
                 run_info: dict[str, Any] | None = None, reported_through_step: int = 0, examples_per_step: int = 1,
                 startup_marks: dict[str, float] | None = None):
        self.metric = metric
        self.mode = mode
        self.params = params
        self.examples_per_step = examples_per_step  # the global batch: what scheduler.time_unit examples counts
        self.checkpoints = checkpoints  # False: metrics only (bench/m5_checkpoints.py prices the checkpoints)
        self.run_info = run_info or {}  # reported with every metric: how this run was started
        # A run started again (out of memory) trains from the start but reports only the steps after this.
        self.reported_through_step = reported_through_step
        # The trial's start-up marks so far (trainer.startup); None: report none (a loop outside a trial).
        self.startup_marks = startup_marks
        self.best: float | None = None
        self.train_loss: float | None = None  # the mean training loss of the steps since the last evaluation
        self.window_losses: list[float] = []

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "loss" in logs:
            check_finite("the training loss", float(logs["loss"]), step=state.global_step)
            self.window_losses.append(float(logs["loss"]))

    def on_step_begin(self, args, state, control, **kwargs):
        startup.mark("first_step")

    def on_step_end(self, args, state, control, **kwargs):
        # The last step always gets evaluated, so the end of training is never left unreported.
        if state.global_step == state.max_steps:
            control.should_evaluate = True
        if state.global_step <= self.reported_through_step:
            control.should_evaluate = False

    def on_evaluate(self, args, state, control, metrics=None, model=None, processing_class=None, **kwargs):
        import ray.train

        check_finite("the eval loss", float(metrics["eval_loss"]), step=state.global_step)
        metrics = self._metrics(metrics, step=state.global_step, epoch=state.epoch)
        # The time units a scheduler may count in (scheduler.time_unit), besides Tune's own report count.
        metrics.update(progress=state.global_step / state.max_steps,
                       examples=state.global_step * self.examples_per_step)
        metrics.update(cost_metrics(state=state, model=model))  # for search.objectives and search.budget
        # Tune marks a scheduler-stopped trial `done` too; only the trainer knows training really ended.
        metrics["training_finished"] = state.global_step >= state.max_steps
        metrics.update(self.run_info)
        metrics["node_id"] = ray.get_runtime_context().get_node_id()  # where the trial ran, for results
        if self.startup_marks is not None:
            metrics[startup.STARTUP_KEY] = {**self.startup_marks, **startup.marks()}
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
        # eval_loss keeps its name; every other eval_<name> (the task's compute_metrics, or a task callback
        # that ran before this one: perplexity, rouge_l) is reported as <name>, so search.metric can name it.
        metrics = {"eval_loss": float(eval_metrics["eval_loss"])}
        metrics.update({name.removeprefix("eval_"): float(value) for name, value in eval_metrics.items()
                        if name.startswith("eval_") and name != "eval_loss" and name not in TRAINER_TIMINGS})
        metrics.update(step=step, epoch=float(epoch or 0.0))
        if self.window_losses:
            self.train_loss, self.window_losses = sum(self.window_losses) / len(self.window_losses), []
        if self.train_loss is not None:
            metrics["train_loss"] = self.train_loss
        value = metrics[self.metric]
        self.best = value if better(value, self.best, mode=self.mode) else self.best
        metrics[f"best_{self.metric}"] = self.best
        return metrics
