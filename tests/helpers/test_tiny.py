from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaForCausalLM

from sweeps.spec import DatasetSpec
from tests.helpers.tiny import ROLE_TOKENS, build_tiny_llama, qa_corpus, qa_rows, write_qa_jsonl
from trainer.data import clean_and_split, load_pairs


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir: Path):
    return AutoTokenizer.from_pretrained(tiny_model_dir)


def test_tiny_model_reloads_and_predicts_over_the_whole_vocabulary(tiny_model_dir: Path, tokenizer) -> None:
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    assert isinstance(model, LlamaForCausalLM)
    input_ids = torch.tensor([tokenizer("what is 3 plus 4?")["input_ids"]])
    with torch.no_grad():
        logits = model(input_ids=input_ids).logits
    assert logits.shape == (1, input_ids.shape[1], len(tokenizer))
    assert torch.isfinite(logits).all()


def test_model_and_tokenizer_agree_on_special_tokens(tiny_model_dir: Path, tokenizer) -> None:
    config = AutoModelForCausalLM.from_pretrained(tiny_model_dir).config
    ids = (tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id, tokenizer.unk_token_id)
    assert len(set(ids)) == 4
    assert (config.bos_token_id, config.eos_token_id, config.pad_token_id) == ids[:3]
    assert config.vocab_size == len(tokenizer)


@pytest.mark.parametrize("text", ["what is 3 plus 4?\nreverse: a b c", "Ünïcode 🙂 and\ttabs  "])
def test_tokenizer_round_trips_text(tokenizer, text: str) -> None:
    assert tokenizer.decode(tokenizer(text, add_special_tokens=False)["input_ids"]) == text


def test_chat_template_tokens_are_single_tokens(tokenizer) -> None:
    for token in ROLE_TOKENS:
        assert tokenizer(token, add_special_tokens=False)["input_ids"] == [tokenizer.convert_tokens_to_ids(token)]
    text = tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], add_generation_prompt=True,
                                         tokenize=False)
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert tokenizer.decode(ids) == text


def test_build_is_deterministic_per_seed(tmp_path: Path) -> None:
    corpus = qa_corpus(n=40, seed=0)

    def weights(name: str, seed: int) -> dict[str, torch.Tensor]:
        out_dir = build_tiny_llama(tmp_path / name, corpus=corpus, seed=seed)
        return AutoModelForCausalLM.from_pretrained(out_dir).state_dict()

    first, again, other = weights("a", seed=0), weights("b", seed=0), weights("c", seed=1)
    assert all(torch.equal(first[name], again[name]) for name in first)
    assert not torch.equal(first["model.embed_tokens.weight"], other["model.embed_tokens.weight"])
    assert (tmp_path / "a" / "tokenizer.json").read_text() == (tmp_path / "b" / "tokenizer.json").read_text()


def test_larger_vocab_size_learns_merges(tmp_path: Path) -> None:
    out_dir = build_tiny_llama(tmp_path / "m", corpus=qa_corpus(n=200, seed=0), vocab_size=320)
    tokenizer = AutoTokenizer.from_pretrained(out_dir)
    assert len(tokenizer) == 320
    text = "what is 3 plus 4?"
    assert len(tokenizer(text, add_special_tokens=False)["input_ids"]) < len(text.encode())


def test_qa_rows_are_deterministic_and_correct() -> None:
    rows = qa_rows(n=200, seed=0)
    assert rows == qa_rows(n=200, seed=0)
    assert rows != qa_rows(n=200, seed=1)
    for row in rows:
        if addition := re.fullmatch(r"what is (\d+) plus (\d+)\?", row["prompt"]):
            if row["response"].strip():
                assert int(row["response"]) == int(addition[1]) + int(addition[2])
        elif row["prompt"].startswith("reverse: "):
            assert row["response"] == " ".join(reversed(row["prompt"].removeprefix("reverse: ").split()))
        elif row["prompt"].startswith("uppercase: "):
            assert row["response"] == row["prompt"].removeprefix("uppercase: ").upper()


def test_qa_file_has_exactly_the_planted_defects(qa_data_path: Path) -> None:
    assert len(qa_data_path.read_text().splitlines()) == 200
    assert json.loads(qa_data_path.read_text().splitlines()[0]).keys() == {"prompt", "response"}
    spec = DatasetSpec(path=qa_data_path)
    _, report = clean_and_split(load_pairs(dataset=spec, base_dir=Path()), dataset=spec)
    assert (report.loaded, report.cleaning.empty_dropped, report.cleaning.duplicates_dropped) == (200, 10, 10)
    assert report.train + report.eval == 180


def test_write_qa_jsonl_creates_parent_folders(tmp_path: Path) -> None:
    path = write_qa_jsonl(tmp_path / "nested" / "qa.jsonl", n=20, seed=3)
    assert [json.loads(line) for line in path.read_text().splitlines()] == qa_rows(n=20, seed=3)
