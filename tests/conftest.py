"""Session fixtures shared across the test suite."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.sweeps import run_output, write_tiny_sweep
from tests.helpers.tiny import build_tiny_llama, qa_corpus, write_qa_jsonl
from tests.helpers.topics import PER_TOPIC, topic_rows, write_topics_jsonl


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Llama with a tokenizer trained on the QA corpus; built once per session."""
    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"), corpus=qa_corpus(n=200, seed=0))


@pytest.fixture(scope="session")
def qa_data_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """200 QA rows as JSON lines, 10 of them duplicates and 10 empty (see ``tests.helpers.tiny.qa_rows``)."""
    return write_qa_jsonl(tmp_path_factory.mktemp("qa-data") / "qa.jsonl", n=200, seed=0)


@pytest.fixture(scope="session")
def topic_data_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Topic classification rows (text, label) from the ChatterBot corpus, see ``tests.helpers.topics``."""
    return write_topics_jsonl(tmp_path_factory.mktemp("topic-data") / "topics.jsonl", per_topic=PER_TOPIC)


@pytest.fixture(scope="session")
def topic_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Llama whose tokenizer is trained on the topic texts, so that their words are tokens."""
    corpus = [row["text"] for row in topic_rows(per_topic=PER_TOPIC)]
    return build_tiny_llama(tmp_path_factory.mktemp("topic-llama"), corpus=corpus, vocab_size=512)


@pytest.fixture(scope="session")
def finished_sweep(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path, qa_data_path: Path) -> Path:
    """The sweep directory of one real 4-trial sweep on embedded Ray, run once per session through the CLI with
    ``--json-events``, its stdout kept beside the sweep directory (``run_output``)."""
    spec_path = write_tiny_sweep(tmp_path_factory.mktemp("sweep") / "sweep.yaml", model_dir=tiny_model_dir,
                                 data_path=qa_data_path)
    completed = subprocess.run([sys.executable, "-m", "sweeps", "run", str(spec_path), "--json-events"],
                               capture_output=True, text=True, timeout=900)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    sweep_dir = spec_path.parent / "runs" / "tiny"
    run_output(sweep_dir).write_text(completed.stdout)
    return sweep_dir
