"""What each Ray Train worker runs for one trial: data, model, Hugging Face ``Trainer``, reports."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from transformers import Trainer, TrainerCallback

    from sweeps.spec import SweepSpec

# training.optimizer → the HF `optim` name: torch's own implementations, nothing fused or 8-bit.
HF_OPTIMIZERS = {"adamw": "adamw_torch", "sgd": "sgd"}


def train_loop(config: dict[str, Any]) -> None:
    """Train one trial's spec (``config["trial_spec"]``) and report each evaluation to Ray."""
    from trainer.report import RayReportCallback

    spec: SweepSpec = config["trial_spec"]
    report = RayReportCallback(metric=spec.search.metric, mode=spec.search.mode, params=config["params"])
    train(spec, callbacks=[report])


def train(spec: SweepSpec, *, callbacks: Sequence[TrainerCallback]) -> None:
    """Load the data and model of ``spec`` and run the Hugging Face ``Trainer`` with ``callbacks``; no Ray
    needed (bench/m1_overhead.py runs it bare, to price what the sweep adds)."""
    with tempfile.TemporaryDirectory() as scratch_dir:
        build_trainer(spec, output_dir=scratch_dir, callbacks=callbacks).train()


def build_trainer(spec: SweepSpec, *, output_dir: str, callbacks: Sequence[TrainerCallback] = ()) -> Trainer:
    """The Hugging Face ``Trainer`` of one trial on this process, data and model loaded. With
    ``resources.workers`` > 1 every rank of an initialised process group calls it (Ray Train's workers, or
    a test's processes) and the base model is FSDP2-sharded over them (see :mod:`trainer.fsdp`)."""
    from transformers import Trainer

    from trainer.data import clean_and_split, load_pairs, sft_collator, tokenize_sft
    from trainer.methods import method_callbacks, training_steps
    from trainer.model import load_model, load_tokenizer

    tokenizer = load_tokenizer(spec.model)
    pairs = load_pairs(dataset=spec.dataset, base_dir=spec.dataset.path.parent)
    splits, _ = clean_and_split(pairs, dataset=spec.dataset)
    tokenized = tokenize_sft(splits, tokenizer=tokenizer, max_length=spec.dataset.max_length)
    model = load_model(model=spec.model, method=spec.method,
                       gradient_checkpointing=spec.training.gradient_checkpointing,
                       workers=spec.resources.workers, seed=spec.training.seed,
                       total_steps=training_steps(spec, train_examples=len(tokenized["train"])))
    return Trainer(
        model=model,
        args=training_arguments(spec, output_dir=output_dir),
        train_dataset=tokenized["train"],
        eval_dataset=tokenized["eval"],
        data_collator=sft_collator(tokenizer),
        # Given so that callbacks get it: a full-model checkpoint carries its tokenizer (trainer.report).
        processing_class=tokenizer,
        callbacks=[*method_callbacks(spec.method), *callbacks],
    )


def per_device_batch_size(spec: SweepSpec) -> int:
    """``training.batch_size`` is the global batch of one optimizer step, split evenly over the workers, so
    1 and N workers train on the same batches."""
    batch_size, workers = spec.training.batch_size, spec.resources.workers
    if batch_size % workers:
        raise ValueError(f"training.batch_size ({batch_size}) must be a multiple of resources.workers ({workers})")
    return batch_size // workers


def training_arguments(spec: SweepSpec, *, output_dir: str):
    """HF ``TrainingArguments`` for a trial: evaluation on the report cadence, no HF-side saving or
    reporting (checkpoints and W&B are finesweep's, once per trial, not once per rank)."""
    from transformers import TrainingArguments

    training = spec.training
    return TrainingArguments(
        output_dir=output_dir,
        per_device_train_batch_size=per_device_batch_size(spec),
        per_device_eval_batch_size=per_device_batch_size(spec),
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
    )
