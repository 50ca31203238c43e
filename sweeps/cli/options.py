"""What every ``finesweep`` command shares: the consoles it prints to and the typed arguments and options."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

out = Console()
err = Console(stderr=True)

SpecPath = Annotated[Path, typer.Argument(help="The sweep file (YAML).")]
Overrides = Annotated[list[str] | None, typer.Argument(help="KEY=VALUE overrides, e.g. search.num_trials=8.")]
SweepDir = Annotated[Path, typer.Argument(help="A sweep directory, <storage.path>/<name>.")]
Address = Annotated[str | None, typer.Option(help="Ray cluster address (default: RAY_ADDRESS, else an "
                                                "embedded local Ray).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON (keys: README, --json).")]
