"""Files a crash must not leave half-written: atomic replacement, and a torn last line cut off."""

from __future__ import annotations

from pathlib import Path

import pytest

from sweeps.core.files import cut_torn_line, write_atomically


def test_an_atomic_write_replaces_the_file_or_leaves_the_old_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    target = tmp_path / "summary.json"
    write_atomically(target, "old")
    write_atomically(target, "new")
    assert target.read_text() == "new"

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("sweeps.core.files.os.fsync", disk_full)
    with pytest.raises(OSError):
        write_atomically(target, "newer")
    assert target.read_text() == "new" and [path.name for path in tmp_path.iterdir()] == ["summary.json"]


def test_a_torn_last_line_is_cut_and_whole_lines_are_kept(tmp_path: Path):
    lines = tmp_path / "optuna.journal"
    lines.write_bytes(b'{"op": 1}\n{"op": 2}\n{"op": 3, "va')
    assert cut_torn_line(lines) == len(b'{"op": 3, "va')
    assert lines.read_bytes() == b'{"op": 1}\n{"op": 2}\n'
    assert cut_torn_line(lines) == 0 and cut_torn_line(tmp_path / "absent") == 0
