from __future__ import annotations

import copy
import json
from pathlib import Path

import pandas as pd
import pytest
from datasets import Dataset, DatasetDict
from transformers import AutoTokenizer

from sweeps.config.cleaning import CleaningCounts
from sweeps.spec import DatasetSpec
from trainer.data import (
    IGNORE_INDEX,
    DataReport,
    clean_and_split,
    load_pairs,
    sft_collator,
    tokenize_sft,
)
from trainer.prompts import prompt_ids, prompt_text

# Values a CSV reader likes to reinterpret: leading zeros, "NA", a number-looking prompt
ROWS = [
    {"prompt": "what is 3 plus 4?", "response": "7"},
    {"prompt": "pad me", "response": "07"},
    {"prompt": "say NA", "response": "NA"},
    {"prompt": "12", "response": "twelve, then a comma"},
]


def write_rows(rows: list[dict], path: Path) -> Path:
    frame = pd.DataFrame(rows)
    if path.suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    elif path.suffix == ".json":
        path.write_text(json.dumps(rows))
    elif path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path)
    return path


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".csv", ".parquet"])
def test_load_pairs_reads_each_format_verbatim(tmp_path: Path, suffix: str) -> None:
    write_rows(ROWS, tmp_path / f"pairs{suffix}")
    pairs = load_pairs(dataset=DatasetSpec(path=Path(f"pairs{suffix}")), base_dir=tmp_path)
    assert pairs.to_list() == ROWS


def test_csv_columns_of_digits_stay_text(tmp_path: Path) -> None:
    (tmp_path / "digits.csv").write_text("prompt,response\n1,07\n2,8\n")
    pairs = load_pairs(dataset=DatasetSpec(path=Path("digits.csv")), base_dir=tmp_path)
    assert pairs.to_list() == [{"prompt": "1", "response": "07"}, {"prompt": "2", "response": "8"}]


def test_numeric_json_values_become_text(tmp_path: Path) -> None:
    (tmp_path / "numbers.jsonl").write_text('{"prompt": "3+4", "response": 7}\n{"prompt": "1+1", "response": 2}\n')
    spec = DatasetSpec(path=Path("numbers.jsonl"), eval_fraction=0.5)
    splits, _ = clean_and_split(load_pairs(dataset=spec, base_dir=tmp_path), dataset=spec)
    assert sorted(splits["train"]["response"][:] + splits["eval"]["response"][:]) == ["2", "7"]


def test_load_pairs_keeps_absolute_paths(tmp_path: Path) -> None:
    path = write_rows(ROWS, tmp_path / "pairs.jsonl")
    pairs = load_pairs(dataset=DatasetSpec(path=path), base_dir=tmp_path / "elsewhere")
    assert len(pairs) == len(ROWS)


def test_missing_columns_are_named_with_those_present(tmp_path: Path) -> None:
    write_rows(ROWS, tmp_path / "pairs.jsonl")
    spec = DatasetSpec(path=Path("pairs.jsonl"), prompt_column="question", response_column="response")
    with pytest.raises(ValueError, match=r"pairs\.jsonl") as error:
        load_pairs(dataset=spec, base_dir=tmp_path)
    message = str(error.value)
    assert "['question']" in message
    assert "['prompt', 'response']" in message


def test_unsupported_extension_lists_the_allowed_ones(tmp_path: Path) -> None:
    (tmp_path / "pairs.txt").write_text("prompt\tresponse\n")
    with pytest.raises(ValueError, match=r"'\.txt'.*\.jsonl, \.json, \.csv, \.parquet"):
        load_pairs(dataset=DatasetSpec(path=Path("pairs.txt")), base_dir=tmp_path)


def test_missing_file_is_reported_with_its_path(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"absent\.jsonl"):
        load_pairs(dataset=DatasetSpec(path=Path("absent.jsonl")), base_dir=tmp_path)


