"""A small real labelled data set for the classification tests: topic classification of the ChatterBot
corpus (``chatterbot-corpus`` 1.3.3, BSD licence per its package metadata; see examples/README.md).

Each row is the first line of one conversation (``text``) and the category of its file (``label``).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import yaml

# Categories whose first lines differ in words, not only in tone (psychology and emotion are both
# "you are ..."), with 48–260 distinct first lines each.
TOPICS = {"ai": "ai.yml", "coding": "coding.yml", "emotion": "emotion.yml", "trivia": "trivia.yml"}
# Rows per topic in the tests' data: 120 rows, 24 of them for eval, learnt by a tiny model in 20 steps.
PER_TOPIC = 30


def corpus_dir() -> Path:
    """The English folder of the installed ``chatterbot_corpus`` package (found without importing it)."""
    spec = importlib.util.find_spec("chatterbot_corpus")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("pip package 'chatterbot_corpus' is not installed (pip install --no-deps "
                                "chatterbot-corpus==1.3.3)")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "english"


def topic_rows(*, per_topic: int) -> list[dict[str, str]]:
    """At most ``per_topic`` distinct first lines of each topic's conversations, in file order."""
    rows = []
    for label, file_name in TOPICS.items():
        conversations = yaml.safe_load((corpus_dir() / file_name).read_text(encoding="utf-8"))["conversations"]
        # One trivia entry is a string, not a list of turns (a missing "- " in the YAML).
        firsts = dict.fromkeys(turns[0] for turns in conversations if isinstance(turns, list) and turns)
        rows += [{"text": text, "label": label} for text in list(firsts)[:per_topic]]
    return rows


def write_topics_jsonl(path: Path, *, per_topic: int) -> Path:
    """Write :func:`topic_rows` to ``path`` as JSON lines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in topic_rows(per_topic=per_topic)), encoding="utf-8")
    return path
