"""A real two-node Ray cluster for tests: a token-authenticated head and one worker node, on loopback only.

Every process belongs to this cluster alone: a fresh short temp dir (unix socket paths must stay under
~107 characters), free ports, and ``ray start --block`` per node in its own session, so teardown ends
exactly these processes and never another engineer's Ray (``ray stop`` would end every Ray on the machine).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import requests

from sweeps.core.net import free_loopback_port

RAY = str(Path(sys.executable).with_name("ray"))
MARKER_ENV = "FINESWEEP_TEST_CLUSTER"  # set on every node process, to find them all at teardown
START_TIMEOUT_S = 300  # minutes on a 2-core machine under other engineers' load


@dataclass
class RayCluster:
    """A head and ``len(nodes) - 1`` workers; ``address`` is the dashboard (Job API) URL."""

    temp_dir: Path
    token: str
    gcs_port: int
    dashboard_port: int
    processes: list[subprocess.Popen] = field(default_factory=list)  # one `ray start --block` per node started
    lost: set[int] = field(default_factory=set)  # indices (in ``processes``) of the nodes a test killed
    replaced: int = 0  # how many of them were replaced by a new node

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.dashboard_port}"

    def env(self) -> dict[str, str]:
        """The environment of a process that holds the cluster's token (a node, or the stock `ray` CLI)."""
        return {**laptop_env(), "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": self.token}

    def node_env(self) -> dict[str, str]:
        # Train V2's placement-group cleaner asks the State API without an address; Ray then looks for a GCS on
        # this machine and, with other engineers' Ray instances running here, finds several and gives up, so
        # ASHA-stopped trials keep their CPUs. Naming the API server settles it (one Ray per machine needs not).
        # A loaded machine registers a node slower than Ray's default 30 s wait, and starts the dashboard slower
        # than its 60 s (seen at load average 80: the head then runs without its Job API).
        return {**self.env(), "RAY_API_SERVER_ADDRESS": self.address, "RAY_raylet_start_wait_time_s": "180",
                "RAY_DASHBOARD_STARTUP_TIMEOUT_S": "300", MARKER_ENV: str(self.temp_dir)}

    def start_node(self, *, head: bool, num_cpus: int) -> None:
        role = ["--head", f"--port={self.gcs_port}", f"--dashboard-port={self.dashboard_port}",
                "--dashboard-host=127.0.0.1", f"--ray-client-server-port={free_loopback_port()}"] if head else [
                f"--address=127.0.0.1:{self.gcs_port}"]
        # Ports with a fixed default are set (another Ray on the machine may hold them); Ray picks the rest.
        ports = [f"--dashboard-agent-listen-port={free_loopback_port()}", "--min-worker-port=0", "--max-worker-port=0"]
        # Each node its own temp dir, as on separate machines: nodes sharing one unpack the same job package
        # into the same folder at once, and a driver running in it crashed.
        node_dir = self.temp_dir / f"n{len(self.processes)}"
        node_dir.mkdir()
        command = [RAY, "start", "--block", *role, *ports, "--node-ip-address=127.0.0.1", f"--num-cpus={num_cpus}",
                   f"--temp-dir={node_dir}", "--object-store-memory=200000000", "--disable-usage-stats"]
        log = (self.temp_dir / f"start-{len(self.processes)}.log").open("w")
        self.processes.append(subprocess.Popen(command, env=self.node_env(), stdout=log, stderr=subprocess.STDOUT,
                                               start_new_session=True))

    def wait_for_nodes(self, count: int) -> list[str]:
        """The node ids once ``count`` nodes are alive (asked through the authenticated State API)."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if any(process.poll() is not None for index, process in enumerate(self.processes)
                   if index not in self.lost):
                raise RuntimeError(f"a `ray start` exited:\n{self.logs()}")
            if self._start_failed():
                raise RuntimeError(f"a node failed to start:\n{self.logs()}")
            try:
                reply = requests.get(f"{self.address}/api/v0/nodes", timeout=5,
                                     headers={"Authorization": f"Bearer {self.token}"})
                nodes = [node for node in reply.json()["data"]["result"]["result"] if node["state"] == "ALIVE"]
                if len(nodes) >= count:
                    return sorted(node["node_id"] for node in nodes)
            except (requests.RequestException, KeyError, ValueError):
                pass
            time.sleep(1)
        raise TimeoutError(f"{count} Ray nodes not alive after {START_TIMEOUT_S} s:\n{self.logs()}")

    def kill_raylet(self, node: int) -> int:
        """SIGKILL the raylet of the ``node``-th node started (0 = the head), as the loss of its machine would
        end it, and wait for its `ray start --block` to notice and exit; returns the raylet's process id."""
        raylet = self._raylet(node)
        raylet.kill()
        self.lost.add(node)
        try:
            self.processes[node].wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(self.processes[node].pid, signal.SIGKILL)
        return raylet.pid

    def _raylet(self, node: int) -> psutil.Process:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            raylets = [process for process in own_processes(self.temp_dir) if process.name() == "raylet"
                       and any(f"{self.temp_dir}/n{node}/" in part for part in process.cmdline())]
            if raylets:
                return raylets[0]
            time.sleep(0.5)
        raise TimeoutError(f"node {node} has no raylet after {START_TIMEOUT_S} s:\n{self.logs()}")

    def replace_lost_nodes(self, *, num_cpus: int) -> list[str]:
        """A new worker node for each node killed since the last call (a replacement machine joins); returns
        the node ids once as many nodes as were started and not killed are alive."""
        for _ in range(len(self.lost) - self.replaced):
            self.start_node(head=False, num_cpus=num_cpus)
            self._raylet(len(self.processes) - 1)  # the GCS may count the lost node alive for a while yet
        self.replaced = len(self.lost)
        return self.wait_for_nodes(len(self.processes) - len(self.lost))

    def _start_failed(self) -> bool:
        # Seen under load: the head left without its dashboard (so without the Job API), or a raylet aborted
        # on "Check failed" while its `ray start --block` lived on. Either way, retry at once, not after minutes.
        logs = [*self.temp_dir.glob("start-*.log"), *self.temp_dir.glob("n*/session_latest/logs/raylet.out")]
        return any(marker in path.read_text(errors="replace") for path in logs
                   for marker in ("Failed to start the dashboard", "Check failed"))

    def logs(self) -> str:
        """The end of each `ray start` log and the raylets' errors, for an error message: the temp dir goes
        at teardown."""
        parts = [f"--- {path.name}\n{path.read_text(errors='replace')[-1500:]}"
                 for path in sorted(self.temp_dir.glob("start-*.log"))]
        for path in sorted(self.temp_dir.glob("n*/session_latest/logs/raylet.out")):
            errors = [line for line in path.read_text(errors="replace").splitlines()
                      if re.search(r"Check failed|\] (E|F) |Error", line)]
            parts.append(f"--- {path.parent.parent.parent.name}/raylet.out\n" + "\n".join(errors[:20]))
        return "\n".join(parts)

    def stop(self) -> None:
        """SIGTERM each `ray start --block` (it drains and stops its node), then kill what is left of ours."""
        for process in self.processes:
            process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        for leftover in own_processes(self.temp_dir):
            leftover.kill()
        shutil.rmtree(self.temp_dir, ignore_errors=True)


