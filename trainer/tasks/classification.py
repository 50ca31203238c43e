"""The ``classification`` task: a text column classified into the labels of a label column, by the base
model with a new score head (``AutoModelForSequenceClassification``), scored by accuracy and macro-F1.

The labels are the distinct values of the label column after cleaning, sorted; a label's id is its index,
and the checkpoint's config keeps both (id2label, label2id), so it says what its outputs mean.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from trainer import startup
from trainer.arguments import training_arguments

if TYPE_CHECKING:
    from datasets import Dataset, DatasetDict
    from transformers import EvalPrediction, PreTrainedTokenizerBase, Trainer, TrainerCallback

    from sweeps.spec import SweepSpec
    from trainer.data import DataReport


@dataclass(frozen=True)
class LabelledSplits:
    """Train and eval splits with columns ``text`` and ``label`` (the label as text), the sorted labels,
    the counts of cleaning and splitting, and the rows per label of each split (train after balancing)."""

    splits: DatasetDict
    labels: list[str]
    report: DataReport
    class_counts: dict[str, dict[str, int]]


def labelled_splits(spec: SweepSpec) -> LabelledSplits:
    """Load, clean, dedupe and split the data of a classification ``spec`` (as causal_lm data is, see
    :mod:`trainer.data`), then balance the train split if ``task.balance``."""
    from datasets import DatasetDict

    from trainer.data import clean_and_split, load_pairs

    columns = spec.task.columns(spec.dataset)
    rows = load_pairs(dataset=spec.dataset, base_dir=spec.dataset.path.parent, columns=columns)
    # The label is a class name, not text: min_chars / max_chars bound the text only.
    splits, report = clean_and_split(rows, dataset=spec.dataset, columns=columns, bounded=("text",))
    labels = sorted(set(splits["train"]["label"]) | set(splits["eval"]["label"]))
    if spec.task.balance:
        splits = DatasetDict(train=balanced(splits["train"], seed=spec.dataset.seed), eval=splits["eval"])
    counts = {name: dict(sorted(Counter(split["label"]).items())) for name, split in splits.items()}
    return LabelledSplits(splits=splits, labels=labels, report=report, class_counts=counts)


def balanced(split: Dataset, *, seed: int) -> Dataset:
    """``split`` with every label downsampled to the rarest label's count: a seeded sample of each,
    in the split's order."""
    rows_of: dict[str, list[int]] = defaultdict(list)
    for index, label in enumerate(split["label"]):
        rows_of[label].append(index)
    smallest = min(len(rows) for rows in rows_of.values())
    rng = random.Random(seed)
    return split.select(sorted(index for _, rows in sorted(rows_of.items()) for index in rng.sample(rows, smallest)))


def tokenize_classification(splits: DatasetDict, *, tokenizer: PreTrainedTokenizerBase, labels: Sequence[str],
                            max_length: int) -> DatasetDict:
    """``input_ids`` and ``attention_mask`` of each text (cut to ``max_length`` tokens) and ``labels``,
    the label's id (its index in ``labels``)."""
    from datasets import DatasetDict

    label_ids = {label: index for index, label in enumerate(labels)}

    def encode_batch(batch: dict[str, list[str]]) -> dict[str, list]:
        encoded = tokenizer(batch["text"], truncation=True, max_length=max_length)
        return {"input_ids": encoded["input_ids"], "attention_mask": encoded["attention_mask"],
                "labels": [label_ids[label] for label in batch["label"]]}

    return DatasetDict({name: split.map(encode_batch, batched=True, remove_columns=split.column_names)
                        for name, split in splits.items()})


def classification_data(spec: SweepSpec, *, tokenizer: PreTrainedTokenizerBase) -> tuple[DatasetDict, dict]:
    """The tokenized labelled splits of ``spec`` as :func:`trainer.data_cache.prepared_data` caches them, with
    the sorted labels (``{"labels": [...]}``) as extras."""
    data = labelled_splits(spec)
    tokenized = tokenize_classification(data.splits, tokenizer=tokenizer, labels=data.labels,
                                        max_length=spec.dataset.max_length)
    return tokenized, {"labels": data.labels}


def classification_metrics(prediction: EvalPrediction) -> dict[str, float]:
    """Accuracy and macro-F1 (the mean of the per-label F1s, so a rare label counts as much as a common
    one) of an evaluation, by scikit-learn; the Trainer reports them as eval_accuracy and eval_f1_macro."""
    import numpy as np
    from sklearn.metrics import accuracy_score, f1_score

    logits = prediction.predictions[0] if isinstance(prediction.predictions, tuple) else prediction.predictions
    predicted = np.argmax(logits, axis=-1)
    return {"accuracy": float(accuracy_score(prediction.label_ids, predicted)),
            "f1_macro": float(f1_score(prediction.label_ids, predicted, average="macro", zero_division=0))}


def build_classification_trainer(spec: SweepSpec, *, output_dir: str,
                                 callbacks: Sequence[TrainerCallback]) -> Trainer:
    """The ``Trainer`` of a classification trial: tokenized labelled splits, the sequence classifier with
    ``spec.method`` on it, and accuracy / f1_macro at every evaluation."""
    from transformers import DataCollatorWithPadding, Trainer

    from trainer.data_cache import prepared_data
    from trainer.methods import method_callbacks
    from trainer.model import load_tokenizer, load_trial_model

    tokenizer = load_tokenizer(spec.model)
    data, extras = prepared_data(spec, prepare=lambda: classification_data(spec, tokenizer=tokenizer))
    startup.mark("data")
    model = load_trial_model(spec, train_examples=len(data["train"]), labels=extras["labels"],
                             pad_token_id=tokenizer.pad_token_id)
    startup.mark("model")
    return Trainer(
        model=model,
        args=training_arguments(spec, output_dir=output_dir),
        train_dataset=data["train"],
        eval_dataset=data["eval"],
        data_collator=DataCollatorWithPadding(tokenizer),
        compute_metrics=classification_metrics,
        # Given so that callbacks get it: a full-model checkpoint carries its tokenizer (trainer.report).
        processing_class=tokenizer,
        callbacks=[*method_callbacks(spec.method), *callbacks],
    )
