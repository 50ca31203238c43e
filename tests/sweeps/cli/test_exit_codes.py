"""``finesweep run`` exits 0 only when a trial finished, and 1 when every trial failed, printing each kind of
error once with where its traceback is; a trial whose loss became NaN or infinite fails, and the sweep goes on.
Real sweeps on embedded Ray: a learning rate of 1000 sends the tiny model's loss to NaN within a few steps."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from sweeps.config.loading import read_spec
from sweeps.results.reading import trial_summaries
from tests.helpers.sweeps import write_tiny_sweep

DIVERGING_LR = 1000.0
TIMEOUT = 1200  # a whole sweep on embedded Ray, on a machine other test runs share
NAN_FAILURE = re.compile(r"trial (\w+) failed: trainer\.report\.NonFiniteLossError: the (training|eval) loss became "
                         r"(nan|inf|-inf) at step \d+, so the trial stopped")


def finesweep_run(spec_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sweeps", "run", str(spec_path)], cwd=spec_path.parent,
                          capture_output=True, text=True, timeout=TIMEOUT)


def _sweep(folder: Path, *, model_dir: Path, data_path: Path, rates: list[float]) -> Path:
    folder.mkdir()
    return write_tiny_sweep(folder / "sweep.yaml", model_dir=model_dir, data_path=data_path,
                            search={"num_trials": len(rates), "algorithm": "grid", "max_concurrent_trials": 1},
                            search_space={"training.learning_rate": {"type": "choice", "values": rates}},
                            scheduler={"name": "none"}, tracking={"wandb": {"mode": "disabled"}})


@pytest.mark.slow  # two sweeps on embedded Ray: a few minutes on 2 busy cores
def test_every_trial_failing_exits_1_with_the_error_and_a_nan_trial_fails_while_another_finishes(
        tmp_path: Path, tiny_model_dir: Path, qa_data_path: Path):
    spec_path = _sweep(tmp_path / "all-fail", model_dir=tiny_model_dir, data_path=qa_data_path, rates=[DIVERGING_LR])
    completed = finesweep_run(spec_path)
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert "Traceback" not in completed.stdout + completed.stderr  # Tune's own, per failed trial, are not shown
    assert "1 trials in" in completed.stdout and "0 finished (0 stopped early), 1 failed" in completed.stdout
    [failure] = NAN_FAILURE.finditer(completed.stderr)
    error_file = Path(re.search(r"traceback: (\S+error\.txt)", completed.stderr)[1])
    assert error_file.parent.name == failure[1] and "NonFiniteLossError" in error_file.read_text()
    assert "no trial finished" in completed.stderr

    spec_path = _sweep(tmp_path / "one-fails", model_dir=tiny_model_dir, data_path=qa_data_path,
                       rates=[DIVERGING_LR, 3e-2])
    completed = finesweep_run(spec_path)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "2 trials in" in completed.stdout and "1 finished (0 stopped early), 1 failed" in completed.stdout
    [failure] = NAN_FAILURE.finditer(completed.stderr)
    sweep_dir = spec_path.parent / "runs" / "tiny"
    trials = {trial.state: trial for trial in trial_summaries(sweep_dir, read_spec(sweep_dir))}
    assert trials["ERROR"].trial_id == failure[1] and trials["ERROR"].params["training.learning_rate"] == DIVERGING_LR
    assert trials["TERMINATED"].params["training.learning_rate"] == 3e-2 and trials["TERMINATED"].iterations == 4
