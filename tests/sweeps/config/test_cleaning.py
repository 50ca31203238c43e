from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from sweeps.config.cleaning import CleaningCounts, clean_rows, normalized_text
from sweeps.spec import DatasetSpec

ROWS = [
    ("Hello, world!", "Hi there."),
    ("hello   WORLD", "hi there"),     # the first row, normalised
    ("Hello, world!", "Hi there."),    # the first row, exactly
    ("ok", "fine"),                    # 2 characters
    ("A long question " * 10, "yes"),  # 160 characters
    ("  ", "empty prompt"),
    ("What is up?", "The sky."),
]


def rules(**fields) -> DatasetSpec:
    return DatasetSpec(path=Path("x.jsonl"), **fields)


def test_normalized_text_ignores_case_punctuation_spacing_and_unicode_forms() -> None:
    assert normalized_text("Hello,  World!\n") == normalized_text("hello world") == "hello world"
    assert normalized_text("ﬁne") == "fine"  # NFKC unfolds the ligature
    assert normalized_text("a b") != normalized_text("ab")


@pytest.mark.parametrize(("dedupe", "duplicates"), [("exact", 1), ("normalized", 2), ("none", 0)])
def test_dedupe_modes_drop_exact_or_normalised_copies(dedupe: str, duplicates: int) -> None:
    kept, counts = clean_rows(ROWS, dataset=rules(dedupe=dedupe))
    assert counts == CleaningCounts(empty_dropped=1, duplicates_dropped=duplicates)
    assert len(kept) == len(ROWS) - 1 - duplicates
    assert kept[0] == ("Hello, world!", "Hi there.")  # the first occurrence is the one kept


def test_length_bounds_drop_short_and_long_rows_and_count_them() -> None:
    kept, counts = clean_rows(ROWS, dataset=rules(min_chars=3, max_chars=100))
    assert counts == CleaningCounts(empty_dropped=1, too_short_dropped=1, too_long_dropped=1,
                                    duplicates_dropped=1)
    assert ("ok", "fine") not in kept
    assert all(len(field) <= 100 for row in kept for field in row)


def test_bounds_apply_only_to_the_bounded_fields() -> None:
    # A label like "ai" is shorter than any sensible min_chars for text.
    kept, counts = clean_rows([("What is AI?", "ai")], dataset=rules(min_chars=5), bounded=[0])
    assert kept == [("What is AI?", "ai")] and counts == CleaningCounts()


def test_min_above_max_is_refused_with_both_values() -> None:
    with pytest.raises(ValidationError, match=r"`min_chars <= max_chars` must hold, but got \(min_chars=10, "
                                              r"max_chars=5\)"):
        rules(min_chars=10, max_chars=5)
