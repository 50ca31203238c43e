"""Session fixtures shared across the test suite."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml
from topics import PER_TOPIC, topic_rows, write_topics_jsonl

from trainer.tiny import build_tiny_llama, qa_corpus, write_qa_jsonl

PREPARE_DEMO = Path(__file__).resolve().parents[1] / "examples" / "prepare_demo.py"


def load_prepare_demo() -> ModuleType:
    """examples/prepare_demo.py as a module: examples/ is a folder of scripts, not a package."""
    spec = importlib.util.spec_from_file_location("prepare_demo", PREPARE_DEMO)
    module = importlib.util.module_from_spec(spec)
    # @dataclass looks its module up in sys.modules while the class is being built.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Llama with a tokenizer trained on the QA corpus; built once per session."""
    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"), corpus=qa_corpus(n=200, seed=0))


@pytest.fixture(scope="session")
def qa_data_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """200 QA rows as JSON lines, 10 of them duplicates and 10 empty (see ``trainer.tiny.qa_rows``)."""
    return write_qa_jsonl(tmp_path_factory.mktemp("qa-data") / "qa.jsonl", n=200, seed=0)


@pytest.fixture(scope="session")
def topic_data_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Topic classification rows (text, label) from the ChatterBot corpus, see ``tests/topics.py``."""
    return write_topics_jsonl(tmp_path_factory.mktemp("topic-data") / "topics.jsonl", per_topic=PER_TOPIC)


@pytest.fixture(scope="session")
def topic_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Llama whose tokenizer is trained on the topic texts, so that their words are tokens."""
    corpus = [row["text"] for row in topic_rows(per_topic=PER_TOPIC)]
    return build_tiny_llama(tmp_path_factory.mktemp("topic-llama"), corpus=corpus, vocab_size=512)


def write_tiny_sweep(path: Path, *, model_dir: Path, data_path: Path, **sections: dict) -> Path:
    """A sweep file over the tiny model: 4 trials, 12 steps, a report every 3 steps. ``sections`` replace
    whole top-level sections (``search={...}``) for tests that need other settings."""
    spec = {
        "name": "tiny",
        "model": {"path": str(model_dir)},
        "dataset": {"path": str(data_path), "max_length": 32, "max_eval_examples": 24},
        "training": {"max_steps": 12, "eval_every_steps": 3, "batch_size": 8},
        "search": {"num_trials": 4, "seed": 0, "max_concurrent_trials": 1,
                   # A strong first trial makes ASHA's first rung a bar the weak later ones fall under.
                   "initial_points": [{"training.learning_rate": 3e-2, "method.r": 4}]},
        "search_space": {
            "training.learning_rate": {"type": "loguniform", "low": 1e-6, "high": 3e-2},
            "method.r": {"type": "choice", "values": [2, 4]},
            "method.alpha": {"type": "tied", "to": "method.r", "factors": [1, 2]},
        },
        "scheduler": {"name": "asha", "grace_period": 1, "reduction_factor": 2},
        "storage": {"path": str(path.parent / "runs")},
        **sections,
    }
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@pytest.fixture(scope="session")
def finished_sweep(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path, qa_data_path: Path) -> Path:
    """The sweep directory of one real 4-trial sweep on embedded Ray, run once per session through the CLI."""
    spec_path = write_tiny_sweep(tmp_path_factory.mktemp("sweep") / "sweep.yaml", model_dir=tiny_model_dir,
                                 data_path=qa_data_path)
    completed = subprocess.run([sys.executable, "-m", "sweeps", "run", str(spec_path)], capture_output=True,
                               text=True, timeout=900)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return spec_path.parent / "runs" / "tiny"
