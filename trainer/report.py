"""Reporting from the Hugging Face ``Trainer`` to Ray Train: metrics from every rank, a checkpoint from rank 0."""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
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
    from transformers import PreTrainedTokenizerBase, TrainerState

CHECKPOINT_PATH = "checkpoint_path"  # the metric TuneReportCallback adds to a report that has a checkpoint
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


def save_training_state(directory: str, *, state: TrainerState, optimizer: Any, lr_scheduler: Any,
                        with_optimizer: bool) -> None:
    """Write what the HF ``Trainer`` needs to go on from this step (``train(resume_from_checkpoint=...)``):
    its state (step, epoch, log), the learning-rate schedule and, ``with_optimizer``, the optimizer's moments."""
    import torch
    from transformers.trainer import OPTIMIZER_NAME, SCHEDULER_NAME, TRAINER_STATE_NAME

    state.save_to_json(str(Path(directory, TRAINER_STATE_NAME)))
    torch.save(lr_scheduler.state_dict(), Path(directory, SCHEDULER_NAME))
    if with_optimizer:
        torch.save(optimizer.state_dict(), Path(directory, OPTIMIZER_NAME))


@contextmanager
def restored_checkpoint() -> Iterator[tuple[Path, dict[str, Any], str] | None]:
    """The Train run's latest checkpoint as (local folder, its finesweep.json, its path in storage), when Ray
    restored one that a run can go on from: the run started again under the same name (a trial retried after
    a lost node or running out of memory, or resumed). None for a new run. Ray keeps the latest checkpoint
    whatever ``keep_checkpoints`` says, and every report of a trial carries one."""
    import ray.train
    from transformers.trainer import TRAINER_STATE_NAME

    checkpoint = ray.train.get_checkpoint()
    if checkpoint is None:
        yield None
        return
    with checkpoint.as_directory() as folder:
        resumable = Path(folder, TRAINER_STATE_NAME).is_file()
        info = json.loads(Path(folder, CHECKPOINT_INFO).read_text()) if resumable else None
        yield (Path(folder), info, checkpoint.path) if info else None


def report_again(reports: list[dict[str, Any]], *, checkpoint_path: str) -> None:
    """Report a restarted run's earlier reports again, before it trains on: Train registers a checkpoint before
    Tune's driver records its report, so a driver or node lost in between leaves reports only the checkpoint
    holds. Tune's record (sweeps.run.results_log), the study and W&B keep each report once. A report gets the
    path of its checkpoint if that is still kept next to ``checkpoint_path`` (the latest)."""
    import ray.train

    kept = {}
    if Path(checkpoint_path).parent.is_dir():  # storage this process can list (a local or mounted folder)
        for info_file in Path(checkpoint_path).parent.glob(f"checkpoint_*/{CHECKPOINT_INFO}"):
            with suppress(ValueError):  # a folder a full disk cut short: no report points at it
                kept[json.loads(info_file.read_text())["step"]] = str(info_file.parent)
    for report in reports:
        path = kept.get(report["step"])
        ray.train.report({**report, **({CHECKPOINT_PATH: path} if path else {})})


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
                 run_info: dict[str, Any] | None = None, resumed: dict[str, Any] | None = None,
                 examples_per_step: int = 1, startup_marks: dict[str, float] | None = None):
        self.metric = metric
        self.mode = mode
        self.params = params
        self.examples_per_step = examples_per_step  # the global batch: what scheduler.time_unit examples counts
        self.checkpoints = checkpoints  # False: metrics only (bench/m5_checkpoints.py prices the checkpoints)
        self.run_info = run_info or {}  # reported with every metric: how this run was started
        # Every report so far, kept in each checkpoint: a run going on from one (``resumed``: its finesweep.json)
        # reports them again first (Tune may not have recorded the last ones, see report_again) and counts on.
        self.history: list[dict[str, Any]] = list((resumed or {}).get("reports", []))
        self.best: float | None = (resumed or {}).get("metrics", {}).get(f"best_{metric}")
        # The trial's start-up marks so far (trainer.startup); None: report none (a loop outside a trial).
        self.startup_marks = startup_marks
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

    def on_evaluate(self, args, state, control, metrics=None, model=None, processing_class=None, optimizer=None,
                    lr_scheduler=None, **kwargs):
        import ray.train
        from peft import PeftModel

        check_finite("the eval loss", float(metrics["eval_loss"]), step=state.global_step)
        metrics = self._metrics(metrics, step=state.global_step, epoch=state.epoch)
        # The time units a scheduler may count in (scheduler.time_unit); Tune takes this report count as its own.
        metrics.update(progress=state.global_step / state.max_steps, training_iteration=len(self.history) + 1,
                       examples=state.global_step * self.examples_per_step)
        metrics.update(cost_metrics(state=state, model=model))  # for search.objectives and search.budget
        # Tune marks a scheduler-stopped trial `done` too; only the trainer knows training really ended.
        metrics["training_finished"] = state.global_step >= state.max_steps
        metrics.update(self.run_info)
        metrics["node_id"] = ray.get_runtime_context().get_node_id()  # where the trial ran, for results
        if self.startup_marks is not None:
            metrics[startup.STARTUP_KEY] = {**self.startup_marks, **startup.marks()}
        self.history.append(metrics)
        with tempfile.TemporaryDirectory() as checkpoint_dir:
            checkpoint = None
            writer = ray.train.get_context().get_world_rank() == 0
            if self.checkpoints:
                save_checkpoint(model, directory=checkpoint_dir, writer=writer, tokenizer=processing_class)
            if self.checkpoints and writer:
                # An adapter's optimizer moments are twice its few MB; a whole model's would triple its
                # checkpoints, so `full` and `freeze` go on from a checkpoint with fresh moments.
                save_training_state(checkpoint_dir, state=state, optimizer=optimizer, lr_scheduler=lr_scheduler,
                                    with_optimizer=isinstance(model, PeftModel))
                # What the folder holds, so a reader can tell a whole checkpoint from one a full disk cut short.
                files = {path.name: path.stat().st_size for path in Path(checkpoint_dir).iterdir()}
                info = {"step": state.global_step, "params": self.params, "metrics": metrics,
                        "reports": self.history, "files": files}
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
