"""What each Ray Train worker runs for one trial: data, model, Hugging Face ``Trainer``, reports."""

from __future__ import annotations

import tempfile
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sweeps.spec import SweepSpec


def train_loop(config: dict[str, Any]) -> None:
    """Train one trial's spec (``config["trial_spec"]``) and report each evaluation to Ray."""
    from transformers import Trainer

    from trainer.data import clean_and_split, load_pairs, sft_collator, tokenize_sft
    from trainer.model import load_lora_model, load_tokenizer
    from trainer.report import RayReportCallback

    spec: SweepSpec = config["trial_spec"]
    tokenizer = load_tokenizer(spec.model)
    pairs = load_pairs(dataset=spec.dataset, base_dir=spec.dataset.path.parent)
    splits, _ = clean_and_split(pairs, dataset=spec.dataset)
    tokenized = tokenize_sft(splits, tokenizer=tokenizer, max_length=spec.dataset.max_length)
    model = load_lora_model(model=spec.model, method=spec.method,
                            gradient_checkpointing=spec.training.gradient_checkpointing)
    report = RayReportCallback(metric=spec.search.metric, mode=spec.search.mode, params=config["params"])
    with tempfile.TemporaryDirectory() as scratch_dir:
        trainer = Trainer(
            model=model,
            args=training_arguments(spec, output_dir=scratch_dir),
            train_dataset=tokenized["train"],
            eval_dataset=tokenized["eval"],
            data_collator=sft_collator(tokenizer),
            callbacks=[report],
        )
        trainer.train()


def training_arguments(spec: SweepSpec, *, output_dir: str):
    """HF ``TrainingArguments`` for a trial: evaluation on the report cadence, no HF-side saving or
    reporting (checkpoints and W&B are finesweep's, once per trial, not once per rank)."""
    from transformers import TrainingArguments

    training = spec.training
    return TrainingArguments(
        output_dir=output_dir,
        per_device_train_batch_size=training.batch_size,
        per_device_eval_batch_size=training.batch_size,
        learning_rate=training.learning_rate,
        num_train_epochs=training.epochs,
        max_steps=training.max_steps or -1,
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
