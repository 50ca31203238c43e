"""Nothing a user ran is lost: a sweep interrupted with Ctrl-C keeps its results, and `resume` finishes it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from search_spaces.searcher import journal_storage
from sweeps.config.loading import read_spec
from sweeps.core.layout import JOURNAL_FILE, TUNE_DIR
from sweeps.results.reading import trial_summaries
from tests.helpers.faults import wait_for
from tests.helpers.sweeps import write_tiny_sweep


def _finished_trial(sweep_dir: Path) -> Path | None:
    for result_file in sorted((sweep_dir / TUNE_DIR).glob("*/result.json")):
        if '"training_finished": true' in result_file.read_text():
            return result_file
    return None


@pytest.mark.slow
def test_interrupted_sweep_resumes_and_keeps_what_ran(tmp_path: Path, tiny_model_dir: Path, qa_data_path: Path):
    import optuna

    spec_path = write_tiny_sweep(tmp_path / "sweep.yaml", model_dir=tiny_model_dir, data_path=qa_data_path,
                                 scheduler={"name": "none"}, tracking={"wandb": {"mode": "disabled"}})
    sweep_dir = tmp_path / "runs" / "tiny"
    first = subprocess.Popen([sys.executable, "-m", "sweeps", "run", str(spec_path)],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    done_file = wait_for(lambda: _finished_trial(sweep_dir), timeout=600, what="a trial to finish", interval=2)
    rows_before = done_file.read_text()
    first.send_signal(signal.SIGINT)  # what Ctrl-C sends
    output, _ = first.communicate(timeout=180)
    assert "finesweep resume" in output, output

    resumed = subprocess.run([sys.executable, "-m", "sweeps", "resume", str(sweep_dir)], capture_output=True,
                             text=True, timeout=900)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    # The resumed run's progress counts the trial that finished before the interruption too: Tune hands the
    # progress callback the state it saved.
    finished_lines = [line for line in resumed.stdout.splitlines() if " finished at step " in line]
    assert "4 of 4 trials ended (4 done, 0 stopped, 0 failed)" in finished_lines[-1], resumed.stdout

    summaries = trial_summaries(sweep_dir, read_spec(sweep_dir))
    assert len(summaries) == 4
    assert all(summary.state == "TERMINATED" and summary.iterations == 4 for summary in summaries)
    assert done_file.read_text() == rows_before  # the finished trial was kept, not run again
    storage = journal_storage(sweep_dir / JOURNAL_FILE)
    study = optuna.load_study(study_name="tiny", storage=storage)
    assert len(study.trials) >= 4
    finished = json.loads(done_file.read_text().splitlines()[-1])
    assert finished["trial_id"] in {summary.trial_id for summary in summaries}
