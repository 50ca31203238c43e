"""A sweep whose driver is SIGKILLed mid-trial, its study journal then torn mid-line (as a crash while
appending leaves it), and resumed: what each step saw, for the fault tests and the secrets search."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from fastapi.testclient import TestClient

from dashboard.app import create_app
from sweeps.core.layout import DRIVER_FILE, JOURNAL_FILE
from tests.helpers.faults import result_rows, running, tear_last_line, wait_for

SWEEP_TIMEOUT_S = 1500  # three tiny trials take 2–3 min on 2 idle cores, several times that under load
KILLED_TRIALS = 3


@dataclass
class KilledSweep:
    """A sweep whose driver was SIGKILLed mid-trial, its journal then torn, and resumed."""

    sweep_dir: Path
    ray_dir: Path  # RAY_TMPDIR of both drivers: their embedded Rays' session files and logs
    env: dict[str, str]
    rows_at_kill: dict[str, list[dict]]
    torn: bytes  # what the tear cut off the journal
    dashboard_on_torn_journal: dict[str, int]  # path → status
    left_by_killed_driver: list[int]  # its Ray processes still running when resume started
    left_after_claim: list[int]  # the same, once resume had taken the sweep over
    outputs: dict[str, str] = field(default_factory=dict)
    resume_code: int | None = None


def cli(*args: str, env: dict[str, str], log: Path) -> subprocess.Popen:
    """``finesweep ARGS`` in its own process, its output in ``log`` (a pipe nobody reads would fill up)."""
    return subprocess.Popen([sys.executable, "-m", "sweeps", *args], env=env, stdout=log.open("w"),
                            stderr=subprocess.STDOUT)


def mid_sweep(sweep_dir: Path) -> bool:
    """A trial has finished and the next one has reported (so it has a checkpoint) but not finished."""
    rows = result_rows(sweep_dir).values()
    finished = [trial for trial in rows if trial and trial[-1].get("training_finished")]
    return bool(finished) and any(trial and not trial[-1].get("training_finished") for trial in rows)


def kill_and_resume(spec_path: Path, *, sweep_dir: Path, env: dict[str, str], ray_dir: Path) -> KilledSweep:
    """Run the sweep, SIGKILL its driver once a trial has finished and the next has reported, tear the journal,
    ask the dashboard, resume; the processes the killed driver started are followed throughout."""
    logs = spec_path.parent
    descendants, rows_at_kill = kill_mid_sweep(spec_path, sweep_dir=sweep_dir, env=env, log=logs / "run.log")
    torn = tear_last_line(sweep_dir / JOURNAL_FILE)
    # The GCS and raylet go down with their driver (Ray ties them to it); the agents are checked below.
    wait_for(lambda: not [process for process in running(descendants)
                          if process.name() in ("raylet", "gcs_server")], timeout=120, what="GCS and raylet")
    dashboard = dashboard_statuses(sweep_dir)
    left = [process.pid for process in running(descendants)]
    resume = cli("resume", str(sweep_dir), env=env, log=logs / "resume.log")
    try:
        wait_for(lambda: resume.poll() is not None or json.loads((sweep_dir / DRIVER_FILE).read_text())["pid"]
                 == resume.pid, timeout=300, what="resume to take the sweep over", interval=0.2)
        left_after_claim = [process.pid for process in running(descendants)]
        resume.wait(timeout=SWEEP_TIMEOUT_S)
    finally:
        resume.kill()
    return KilledSweep(sweep_dir=sweep_dir, ray_dir=ray_dir, env=env, rows_at_kill=rows_at_kill, torn=torn,
                       dashboard_on_torn_journal=dashboard, left_by_killed_driver=left,
                       left_after_claim=left_after_claim, resume_code=resume.returncode,
                       outputs={name: (logs / f"{name}.log").read_text() for name in ("run", "resume")})


def kill_mid_sweep(spec_path: Path, *, sweep_dir: Path, env: dict[str, str], log: Path,
                   ) -> tuple[list[psutil.Process], dict[str, list[dict]]]:
    """``finesweep run``, SIGKILLed once a trial has finished and the next has reported; returns the processes
    it had started (its embedded Ray, W&B's service) and Tune's rows at that moment."""
    driver = cli("run", str(spec_path), env=env, log=log)
    try:
        wait_for(lambda: driver.poll() is not None or mid_sweep(sweep_dir), timeout=SWEEP_TIMEOUT_S,
                 what="a finished trial and a started one", interval=0.5)
        assert driver.poll() is None, log.read_text()
        return psutil.Process(driver.pid).children(recursive=True), result_rows(sweep_dir)
    finally:
        driver.kill()  # SIGKILL: no handler, no atexit, no Tune snapshot
        driver.wait()


def dashboard_statuses(sweep_dir: Path) -> dict[str, int]:
    """The dashboard's answer (HTTP status) to each of its pages and API calls about this sweep."""
    client = TestClient(create_app(storage_path=sweep_dir.parent, token=None), base_url="http://127.0.0.1")
    pages = ("/", "/api/sweeps", f"/sweeps/{sweep_dir.name}", f"/api/sweeps/{sweep_dir.name}",
             f"/api/sweeps/{sweep_dir.name}/importance")
    return {page: client.get(page).status_code for page in pages}
