"""What each Ray Train worker runs for one trial: data, model, Hugging Face ``Trainer``, reports."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from transformers import Trainer, TrainerCallback, TrainingArguments

    from sweeps.spec import SweepSpec

# training.optimizer → the HF `optim` name: torch's own implementations, nothing fused or 8-bit.
HF_OPTIMIZERS = {"adamw": "adamw_torch", "sgd": "sgd"}


def train_loop(config: dict[str, Any]) -> None:
    """Train one trial's spec (``config["trial_spec"]``) and report each evaluation to Ray."""
    train(config["trial_spec"], callbacks=[report_callback(config)])


def report_callback(config: dict[str, Any]) -> TrainerCallback:
    """The callback that reports a Train run's evaluations (and its micro-batching) to Ray."""
    from trainer.report import RayReportCallback, last_reported_step

    spec: SweepSpec = config["trial_spec"]
    micro_batch, accumulation_steps = micro_batching(spec)
    run_info = {"oom_retries": config.get("oom_retries", 0), "micro_batch_size": micro_batch,
                "gradient_accumulation_steps": accumulation_steps}
    # Only a retry inside the same Tune trial has already told Tune the earlier steps; a resumed trial starts
    # Tune's record of it afresh, so it reports every step again.
    reported = last_reported_step() if run_info["oom_retries"] else 0
    return RayReportCallback(metric=spec.search.metric, mode=spec.search.mode, params=config["params"],
                             run_info=run_info, reported_through_step=reported)


def train(spec: SweepSpec, *, callbacks: Sequence[TrainerCallback]) -> None:
    """Load the data and model of ``spec`` and run the Hugging Face ``Trainer`` with ``callbacks``; no Ray
    needed (bench/m1_overhead.py runs it bare, to price what the sweep adds)."""
    with tempfile.TemporaryDirectory() as scratch_dir:
        build_trainer(spec, output_dir=scratch_dir, callbacks=callbacks).train()


def build_trainer(spec: SweepSpec, *, output_dir: str, callbacks: Sequence[TrainerCallback] = ()) -> Trainer:
    """The Hugging Face ``Trainer`` of one trial on this process, data and model loaded, built by the
    ``spec.task.type``'s builder (:data:`trainer.tasks.TASK_BUILDERS`). With ``resources.workers`` > 1 every
    rank of an initialised process group calls it (Ray Train's workers, or a test's processes) and the base
    model is FSDP2-sharded over them (see :mod:`trainer.fsdp`)."""
    from trainer.tasks import TASK_BUILDERS

    return TASK_BUILDERS[spec.task.type](spec, output_dir=output_dir, callbacks=callbacks)


def per_device_batch_size(spec: SweepSpec) -> int:
    """``training.batch_size`` is the global batch of one optimizer step, split evenly over the workers, so
    1 and N workers train on the same batches."""
    batch_size, workers = spec.training.batch_size, spec.resources.workers
    if batch_size % workers:
        raise ValueError(f"training.batch_size ({batch_size}) must be a multiple of resources.workers ({workers})")
    return batch_size // workers


def micro_batching(spec: SweepSpec) -> tuple[int, int]:
    """(micro-batch, gradient accumulation steps) of each worker: the largest divisor of its share of the
    batch that ``training.micro_batch_size`` allows, and how many of them make up the share."""
    share = per_device_batch_size(spec)
    cap = min(spec.training.micro_batch_size or share, share)
    micro = max(size for size in range(1, cap + 1) if share % size == 0)
    return micro, share // micro


def training_arguments(spec: SweepSpec, *, output_dir: str, args_class: type[TrainingArguments] | None = None,
                       **task_args: Any) -> TrainingArguments:
    """HF ``TrainingArguments`` for a trial: evaluation on the report cadence, no HF-side saving or
    reporting (checkpoints and W&B are finesweep's, once per trial, not once per rank). ``args_class``, a
    subclass such as TRL's ``DPOConfig``, is built from the same values and its own ``task_args`` instead."""
    from transformers import TrainingArguments

    training = spec.training
    micro_batch, accumulation_steps = micro_batching(spec)
    return (args_class or TrainingArguments)(
        output_dir=output_dir,
        per_device_train_batch_size=micro_batch,
        gradient_accumulation_steps=accumulation_steps,
        per_device_eval_batch_size=micro_batch,
        learning_rate=training.learning_rate,
        num_train_epochs=training.epochs,
        max_steps=training.max_steps or -1,
        optim=HF_OPTIMIZERS[training.optimizer],
        weight_decay=training.weight_decay,
        warmup_steps=training.warmup_ratio,  # transformers 5 reads a value below 1 as a ratio
        lr_scheduler_type=training.lr_scheduler,
        max_grad_norm=training.max_grad_norm,
        eval_strategy="steps",
        eval_steps=training.eval_every_steps,
        logging_steps=training.eval_every_steps,
        save_strategy="no",
        report_to="none",
        use_cpu=not spec.resources.use_gpu,
        seed=training.seed,
        disable_tqdm=True,
        remove_unused_columns=False,
        **task_args,
    )
