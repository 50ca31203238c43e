"""Fake secrets in a process's environment, and a search for them in everything a test saw produced."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

# Shaped like the real ones, unique enough that a match is a leak, not a coincidence.
FAKE_SECRETS = {
    "WANDB_API_KEY": "f5e8" + "0123456789abcdef" * 2 + "c0ffee",
    "HF_TOKEN": "hf_" + "FinesweepFakeHubToken0123456789",
    "RAY_AUTH_TOKEN": "fa4e" + "9876543210fedcba" * 3,
}


def with_fake_secrets(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """``env`` (default: this process's) with the fake W&B key, Hub token and Ray token set."""
    return {**(os.environ if env is None else env), **FAKE_SECRETS}


def leaks(*, roots: Iterable[Path], texts: Mapping[str, str], secrets: Mapping[str, str] = FAKE_SECRETS
          ) -> list[str]:
    """``"<where>: <secret name>"`` for each secret found in a file under ``roots`` (every byte, binary files
    included) or in one of the ``texts`` (name → what a process printed or a server answered)."""
    found = []
    for root in roots:
        for path in sorted(Path(root).rglob("*")):
            if path.is_file() and not path.is_symlink():
                content = path.read_bytes()
                found += [f"{path}: {name}" for name, value in secrets.items() if value.encode() in content]
    for where, text in texts.items():
        found += [f"{where}: {name}" for name, value in secrets.items() if value in text]
    return found


def files_under(roots: Iterable[Path]) -> int:
    """How many files a search covered (a search of nothing finds nothing)."""
    return sum(1 for root in roots for path in Path(root).rglob("*") if path.is_file() and not path.is_symlink())
