"""The driver dies: SIGKILLed mid-sweep (with the study journal torn mid-line, as a crash while appending
leaves it), or stopped with two Ctrl-Cs. `finesweep resume` finishes the sweep with nothing lost or run twice,
the study and Tune agree trial by trial, no Ray process of the dead driver is left; a second Ctrl-C exits at
once and leaves every file whole. The killed sweep (``killed_sweep``, conftest.py) runs with fake secrets in
its environment, and test_secrets.py searches everything it produced for them."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from sweeps.config.loading import read_spec
from sweeps.results.reading import trial_summaries
from tests.helpers.faults import result_rows, study_disagreements, unreadable_files, wait_for
from tests.helpers.killed_sweep import KILLED_TRIALS, SWEEP_TIMEOUT_S, KilledSweep, cli
from tests.helpers.ray_cluster import laptop_env
from tests.helpers.sweeps import write_tiny_sweep

pytestmark = pytest.mark.slow


def test_a_killed_driver_is_resumed_with_nothing_lost_or_run_twice(killed_sweep: KilledSweep):
    sweep = killed_sweep
    assert sweep.resume_code == 0, sweep.outputs["resume"][-3000:]
    summaries = trial_summaries(sweep.sweep_dir, read_spec(sweep.sweep_dir))
    assert len(summaries) == KILLED_TRIALS and all(summary.state == "TERMINATED" for summary in summaries)
    rows = result_rows(sweep.sweep_dir)
    for trial_id, before in sweep.rows_at_kill.items():
        if before and before[-1]["training_finished"]:
            assert rows[trial_id] == before, f"finished trial {trial_id} ran again"
    for trial_id, trial_rows in rows.items():  # every report once, numbered in order, training to its end
        assert [row["step"] for row in trial_rows] == [3, 6, 9, 12], trial_id
        assert [row["training_iteration"] for row in trial_rows] == [1, 2, 3, 4], trial_id
    [interrupted] = [trial_id for trial_id, before in sweep.rows_at_kill.items()
                     if before and not before[-1]["training_finished"]]
    # Train may have saved checkpoints (and even finished) before the killed driver recorded their reports: the
    # resumed trial reports those again from its checkpoint (as they were), then trains on from it, not from 0.
    killed_session = sweep.rows_at_kill[interrupted][0]["node_id"]
    trained_after = [row for row in rows[interrupted] if row["node_id"] != killed_session]
    assert all(0 < row["resumed_from_step"] < row["step"] for row in trained_after), trained_after
    assert sweep.torn and study_disagreements(sweep.sweep_dir) == []


def test_no_ray_process_of_the_killed_driver_outlives_the_resume(killed_sweep: KilledSweep):
    """Ray's dashboard and runtime-env agents outlive a SIGKILLed driver by about a minute; resume stops them
    before it starts its own Ray, and names them: they were the dead driver's, nobody else's."""
    assert killed_sweep.left_after_claim == []
    named = re.search(r"stopped \d+ Ray processes the sweep's previous driver left running: ([\d, ]+)",
                      killed_sweep.outputs["resume"])
    stopped = {int(pid) for pid in named.group(1).split(", ")} if named else set()
    assert stopped <= set(killed_sweep.left_by_killed_driver)
    print(f"\nleft by the killed driver: {len(killed_sweep.left_by_killed_driver)} processes; stopped by "
          f"resume: {len(stopped)}; left after resume took over: {len(killed_sweep.left_after_claim)}")


def test_the_dashboard_reads_a_torn_journal(killed_sweep: KilledSweep):
    assert set(killed_sweep.dashboard_on_torn_journal.values()) == {200}, killed_sweep.dashboard_on_torn_journal


def test_a_second_ctrl_c_exits_at_once_and_leaves_every_file_whole(tmp_path: Path, tiny_model_dir: Path,
                                                                    qa_data_path: Path):
    spec_path = write_tiny_sweep(tmp_path / "sweep.yaml", model_dir=tiny_model_dir, data_path=qa_data_path,
                                 name="twice", scheduler={"name": "none"}, tracking={"wandb": {"mode": "disabled"}},
                                 search={"num_trials": 2, "seed": 0, "max_concurrent_trials": 1})
    sweep_dir = tmp_path / "runs" / "twice"
    driver = cli("run", str(spec_path), env=laptop_env(), log=tmp_path / "run.log")
    try:
        wait_for(lambda: driver.poll() is not None or any(result_rows(sweep_dir).values()), timeout=SWEEP_TIMEOUT_S,
                 what="a first report", interval=0.5)
        driver.send_signal(signal.SIGINT)
        wait_for(lambda: "Stop signal received" in (tmp_path / "run.log").read_text(), timeout=60,
                 what="Tune to take the first Ctrl-C", interval=0.1)
        driver.send_signal(signal.SIGINT)
        code = driver.wait(timeout=60)
    finally:
        driver.kill()
    output = (tmp_path / "run.log").read_text()
    assert code == 128 + signal.SIGINT, output[-3000:]
    assert f"stopped at once; continue with `finesweep resume {sweep_dir}`" in output
    assert "Traceback" not in output, output[-3000:]
    assert unreadable_files(sweep_dir) == []
    best = subprocess.run([sys.executable, "-m", "sweeps", "best", str(sweep_dir), "--json"], capture_output=True,
                          text=True, timeout=300)
    assert best.returncode == 0 and json.loads(best.stdout)["iterations"] >= 1, best.stderr