def test_cleaning_counts_and_normalises_columns() -> None:
    pairs = Dataset.from_dict({
        "q": ["a?", "  a?  ", "b?", "   ", "c?", "d?", "e?", "b?", "f?", "g?"],
        "a": ["1", "1", "2", "x", None, "4 ", "5", "2", " \n", "7"],
    })
    splits, report = clean_and_split(pairs, dataset=DatasetSpec(path=Path("x.jsonl"), prompt_column="q",
                                                                response_column="a"))
    assert report == DataReport(loaded=10, cleaning=CleaningCounts(empty_dropped=3, duplicates_dropped=2),
                                train=4, eval=1)
    assert report.as_dict() == {"loaded": 10, "empty_dropped": 3, "too_short_dropped": 0, "too_long_dropped": 0,
                                "duplicates_dropped": 2, "train": 4, "eval": 1, "eval_capped": 0}
    assert set(splits) == {"train", "eval"}
    assert splits["train"].column_names == ["prompt", "response"]
    kept = {(row["prompt"], row["response"]) for split in splits.values() for row in split}
    assert kept == {("a?", "1"), ("b?", "2"), ("d?", "4"), ("e?", "5"), ("g?", "7")}


def test_cleaning_everything_away_is_an_error() -> None:
    pairs = Dataset.from_dict({"prompt": ["a", " "], "response": ["", "b"]})
    with pytest.raises(ValueError, match=r"no examples left.*2 loaded, dropped: 2 empty"):
        clean_and_split(pairs, dataset=DatasetSpec(path=Path("x.jsonl")))


def numbered_pairs(n: int) -> Dataset:
    return Dataset.from_dict({"prompt": [f"p{i}" for i in range(n)], "response": [f"r{i}" for i in range(n)]})


def test_split_is_80_20_and_seeded() -> None:
    def split_prompts(seed: int) -> tuple[list[str], list[str]]:
        splits, _ = clean_and_split(numbered_pairs(100), dataset=DatasetSpec(path=Path("x.jsonl"), seed=seed))
        return splits["train"]["prompt"][:], splits["eval"]["prompt"][:]

    train, eval_prompts = split_prompts(seed=1)
    assert (len(train), len(eval_prompts)) == (80, 20)
    assert split_prompts(seed=1) == (train, eval_prompts)
    assert set(split_prompts(seed=2)[1]) != set(eval_prompts)


def test_duplicates_never_straddle_the_split(qa_data_path: Path) -> None:
    spec = DatasetSpec(path=qa_data_path)
    splits, report = clean_and_split(load_pairs(dataset=spec, base_dir=Path()), dataset=spec)
    train_pairs = set(zip(splits["train"]["prompt"], splits["train"]["response"], strict=True))
    eval_pairs = set(zip(splits["eval"]["prompt"], splits["eval"]["response"], strict=True))
    assert report.cleaning.duplicates_dropped > 0
    assert not train_pairs & eval_pairs
    assert len(train_pairs) + len(eval_pairs) == report.train + report.eval


def test_eval_cap_keeps_a_subset_of_the_eval_split() -> None:
    uncapped, _ = clean_and_split(numbered_pairs(100), dataset=DatasetSpec(path=Path("x.jsonl")))
    capped, report = clean_and_split(numbered_pairs(100),
                                     dataset=DatasetSpec(path=Path("x.jsonl"), max_eval_examples=5))
    assert (report.train, report.eval, report.eval_capped) == (80, 5, 15)
    assert set(capped["eval"]["prompt"]) < set(uncapped["eval"]["prompt"])
    assert capped["train"]["prompt"][:] == uncapped["train"]["prompt"][:]


@pytest.fixture(scope="module")
def chat_tokenizer(tiny_model_dir: Path):
    return AutoTokenizer.from_pretrained(tiny_model_dir)


@pytest.fixture(scope="module")
def plain_tokenizer(chat_tokenizer):
    tokenizer = copy.deepcopy(chat_tokenizer)
    tokenizer.chat_template = None
    return tokenizer


def test_prompt_text_uses_the_chat_template_or_a_newline(chat_tokenizer, plain_tokenizer) -> None:
    assert prompt_text("hi", tokenizer=chat_tokenizer) == "<s><|user|>hi\n<|assistant|>"
    assert prompt_text("hi", tokenizer=plain_tokenizer) == "hi\n"


@pytest.mark.parametrize("tokenizer_name", ["chat_tokenizer", "plain_tokenizer"])
def test_prompt_ids_start_with_exactly_one_bos(request: pytest.FixtureRequest, tokenizer_name: str) -> None:
    tokenizer = request.getfixturevalue(tokenizer_name)
    ids = prompt_ids("hi", tokenizer=tokenizer)
    assert ids[0] == tokenizer.bos_token_id
    assert ids.count(tokenizer.bos_token_id) == 1


