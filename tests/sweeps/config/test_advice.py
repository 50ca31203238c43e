"""``validate`` says when a sweep's numbers make early stopping pointless: too few trials for the rungs, a
top rung few trials reach, every trial at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from sweeps.config.advice import scheduler_notes
from sweeps.spec import SweepSpec


def spec(**sections) -> SweepSpec:
    return SweepSpec.model_validate({"name": "s", "model": {"path": "m"}, "dataset": {"path": "d.jsonl"},
                                     **sections})


@pytest.mark.parametrize(("search", "scheduler", "expected"), [
    ({"num_trials": 4}, {}, "can stop no trial early in a sweep of 4 trials: its derived rungs need at least 6"),
    ({"num_trials": 3}, {"grace_period": 0.04, "reduction_factor": 2}, "about 0.2 trials would train to the end"),
    ({"num_trials": 8, "max_concurrent_trials": 8}, {}, "all 8 trials run at once"),
])
def test_pointless_early_stopping_gets_a_note(search: dict, scheduler: dict, expected: str):
    notes = scheduler_notes(spec(search=search, scheduler=scheduler))
    assert any(expected in note for note in notes), notes


@pytest.mark.parametrize(("search", "scheduler"), [
    ({"num_trials": 24, "max_concurrent_trials": 4}, {}),
    ({"num_trials": 4}, {"name": "none"}),
    ({"num_trials": 4}, {"grace_period": 0.25, "reduction_factor": 2}),
])
def test_a_sweep_that_can_stop_early_gets_no_note(search: dict, scheduler: dict):
    assert scheduler_notes(spec(search=search, scheduler=scheduler)) == []


def test_validate_prints_the_note_and_still_succeeds(tmp_path: Path, tiny_model_dir: Path, qa_data_path: Path):
    import subprocess
    import sys

    from tests.helpers.sweeps import write_tiny_sweep

    spec_path = write_tiny_sweep(tmp_path / "sweep.yaml", model_dir=tiny_model_dir, data_path=qa_data_path,
                                 scheduler={"name": "asha"})
    completed = subprocess.run([sys.executable, "-m", "sweeps", "validate", str(spec_path)], capture_output=True,
                               text=True, timeout=180)
    assert completed.returncode == 0, completed.stderr
    assert "note: scheduler: asha can stop no trial early in a sweep of 4 trials" in completed.stderr
