"""The live table of trials, written to a log or a pipe (a submitted job's output, CI): it ends its last line,
so the summary and the failures printed after it start on their own lines."""

from __future__ import annotations

import io
from types import SimpleNamespace

from rich.console import Console

from sweeps.run.progress import LiveTrialTable


def test_the_table_ends_its_line_when_not_on_a_terminal():
    written = io.StringIO()
    table = LiveTrialTable(metric="eval_loss", mode="min", console=Console(file=written, width=100))
    table.setup()
    table.on_trial_error(0, [], SimpleNamespace(trial_id="aaaa0001", config={"method.r": 4}))
    table.on_experiment_end([])
    assert "aaaa0001 │ ERROR" in written.getvalue()
    assert written.getvalue().endswith("┘\n")
