"""Files that a crash, a full disk or a second Ctrl-C must never leave half-written."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomically(path: Path, content: str | bytes) -> None:
    """Write ``content`` to ``path`` through a file beside it and a rename: a reader, or a process killed
    mid-write, sees the old file or the new one, never part of one. A failed write leaves the old file."""
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    try:
        with open(partial, "wb") as file:
            file.write(content.encode() if isinstance(content, str) else content)
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def cut_torn_line(path: Path) -> int:
    """Cut a torn last line (a process killed, or a disk filled, while appending it) off a file of lines;
    returns the bytes cut. Appending after such a line would glue the next record onto it."""
    if not Path(path).is_file():
        return 0
    with open(path, "rb+") as file:
        content = file.read()
        whole = content.rfind(b"\n") + 1
        if whole < len(content):
            file.truncate(whole)
    return len(content) - whole
