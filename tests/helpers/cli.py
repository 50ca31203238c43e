"""The ``finesweep`` command run in this process, inside typer's ``CliRunner`` isolation: the exit code, stdout
and stderr a user would see, for the many bad-input cases that would each cost a process start otherwise.
``ray.init`` fails the test if a command tries to start or join Ray."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

from typer.testing import CliRunner

from sweeps.cli.app import main


@dataclass(frozen=True)
class CliOutcome:
    code: int
    stdout: str
    stderr: str


class RayStarted(AssertionError):
    """A command reached ``ray.init``: for a bad input, nothing may start."""


def run_finesweep(*args: str | Path) -> CliOutcome:
    """``finesweep <args>`` in this process; an exception the command does not turn into a message propagates
    (it would have been a traceback for the user)."""
    import ray

    with CliRunner().isolation() as (stdout, stderr, _), \
            mock.patch.object(ray, "init", side_effect=RayStarted(f"finesweep {args} started Ray")):
        try:
            main([str(arg) for arg in args])
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
        sys.stdout.flush()
        sys.stderr.flush()
        return CliOutcome(code, stdout.getvalue().decode(), stderr.getvalue().decode())


def tree(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under ``folder`` with its size and modification time."""
    return {str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns)
            for path in sorted(folder.rglob("*"))}
