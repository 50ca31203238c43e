"""The ``causal_lm`` task: supervised fine-tuning of a causal LM on prompt → response pairs."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from transformers import Trainer, TrainerCallback

from trainer import startup
from trainer.arguments import training_arguments

if TYPE_CHECKING:
    from datasets import Dataset, DatasetDict
    from transformers import PreTrainedTokenizerBase

    from sweeps.spec import SweepSpec


class Perplexity(TrainerCallback):
    """Adds ``eval_perplexity`` (exp of eval_loss) to each evaluation's metrics, for the callbacks after it
    (the report to Ray): perplexity means something for a language model's loss only."""

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        # exp overflows past ~709; a capped perplexity still ranks diverged trials last.
        metrics["eval_perplexity"] = math.exp(min(float(metrics["eval_loss"]), 50.0))


def build_causal_lm_trainer(spec: SweepSpec, *, output_dir: str, callbacks: Sequence[TrainerCallback]) -> Trainer:
    """The ``Trainer`` of a causal-LM trial: prompt-masked SFT batches and the model with ``spec.method`` on it."""
    from trainer.data import sft_collator
    from trainer.data_cache import prepared_data
    from trainer.methods import method_callbacks
    from trainer.model import load_tokenizer, load_trial_model

    tokenizer = load_tokenizer(spec.model)
    data, _ = prepared_data(spec, prepare=lambda: sft_data(spec, tokenizer=tokenizer))
    startup.mark("data")
    model = load_trial_model(spec, train_examples=len(data["train"]))
    startup.mark("model")
    return Trainer(
        model=model,
        args=training_arguments(spec, output_dir=output_dir),
        train_dataset=data["train"],
        eval_dataset=data["eval"],
        data_collator=sft_collator(tokenizer),
        # Given so that callbacks get it: a full-model checkpoint carries its tokenizer (trainer.report).
        processing_class=tokenizer,
        callbacks=[Perplexity(), *rouge_callbacks(spec, eval_split=data["eval_text"], tokenizer=tokenizer),
                   *method_callbacks(spec.method), *callbacks],
    )


def sft_data(spec: SweepSpec, *, tokenizer: PreTrainedTokenizerBase) -> tuple[DatasetDict, dict]:
    """The SFT splits of ``spec``'s data file as :func:`trainer.data_cache.prepared_data` caches them: ``train``
    and ``eval`` tokenized, ``eval_text`` the eval pairs as text (for ROUGE); no extras."""
    from datasets import DatasetDict

    from trainer.data import clean_and_split, load_pairs, tokenize_sft

    pairs = load_pairs(dataset=spec.dataset, base_dir=spec.dataset.path.parent)
    splits, _ = clean_and_split(pairs, dataset=spec.dataset)
    tokenized = tokenize_sft(splits, tokenizer=tokenizer, max_length=spec.dataset.max_length)
    return DatasetDict(train=tokenized["train"], eval=tokenized["eval"], eval_text=splits["eval"]), {}


def rouge_callbacks(spec: SweepSpec, *, eval_split: Dataset, tokenizer: PreTrainedTokenizerBase
                    ) -> list[TrainerCallback]:
    """ROUGE-L on the first ``task.rouge_samples`` eval rows (a seeded random sample: the split is shuffled)."""
    from trainer.rouge import RougeOnSample

    if not spec.task.rouge_samples:
        return []
    sample = eval_split.select(range(min(spec.task.rouge_samples, len(eval_split))))
    return [RougeOnSample(prompts=sample["prompt"], references=sample["response"], tokenizer=tokenizer,
                          max_new_tokens=spec.task.max_new_tokens)]
