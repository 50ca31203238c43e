"""The data path of causal-LM SFT: a local file of prompt → response pairs to padded, label-masked batches.

``load_pairs`` reads the file, ``clean_and_split`` cleans, dedupes and splits it (with a ``DataReport`` of
what each step removed), ``tokenize_sft`` turns each split into ``input_ids`` /
``attention_mask`` / ``labels`` with the prompt masked, and ``sft_collator`` pads batches of them.

The prompt format lives in :mod:`trainer.prompts` alone, so training and generation can never disagree on it.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import datasets
from datasets import Dataset, DatasetDict, load_dataset
from transformers import DataCollatorForSeq2Seq, PreTrainedTokenizerBase

from sweeps.config.cleaning import CleaningCounts, clean_rows
from sweeps.spec import CausalLmTaskSpec, DatasetSpec
from trainer.prompts import encode_prompts

BUILDER_BY_SUFFIX = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet"}
IGNORE_INDEX = -100  # the label value torch's cross-entropy (and so every HF causal LM) skips

Splits = TypeVar("Splits", Dataset, DatasetDict)


@dataclass(frozen=True)
class DataReport:
    """Row counts through cleaning and splitting: ``loaded`` minus the rows each cleaning rule dropped
    (:class:`sweeps.config.cleaning.CleaningCounts`) are split into ``train`` and ``eval + eval_capped``;
    ``eval_capped`` rows are cut by ``max_eval_examples``."""

    loaded: int
    cleaning: CleaningCounts
    train: int
    eval: int
    eval_capped: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"loaded": self.loaded, **self.cleaning.as_dict(), "train": self.train, "eval": self.eval,
                "eval_capped": self.eval_capped}


@contextlib.contextmanager
def _no_progress_bars():
    # A bar per small file is noise in the CLI and in every worker's log.
    was_enabled = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        if was_enabled:
            datasets.enable_progress_bars()


def load_pairs(*, dataset: DatasetSpec, base_dir: Path, columns: Mapping[str, str] | None = None) -> Dataset:
    """The rows of ``dataset.path`` (relative paths resolve against ``base_dir``), all columns kept.
    ``columns`` (spec field → column name: a task's ``columns``) must be present; None = the prompt and
    response columns of causal_lm."""
    columns = columns or CausalLmTaskSpec().columns(dataset)
    path = dataset.path if dataset.path.is_absolute() else base_dir / dataset.path
    builder = BUILDER_BY_SUFFIX.get(path.suffix.lower())
    if builder is None:
        raise ValueError(f"{path}: unsupported data file type {path.suffix!r}; "
                         f"use one of {', '.join(BUILDER_BY_SUFFIX)}")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: data file not found (dataset.path = {dataset.path})")
    # pandas would read a response column of digits as numbers ("07" → 7.0) and "NA" as missing
    options = ({"converters": dict.fromkeys(columns.values(), str), "keep_default_na": False}
               if builder == "csv" else {})
    # Loaded into memory, so the Arrow cache is only needed during the call and never lands in ~/.cache
    with tempfile.TemporaryDirectory(prefix="finesweep-data-") as cache_dir, _no_progress_bars():
        pairs = load_dataset(builder, data_files=str(path), split="train", cache_dir=cache_dir,
                             keep_in_memory=True, **options)
    missing = [column for column in columns.values() if column not in pairs.column_names]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; columns present: {pairs.column_names}. "
                         f"Set {' / '.join(columns)} to the right names.")
    return pairs


def clean_and_split(pairs: Dataset, *, dataset: DatasetSpec, columns: Mapping[str, str] | None = None,
                    bounded: Collection[str] | None = None) -> tuple[DatasetDict, DataReport]:
    """``{"train", "eval"}`` splits with a column per entry of ``columns`` (see :func:`load_pairs`), named
    after its field (``dataset.prompt_column`` → ``prompt``, ``task.label_column`` → ``label``), and the
    counts behind them. ``bounded``: the names whose length min_chars / max_chars bound (None = all).

    Cleaning and dedupe (:func:`sweeps.config.cleaning.clean_rows`) run before the split so that no pair can be
    in both splits.
    """
    columns = columns or CausalLmTaskSpec().columns(dataset)
    names = [field.rpartition(".")[2].removesuffix("_column") for field in columns]
    kept, counts = clean_rows(zip(*(pairs[column] for column in columns.values()), strict=True), dataset=dataset,
                              bounded=None if bounded is None else [names.index(name) for name in bounded])
    if not kept:
        dropped = ", ".join(f"{rows} {rule.removesuffix('_dropped').replace('_', ' ')}"
                            for rule, rows in counts.as_dict().items())
        raise ValueError(f"no examples left after cleaning: {len(pairs)} loaded, dropped: {dropped}")
    cleaned = Dataset.from_dict({name: [row[index] for row in kept] for index, name in enumerate(names)})
    split = cleaned.train_test_split(test_size=dataset.eval_fraction, seed=dataset.seed)
    train, eval_split = split["train"], split["test"]
    eval_capped = 0
    if dataset.max_eval_examples is not None and len(eval_split) > dataset.max_eval_examples:
        eval_capped = len(eval_split) - dataset.max_eval_examples
        # The split is already shuffled, so its head is a random sample
        eval_split = eval_split.select(range(dataset.max_eval_examples))
    report = DataReport(loaded=len(pairs), cleaning=counts, train=len(train), eval=len(eval_split),
                        eval_capped=eval_capped)
    return DatasetDict(train=train, eval=eval_split), report


def tokenize_sft(split_ds: Splits, *, tokenizer: PreTrainedTokenizerBase, max_length: int) -> Splits:
    """``input_ids``, ``attention_mask`` and ``labels`` (prompt tokens = -100) for each prompt/response row.

    The response is followed by EOS so the model learns to stop. Rows are cut to ``max_length`` tokens;
    a row whose prompt alone fills ``max_length`` has nothing to learn and is left out, so the number left
    out is ``len(split_ds) - len(result)`` per split.
    """
    if tokenizer.eos_token_id is None:
        raise ValueError("the tokenizer has no EOS token: set tokenizer.eos_token so responses can end")
    if isinstance(split_ds, DatasetDict):
        return DatasetDict({name: tokenize_sft(split, tokenizer=tokenizer, max_length=max_length)
                            for name, split in split_ds.items()})

    def encode_batch(batch: dict[str, list[str]]) -> dict[str, list[list[int]]]:
        prompts = encode_prompts(batch["prompt"], tokenizer=tokenizer)
        responses = tokenizer(batch["response"], add_special_tokens=False)["input_ids"]
        encoded: dict[str, list[list[int]]] = {"input_ids": [], "attention_mask": [], "labels": []}
        for prompt, response in zip(prompts, responses, strict=True):
            if len(prompt) >= max_length:
                continue
            input_ids = (prompt + response + [tokenizer.eos_token_id])[:max_length]
            encoded["input_ids"].append(input_ids)
            encoded["attention_mask"].append([1] * len(input_ids))
            encoded["labels"].append([IGNORE_INDEX] * len(prompt) + input_ids[len(prompt):])
        return encoded

    return split_ds.map(encode_batch, batched=True, remove_columns=split_ds.column_names)


def sft_collator(tokenizer: PreTrainedTokenizerBase) -> DataCollatorForSeq2Seq:
    """Pads ``input_ids`` / ``attention_mask`` with the pad token and ``labels`` with -100 (no loss)."""
    if tokenizer.pad_token_id is None:
        raise ValueError("the tokenizer has no pad token: set one (tokenizer.pad_token = tokenizer.eos_token "
                         "is safe, padded positions are masked out of attention and loss)")
    return DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=IGNORE_INDEX, return_tensors="pt")
