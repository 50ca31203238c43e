"""Pre-flight of ``storage.path``: the sweep directory can be made there. Part of
:func:`sweeps.config.checks.cross_check`, for a sweep that runs on this machine."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from sweeps.spec import SweepSpec


def storage_problems(spec: SweepSpec) -> list[str]:
    """``storage.path`` (a local folder; URIs are the cluster's to check) must be a folder this process can
    create folders in, or be creatable under its nearest existing parent."""
    path = spec.storage.path
    if "://" in path:
        return []
    existing = Path(path)
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    where = "" if existing == Path(path) else f" (its nearest existing parent is {existing})"
    if not existing.is_dir():
        return [f"storage.path: must be a folder sweeps can be written to, but {existing} is a file{where}"]
    before = existing.stat()
    try:
        # Permission bits say little (root ignores them; /proc refuses folders to everyone): try it, and put
        # the folder's modification time back, so that checking leaves no trace.
        os.rmdir(tempfile.mkdtemp(prefix=".finesweep-probe-", dir=existing))
        os.utime(existing, ns=(before.st_atime_ns, before.st_mtime_ns))
    except OSError as error:
        return [f"storage.path: must be a folder sweeps can be written to, but got {path!r}, where no folder can "
                f"be made{where}: {error.strerror}"]
    return []
