"""What ``finesweep run`` prints when its output is a pipe (CI, ``| tee``, a cluster job's logs): one plain line
per trial event as it happens, then the summary, set apart; nothing from Ray. A real tiny sweep with two trials
at a time on one CPU each, the setting in which Ray used to warn about its worker count."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from sweeps.config.loading import read_spec
from sweeps.results.reading import trial_summaries
from tests.helpers.sweeps import write_tiny_sweep

SWEEP_TIMEOUT_S = 1200
EVENT = re.compile(r"\[ ?\d+:\d\d(:\d\d)?\] trial (\w+) (started|reported|stopped early|finished|failed)\b")
RAY_NOISE = ("(raylet)", "WARNING", "Token authentication", "worker processes", "Traceback")


@pytest.mark.slow
def test_piped_output_is_one_line_per_trial_event_and_no_ray_notices(tmp_path: Path, tiny_model_dir: Path,
                                                                     qa_data_path: Path):
    spec_path = write_tiny_sweep(tmp_path / "sweep.yaml", model_dir=tiny_model_dir, data_path=qa_data_path,
                                 resources={"workers": 1, "cpus_per_worker": 1},
                                 tracking={"wandb": {"mode": "disabled"}})
    # Pipes, as in CI or `| tee`: neither stdout nor stderr is a terminal.
    completed = subprocess.run([sys.executable, "-m", "sweeps", "run", str(spec_path),
                                "search.max_concurrent_trials=2"], capture_output=True, text=True,
                               timeout=SWEEP_TIMEOUT_S)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert not [noise for noise in RAY_NOISE if noise in completed.stdout + completed.stderr], completed.stderr
    assert all(line.startswith("note: ") for line in completed.stderr.splitlines()), completed.stderr

    events, summary = completed.stdout.split("\n\n", 1)
    matches = [EVENT.match(line) for line in events.splitlines()]
    assert all(matches), events
    sweep_dir = tmp_path / "runs" / "tiny"
    trials = trial_summaries(sweep_dir, read_spec(sweep_dir))
    assert len(trials) == 4 and any(trial.stopped_early for trial in trials)
    for trial in trials:
        kinds = [match.group(3) for match in matches if match.group(2) == trial.trial_id]
        ending = "stopped early" if trial.stopped_early else "finished"
        assert kinds == ["started", *["reported"] * trial.iterations, ending], (trial, kinds)
    assert summary.startswith("4 trials in ") and "early stopping saved " in summary
