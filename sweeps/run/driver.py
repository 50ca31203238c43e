"""Which process drives a sweep, and what a driver that died left running.

``run`` and ``resume`` record their process in the sweep directory (``driver.json``), with the session folder
of the embedded Ray they start, and put a marker in the environment that its processes inherit. A SIGKILLed
driver takes its GCS, raylet and trial workers with it within seconds, but Ray's dashboard and runtime-env
agents outlive it by about a minute (each gives the dead GCS 60 s to hear of the raylet's death). ``resume``
ends those first: a process carrying the marker, or (the agents: their process titles overwrite what
``/proc`` shows of their environment) holding a log file open in that session's folder. It refuses to start
while the recorded driver is still alive: two drivers would write one sweep. A driver on a cluster records no
session, and nothing on a cluster is ever stopped.

Ctrl-C: Tune takes the first (it stops the trials and saves the sweep's state, then ``run`` prints the resume
command); a second ends the driver at once, see :func:`exit_at_second_interrupt`.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

import psutil

from sweeps.core.errors import UserError
from sweeps.core.files import write_atomically
from sweeps.core.layout import DRIVER_FILE

log = logging.getLogger(__name__)
MARKER_ENV = "FINESWEEP_DRIVER"  # inherited by every process of the Ray a driver starts
LEFTOVER_EXIT_S = 30  # a killed process exits in milliseconds, but a loaded machine may take seconds to run it


def claim_sweep(sweep_dir: Path) -> dict[str, Any] | None:
    """Make this process the driver of ``sweep_dir`` and return the previous driver's record: a UserError if
    that one still runs; the Ray processes a dead one left are stopped first."""
    previous = _recorded(sweep_dir)
    if previous and _alive(previous):
        raise UserError(f"{sweep_dir} is being run by process {previous['pid']} on this machine; nothing was "
                        "started. Stop it first (Ctrl-C), or wait for it to end")
    if previous:
        stop_leftovers(previous)
    marker = uuid.uuid4().hex
    os.environ[MARKER_ENV] = marker
    record = {"pid": os.getpid(), "started": psutil.Process().create_time(), "host": socket.gethostname(),
              "marker": marker}
    write_atomically(Path(sweep_dir) / DRIVER_FILE, json.dumps(record, indent=2))
    return previous


def record_ray_session(sweep_dir: Path) -> None:
    """Add the session folder of the embedded Ray this driver started to its record."""
    import ray

    context = ray.get_runtime_context()
    record = {**_recorded(sweep_dir), "ray_session": str(Path(context.get_temp_dir()) / context.get_session_name())}
    write_atomically(Path(sweep_dir) / DRIVER_FILE, json.dumps(record, indent=2))


def stop_leftovers(record: dict[str, Any]) -> list[int]:
    """Kill the processes a dead driver (its ``record``) started and return their ids once they are gone."""
    leftovers = []
    for process in psutil.process_iter():
        try:
            if process.pid != os.getpid() and _started_by(process, record):
                process.kill()
                leftovers.append(process)
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
    psutil.wait_procs(leftovers, timeout=LEFTOVER_EXIT_S)
    if leftovers:
        log.warning("stopped %d Ray processes the sweep's previous driver left running: %s", len(leftovers),
                    ", ".join(str(process.pid) for process in leftovers))
    return [process.pid for process in leftovers]


def _started_by(process: psutil.Process, record: dict[str, Any]) -> bool:
    if process.environ().get(MARKER_ENV) == record["marker"]:
        return True
    session = record.get("ray_session")
    return bool(session) and process.create_time() >= record["started"] and any(
        Path(file.path).is_relative_to(session) for file in process.open_files())


def _recorded(sweep_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((Path(sweep_dir) / DRIVER_FILE).read_text())
    except (OSError, ValueError):
        return None  # never recorded (a sweep from before this file existed)


def _alive(record: dict[str, Any]) -> bool:
    """Whether the recorded driver still runs: same host, same process id and start time (ids are reused)."""
    if record.get("host") != socket.gethostname():
        return False
    try:
        process = psutil.Process(record["pid"])
        return process.create_time() == record["started"] and process.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, KeyError):
        return False


def exit_at_second_interrupt(sweep_dir: Path | str) -> None:
    """From now on, a Ctrl-C that Tune does not take ends this process at once, with the resume command.

    Tune's ``fit`` takes SIGINT for itself and, at the first one, hands it back to the handler it found: this
    one, which then also covers the summary and Ray's shutdown at exit. Exiting without unwinding is safe:
    the sweep's own files are written atomically, Tune's state and Optuna's journal survive a kill (``resume``
    is built for one), and the embedded Ray dies with its driver. For the ``finesweep`` process only (a
    library caller keeps its own handlers); outside the main thread Python delivers no signals, so nothing."""
    if threading.current_thread() is not threading.main_thread():
        return

    def stop_now(signum: int, frame: Any) -> None:
        sys.stdout.flush()
        print(f"\nstopped at once; continue with `finesweep resume {sweep_dir}`", file=sys.stderr, flush=True)
        os._exit(128 + signum)

    signal.signal(signal.SIGINT, stop_now)
