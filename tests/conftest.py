"""Session fixtures shared across the test suite."""

from __future__ import annotations

from pathlib import Path

import pytest

from trainer.tiny import build_tiny_llama, qa_corpus, write_qa_jsonl


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Llama with a tokenizer trained on the QA corpus; built once per session."""
    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"), corpus=qa_corpus(n=200, seed=0))


@pytest.fixture(scope="session")
def qa_data_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """200 QA rows as JSON lines, 10 of them duplicates and 10 empty (see ``trainer.tiny.qa_rows``)."""
    return write_qa_jsonl(tmp_path_factory.mktemp("qa-data") / "qa.jsonl", n=200, seed=0)