def own_processes(temp_dir: Path) -> list[psutil.Process]:
    """This cluster's processes: their environment carries its marker (agents and workers renamed by
    setproctitle included), or their command line names its temp dir."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if process.pid == os.getpid():
            continue
        try:
            marked = process.environ().get(MARKER_ENV) == str(temp_dir)
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            marked = False
        if marked or any(str(temp_dir) in part for part in process.info["cmdline"] or ()):
            found.append(process)
    return found


def laptop_env() -> dict[str, str]:
    """This environment without Ray settings (no process picks up another cluster's address or token), with
    this venv first on PATH, so `python` in a job's entrypoint is the project's interpreter."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("RAY_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def start_cluster(*, cpus_per_node: int = 1, nodes: int = 2, attempts: int = 2, head_cpus: int | None = None,
                  ) -> tuple[RayCluster, list[str]]:
    """A fresh cluster of ``nodes`` nodes and their ids, the head with ``head_cpus`` (default: as the others; 0
    keeps every task and trial off it). A failed start is torn down and tried again: under heavy load a
    joining raylet sometimes aborts ("Check failed" in node_manager.cc) or times out."""
    for _ in range(attempts - 1):
        try:
            return _start_once(cpus_per_node=cpus_per_node, nodes=nodes, head_cpus=head_cpus)
        except (RuntimeError, TimeoutError):
            continue
    return _start_once(cpus_per_node=cpus_per_node, nodes=nodes, head_cpus=head_cpus)


def _start_once(*, cpus_per_node: int, nodes: int, head_cpus: int | None) -> tuple[RayCluster, list[str]]:
    cluster = RayCluster(temp_dir=Path(tempfile.mkdtemp(prefix="fs-", dir="/tmp")), token=secrets.token_hex(32),
                         gcs_port=free_loopback_port(), dashboard_port=free_loopback_port())
    try:
        cluster.start_node(head=True, num_cpus=cpus_per_node if head_cpus is None else head_cpus)
        cluster.wait_for_nodes(1)
        for _ in range(nodes - 1):
            cluster.start_node(head=False, num_cpus=cpus_per_node)
        return cluster, cluster.wait_for_nodes(nodes)
    except BaseException:
        cluster.stop()
        raise
