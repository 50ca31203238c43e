"""The sweep's driver record: a live driver keeps the sweep, a dead one's leftover processes are stopped, and a
second Ctrl-C ends the process at once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import psutil
import pytest

from sweeps.core.errors import UserError
from sweeps.core.layout import DRIVER_FILE
from sweeps.run.driver import MARKER_ENV, claim_sweep, stop_leftovers
from tests.helpers.faults import wait_for


def test_a_sweep_whose_driver_lives_is_refused_and_a_dead_one_s_is_taken_over(tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(MARKER_ENV, "")  # restored after the test: claiming sets it
    claim_sweep(tmp_path)  # this process drives it now
    record = json.loads((tmp_path / DRIVER_FILE).read_text())
    assert record["pid"] == os.getpid() and os.environ[MARKER_ENV] == record["marker"]
    with pytest.raises(UserError, match=f"is being run by process {os.getpid()} on this machine; nothing was"):
        claim_sweep(tmp_path)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (tmp_path / DRIVER_FILE).write_text(json.dumps({**record, "pid": int(dead.stdout)}))
    claim_sweep(tmp_path)
    assert json.loads((tmp_path / DRIVER_FILE).read_text())["marker"] != record["marker"]


def test_the_processes_a_dead_driver_left_are_stopped_and_only_those(tmp_path: Path):
    """Its marker in their environment, or (Ray's agents, whose process titles hide their environment) a log
    file of its Ray session held open."""
    session = tmp_path / "ray" / "session_x"
    (session / "logs").mkdir(parents=True)
    sleep = [sys.executable, "-c", "import sys, time; handle = open(sys.argv[1], 'a'); time.sleep(300)"]
    record = {"marker": uuid.uuid4().hex, "started": psutil.Process().create_time(), "ray_session": str(session)}
    marked = subprocess.Popen([*sleep, str(tmp_path / "x.log")], env={**os.environ, MARKER_ENV: record["marker"]})
    agent = subprocess.Popen([*sleep, str(session / "logs" / "agent.log")])
    other = subprocess.Popen([*sleep, str(tmp_path / "other.log")], env={**os.environ, MARKER_ENV: "another"})
    try:
        wait_for(lambda: all(psutil.Process(process.pid).open_files() for process in (marked, agent, other)),
                 timeout=60, what="the processes to open their files", interval=0.1)
        assert sorted(stop_leftovers(record)) == sorted([marked.pid, agent.pid])
        # Gone (stop_leftovers waited for them, and so reaped these children of the test's process).
        assert not psutil.pid_exists(marked.pid) and not psutil.pid_exists(agent.pid) and other.poll() is None
    finally:
        for process in (marked, agent, other):
            process.kill()


def test_a_second_interrupt_exits_at_once_with_the_resume_command():
    code = ("import os, signal, time\n"
            "from sweeps.run.driver import exit_at_second_interrupt\n"
            "exit_at_second_interrupt('runs/x')\n"
            "os.kill(os.getpid(), signal.SIGINT)\n"
            "time.sleep(30)\n")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 128 + signal.SIGINT
    assert completed.stderr.strip() == "stopped at once; continue with `finesweep resume runs/x`"