@pytest.mark.parametrize("tokenizer_name", ["chat_tokenizer", "plain_tokenizer"])
def test_labels_cover_the_response_and_eos_only(request: pytest.FixtureRequest, tokenizer_name: str) -> None:
    tokenizer = request.getfixturevalue(tokenizer_name)
    pairs = Dataset.from_list(ROWS)
    tokenized = tokenize_sft(pairs, tokenizer=tokenizer, max_length=256)
    assert tokenized.column_names == ["input_ids", "attention_mask", "labels"]
    assert len(tokenized) == len(ROWS)
    for row, example in zip(ROWS, tokenized, strict=True):
        prompt = prompt_ids(row["prompt"], tokenizer=tokenizer)
        input_ids, labels = example["input_ids"], example["labels"]
        assert input_ids[:len(prompt)] == prompt
        assert labels[:len(prompt)] == [IGNORE_INDEX] * len(prompt)
        assert labels[len(prompt):] == input_ids[len(prompt):]
        assert input_ids[-1] == tokenizer.eos_token_id
        assert tokenizer.decode(input_ids[len(prompt):-1]) == row["response"]
        assert example["attention_mask"] == [1] * len(input_ids)


def test_truncation_cuts_responses_and_drops_rows_without_one(chat_tokenizer) -> None:
    short, long = "hi", "a much longer prompt than the other one"
    max_length = len(prompt_ids(short, tokenizer=chat_tokenizer)) + 3
    assert len(prompt_ids(long, tokenizer=chat_tokenizer)) >= max_length
    pairs = Dataset.from_dict({"prompt": [short, long], "response": ["a long response", "x"]})
    tokenized = tokenize_sft(pairs, tokenizer=chat_tokenizer, max_length=max_length)
    assert len(tokenized) == 1
    example = tokenized[0]
    assert len(example["input_ids"]) == max_length
    assert example["input_ids"][-1] != chat_tokenizer.eos_token_id
    assert sum(label != IGNORE_INDEX for label in example["labels"]) == 3


def test_a_prompt_one_token_short_of_max_length_keeps_one_label(chat_tokenizer) -> None:
    max_length = len(prompt_ids("hi", tokenizer=chat_tokenizer)) + 1
    pairs = Dataset.from_dict({"prompt": ["hi"], "response": ["hello"]})
    tokenized = tokenize_sft(pairs, tokenizer=chat_tokenizer, max_length=max_length)
    assert [label for label in tokenized[0]["labels"] if label != IGNORE_INDEX] == [tokenized[0]["input_ids"][-1]]
    assert len(tokenize_sft(pairs, tokenizer=chat_tokenizer, max_length=max_length - 1)) == 0


def test_tokenize_sft_maps_every_split(chat_tokenizer) -> None:
    splits, _ = clean_and_split(numbered_pairs(10), dataset=DatasetSpec(path=Path("x.jsonl")))
    tokenized = tokenize_sft(splits, tokenizer=chat_tokenizer, max_length=64)
    assert isinstance(tokenized, DatasetDict)
    assert {name: len(split) for name, split in tokenized.items()} == {"train": 8, "eval": 2}


def test_collator_pads_inputs_with_pad_and_labels_with_ignore_index(chat_tokenizer) -> None:
    pairs = Dataset.from_dict({"prompt": ["hi", "hello there"], "response": ["a", "b c d"]})
    features = tokenize_sft(pairs, tokenizer=chat_tokenizer, max_length=64).to_list()
    batch = sft_collator(chat_tokenizer)(features)
    short, long = (len(f["input_ids"]) for f in features)
    assert batch["input_ids"].shape == batch["labels"].shape == (2, long)
    assert batch["input_ids"][0, short:].tolist() == [chat_tokenizer.pad_token_id] * (long - short)
    assert batch["attention_mask"][0].tolist() == [1] * short + [0] * (long - short)
    assert batch["labels"][0].tolist() == features[0]["labels"] + [IGNORE_INDEX] * (long - short)
    assert batch["labels"][1].tolist() == features[1]["labels"]


def test_collator_needs_a_pad_token(plain_tokenizer) -> None:
    tokenizer = copy.deepcopy(plain_tokenizer)
    tokenizer.pad_token = None
    with pytest.raises(ValueError, match="no pad token"):
        sft_collator(tokenizer)
