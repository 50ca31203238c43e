"""Small filesystems for storage faults: a tmpfs of a given size (full, read-only or nearly full), mounted for
one test and unmounted after it. Mounting needs root (CAP_SYS_ADMIN); without it the tests that need one skip."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def tmpfs(mount_point: Path, *, size_mib: int, read_only: bool = False) -> Iterator[Path]:
    """A tmpfs of ``size_mib`` MiB at ``mount_point`` (created), unmounted afterwards."""
    mount_point.mkdir(parents=True, exist_ok=True)
    options = f"size={size_mib}m" + (",ro" if read_only else "")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mount_point)],
                             capture_output=True, text=True)
    if mounted.returncode:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip() or 'not root'})")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(folder: Path) -> Path:
    """Write one file in ``folder`` until its filesystem is full; returns the file (delete it to free space)."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as file:
        for block in (2**20, 4096, 1):  # then the last blocks that smaller writes still fit in
            with contextlib.suppress(OSError):
                while True:
                    file.write(bytes(block))
    return filler
