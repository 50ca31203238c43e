"""Pre-flight of ``storage.path``: the sweep directory can be made there, takes files and has room for them.
Part of :func:`sweeps.config.checks.cross_check` (``validate``, ``run``), and checked again by ``run`` and
``resume`` right before Ray starts (:func:`writable_problems`): a full or read-only disk found mid-sweep fails
trials one by one; found first, it is one message and nothing started."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from sweeps.spec import SweepSpec

# Less than this fills with the first trials' results, study journal and W&B files before any checkpoint.
MIN_FREE_BYTES = 64 * 2**20
PROBE_BYTES = 64 * 2**10  # a small checkpoint's worth: a filesystem with fewer free blocks cannot take one


def storage_problems(spec: SweepSpec) -> list[str]:
    """``storage.path`` (a local folder; URIs are the cluster's to check) must be a folder this process can
    create folders in, or be creatable under its nearest existing parent, and take files."""
    return writable_problems(Path(spec.storage.path)) if "://" not in spec.storage.path else []


def writable_problems(folder: Path, *, field: str = "storage.path") -> list[str]:
    """Why ``folder`` (or, when it does not exist yet, the nearest folder above it that does) cannot hold a
    sweep: it is a file, no folder or file can be made in it, or it has less than :data:`MIN_FREE_BYTES` free.
    Checking leaves no trace: the probes are removed and the folder's modification time put back."""
    existing = next(parent for parent in (folder.absolute(), *folder.absolute().parents) if parent.exists())
    where = "" if existing == folder.absolute() else f" (its nearest existing parent is {existing})"
    if not existing.is_dir():
        return [f"{field}: must be a folder sweeps can be written to, but {existing} is a file{where}"]
    before = existing.stat()
    try:
        # Permission bits say little (root ignores them; /proc refuses folders to everyone): try it.
        os.rmdir(tempfile.mkdtemp(prefix=".finesweep-probe-", dir=existing))
        _probe_file(existing)
    except OSError as error:
        return [f"{field}: must be a folder sweeps can be written to, but got {str(folder)!r}, where nothing can "
                f"be written{where}: {error.strerror}; free space there, fix its permissions, or give another "
                f"{field}"]
    finally:
        with contextlib.suppress(OSError):  # a read-only folder keeps its time anyway
            os.utime(existing, ns=(before.st_atime_ns, before.st_mtime_ns))
    free = shutil.disk_usage(existing).free
    if free < MIN_FREE_BYTES:
        return [f"{field}: {existing} has {free / 2**20:.1f} MiB free, but a sweep needs at least "
                f"{MIN_FREE_BYTES // 2**20} MiB for its results, study and checkpoints; free space there or give "
                f"another {field}"]
    return []


def _probe_file(folder: Path) -> None:
    """Write and remove a small file in ``folder``: a full disk takes a folder but not its blocks."""
    probe = folder / f".finesweep-probe-{os.getpid()}"
    try:
        with open(probe, "wb") as file:
            file.write(bytes(PROBE_BYTES))
            file.flush()
            os.fsync(file.fileno())
    finally:
        probe.unlink(missing_ok=True)
