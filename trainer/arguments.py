"""A trial's Hugging Face ``TrainingArguments``: the batch split over workers and micro-batches, the
optimizer and schedule, evaluation on the report cadence. Shared by every task's Trainer builder."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from transformers import TrainingArguments

    from sweeps.spec import SweepSpec

# training.optimizer → the HF `optim` name: torch's own implementations, nothing fused or 8-bit.
HF_OPTIMIZERS = {"adamw": "adamw_torch", "sgd": "sgd"}


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
        optim_args=f"momentum={training.momentum}" if training.optimizer == "sgd" and training.momentum else None,
        label_smoothing_factor=training.label_smoothing,
        warmup_steps=training.warmup_ratio,  # transformers 5 reads a value below 1 as a ratio
        lr_scheduler_type=training.lr_scheduler,
        max_grad_norm=training.max_grad_norm,
        eval_strategy="steps",
        eval_steps=training.eval_every_steps,
        # Every step's loss reaches the report callback, unfiltered: a NaN or infinite loss fails the trial at
        # once (trainer.report), instead of being averaged away (HF's filter) or trained on to the next report.
        logging_steps=1,
        logging_nan_inf_filter=False,
        save_strategy="no",
        report_to="none",
        use_cpu=not spec.resources.use_gpu,
        seed=training.seed,
        disable_tqdm=True,
        include_num_input_tokens_seen="non_padding",  # train_tokens: a cost objective and budget unit
        remove_unused_columns=False,
        **task_args,
    )
