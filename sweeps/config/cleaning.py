"""Row cleaning before any split: whitespace, empty and out-of-bounds rows, then exact or normalised dedupe.

Torch-free and column-agnostic: a row is a tuple of texts (prompt and response, text and label, prompt,
chosen and rejected), so every task cleans its data the same way and counts what each rule removed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sweeps.spec import DatasetSpec

_WORDS = re.compile(r"\w+")


@dataclass(frozen=True)
class CleaningCounts:
    """Rows each cleaning rule removed, in the order the rules run (a row is counted by the first it fails)."""

    empty_dropped: int = 0
    too_short_dropped: int = 0
    too_long_dropped: int = 0
    duplicates_dropped: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def normalized_text(text: str) -> str:
    """The text as ``dedupe: normalized`` compares it: Unicode NFKC, case-folded, punctuation and runs of
    whitespace dropped, so "Hello,  world!" and "hello world" are one row."""
    return " ".join(_WORDS.findall(unicodedata.normalize("NFKC", text).casefold()))


def clean_rows(rows: Iterable[Sequence[Any]], *, dataset: DatasetSpec,
               bounded: Sequence[int] | None = None) -> tuple[list[tuple[str, ...]], CleaningCounts]:
    """Stripped rows that pass ``dataset``'s rules, first occurrences only, and how many each rule removed.

    A row is empty if any of its fields is; ``dataset.min_chars`` / ``max_chars`` bound the fields at the
    indices ``bounded`` (None = all; a label column has no length to bound).
    """
    kept: list[tuple[str, ...]] = []
    seen: set[tuple[str, ...]] = set()
    counts = dict.fromkeys(CleaningCounts().as_dict(), 0)
    for raw_row in rows:
        row = tuple(_as_text(value) for value in raw_row)
        lengths = [len(row[index]) for index in (range(len(row)) if bounded is None else bounded)]
        key = _dedupe_key(row, dedupe=dataset.dedupe)
        if not all(row):
            counts["empty_dropped"] += 1
        elif min(lengths, default=dataset.min_chars) < dataset.min_chars:
            counts["too_short_dropped"] += 1
        elif dataset.max_chars is not None and max(lengths, default=0) > dataset.max_chars:
            counts["too_long_dropped"] += 1
        elif key is not None and key in seen:
            counts["duplicates_dropped"] += 1
        else:
            if key is not None:
                seen.add(key)
            kept.append(row)
    return kept, CleaningCounts(**counts)


def _dedupe_key(row: tuple[str, ...], *, dedupe: str) -> tuple[str, ...] | None:
    if dedupe == "none":
        return None
    return row if dedupe == "exact" else tuple(normalized_text(field) for field in row)


def _as_text(value: Any) -> str:
    # JSON and Parquet keep numbers as numbers ({"response": 7}); null counts as empty
    return "" if value is None else str(value).strip()
