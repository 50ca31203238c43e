"""Before Ray starts: the sweep's storage takes files and has room for them. A full or read-only disk
found mid-sweep fails trials one by one; found here, it is one message and nothing started."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from sweeps.core.errors import UserError

# Less than this fills with the first trials' results, study journal and W&B files before any checkpoint.
MIN_FREE_BYTES = 64 * 2**20
PROBE_BYTES = 64 * 2**10  # a small checkpoint's worth: a filesystem with fewer free blocks cannot take one


def check_storage(folder: Path, *, field: str = "storage.path") -> None:
    """Raise a UserError unless ``folder`` (or, when it does not exist yet, the nearest folder above it that
    does) takes a file and has :data:`MIN_FREE_BYTES` free. A URL (s3://, gs://) is the object store's to
    check. Nothing is left behind."""
    if "://" in str(folder):
        return
    existing = next(parent for parent in (Path(folder).absolute(), *Path(folder).absolute().parents)
                    if parent.exists())
    probe = existing / f".finesweep-probe-{os.getpid()}"
    try:
        with open(probe, "wb") as file:
            try:
                file.write(bytes(PROBE_BYTES))
                file.flush()
                os.fsync(file.fileno())
            finally:
                probe.unlink()
    except OSError as error:
        raise UserError(f"{field}: cannot write to {existing} ({error.strerror}); nothing was started. Free "
                        "space there, fix its permissions, or give another storage.path") from None
    free = shutil.disk_usage(existing).free
    if free < MIN_FREE_BYTES:
        raise UserError(f"{field}: {existing} has {free / 2**20:.1f} MiB free, but a sweep needs at least "
                        f"{MIN_FREE_BYTES // 2**20} MiB for its results, study and checkpoints; nothing was "
                        "started. Free space there or give another storage.path")
