"""One "did you mean" for every misspelt name a user gives (keys, paths, presets, choices)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

# Above difflib's default 0.6: dotted paths share long prefixes ("training."), which alone score ~0.5.
HINT_CUTOFF = 0.75


def closest(word: str, *, options: Iterable[str]) -> str | None:
    """The option closest to a mistyped ``word``, or None when none is close."""
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=HINT_CUTOFF)
    return close[0] if close else None


def did_you_mean(word: str, *, options: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the option closest to a mistyped ``word``, or ``""``."""
    close = closest(word, options=options)
    return f"; did you mean {close!r}?" if close else ""
