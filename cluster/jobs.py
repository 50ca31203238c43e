"""The job client: submit a sweep to a Ray cluster through Ray's Job API, then follow, inspect and stop it.

Everything that can go wrong before a job exists is checked first and raised as one :class:`UserError`
(exit 2) with nothing sent: an invalid sweep file, paths that would not mean the same on the cluster, a
package over the upload limit, an unreachable head, a refused token, and a local ``storage.path`` on a
multi-node cluster. The token travels only in each request's ``Authorization`` header; it never enters
``runtime_env`` (the dashboard shows it to everyone), logs or results. Neither does ``WANDB_API_KEY``: the
cluster's nodes need their own (see cluster/README.md).
"""

from __future__ import annotations

import asyncio
import secrets
import shlex
import socket
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from cluster.config import Target
from cluster.package import (
    path_problems,
    pinned_requirements,
    project_root,
    shipped_files,
    spec_arcname,
    write_package,
)
from sweeps.config.loading import apply_overrides, load_spec
from sweeps.config.yaml_files import read_yaml_mapping
from sweeps.core.errors import SpecError, UserError

if TYPE_CHECKING:
    from ray.job_submission import JobDetails, JobSubmissionClient

    from sweeps.spec import SweepSpec

CONNECT_TIMEOUT_S = 10  # a firewalled head would otherwise hang for the OS's TCP timeout
REQUEST_TIMEOUT_S = 30
TERMINAL = ("SUCCEEDED", "FAILED", "STOPPED")


@dataclass(frozen=True)
class Submission:
    """A submitted sweep: the job id to follow, what runs, and what was shipped where."""

    job_id: str
    sweep: str
    trials: str  # how long it runs: `8 trials`, or up to a budget (SearchSpec.extent)
    sweep_dir: str  # on the cluster's storage
    entrypoint: str
    package_bytes: int
    nodes: int


def submit_sweep(*, target: Target, spec_path: Path, overrides: Sequence[str] = (), pip: bool = True) -> Submission:
    """Check the sweep and the cluster, ship the project with the sweep file, and start ``finesweep run``
    on the cluster. With ``pip`` (the default) the job's ``runtime_env`` pins the project's dependencies to
    the versions installed here, so every node runs what the laptop tested; ``pip=False`` runs on the
    nodes' own environment (an image or ``ray up`` setup that already pins them, or no package index)."""
    spec = load_spec(spec_path, overrides, check_files=False)  # the model and data may exist only there
    project = project_root()
    files = shipped_files(project)
    problems = path_problems(_raw(spec_path, overrides), spec_path=spec_path, project=project, shipped=set(files))
    if problems:
        raise SpecError(str(spec_path), problems)
    arcname = spec_arcname(spec_path, project)
    with tempfile.TemporaryDirectory(prefix="finesweep-submit-") as scratch:
        package = Path(scratch) / "project.zip"
        size = write_package(project=project, files=files, spec_path=spec_path, arcname=arcname, dest=package)
        client = connect(target=target)
        nodes = alive_node_count(target=target)
        check_storage(spec, nodes=nodes, address=target.address)
        # `python -m sweeps` runs from the working dir; Ray sets RAY_ADDRESS, so the sweep joins this cluster.
        entrypoint = shlex.join(["python", "-m", "sweeps", "run", arcname, *overrides])
        with job_api(target):
            job_id = client.submit_job(entrypoint=entrypoint, runtime_env=job_runtime_env(package=package, pip=pip),
                                       submission_id=f"finesweep-{spec.name}-{secrets.token_hex(4)}",
                                       metadata={"sweep": spec.name})
    return Submission(job_id=job_id, sweep=spec.name, trials=spec.search.extent(), sweep_dir=spec.sweep_dir,
                      entrypoint=entrypoint, package_bytes=size, nodes=nodes)


def job_runtime_env(*, package: Path, pip: bool) -> dict[str, Any]:
    """The job's ``runtime_env``: the zipped project and, with ``pip``, the pinned dependencies. Nothing
    else, and no ``env_vars``: the dashboard shows a job's runtime_env to everyone who can open it."""
    runtime_env: dict[str, Any] = {"working_dir": str(package)}
    if pip:
        # Nodes that already hold these versions install nothing; pip's own check would only slow the start.
        runtime_env["pip"] = {"packages": pinned_requirements(), "pip_check": False}
    return runtime_env


def _raw(spec_path: Path, overrides: Sequence[str]) -> dict[str, Any]:
    # The paths as written (load_spec has made them absolute here), with the overrides applied.
    raw = read_yaml_mapping(spec_path)
    apply_overrides(raw, overrides)
    return raw


def check_storage(spec: SweepSpec, *, nodes: int, address: str) -> None:
    """Refuse a storage path local to one node when the cluster has several: each node would keep its own
    trials' results and checkpoints, and the sweep could not be read or resumed as one."""
    path = spec.storage.path
    if nodes <= 1 or spec.storage.shared or ("://" in path and not path.startswith("file://")):
        return
    raise UserError(f"storage.path {path!r} is a local folder, but the cluster at {address} has {nodes} nodes: "
                    f"trials on other nodes would write to their own disks. Use a folder every node mounts "
                    f"(NFS) and declare it with storage.shared=true, or an s3:// or gs:// URI; nothing was sent")


def connect(*, target: Target) -> JobSubmissionClient:
    """A Job API client for ``target``, after checking that the head answers and accepts the token."""
    _check_reachable(target)
    import requests
    from ray.job_submission import JobSubmissionClient

    with job_api(target):
        try:
            return JobSubmissionClient(target.address, headers=_auth_headers(target))
        # Something answers on that port, but not Ray's Job API (a 404, an HTML page, a server error).
        except (RuntimeError, ValueError, requests.exceptions.HTTPError) as error:
            raise UserError(f"{target.address} (from {target.source}) does not answer as a Ray Job API"
                            f": {error}; give the head's dashboard URL (port 8265 by default). "
                            f"Nothing was sent") from None


def _auth_headers(target: Target) -> dict[str, str]:
    return {"Authorization": f"Bearer {target.token}"} if target.token else {}


def _check_reachable(target: Target) -> None:
    url = urlsplit(target.address)
    try:
        port = url.port or (443 if url.scheme == "https" else 80)
        socket.create_connection((url.hostname or "", port), timeout=CONNECT_TIMEOUT_S).close()
    except (OSError, ValueError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error) or "timed out"
        raise UserError(f"cannot reach the Ray Job API at {target.address} (from {target.source}): {reason}. "
                        f"Is the head node up, and is its dashboard port open to you (e.g. `ray dashboard "
                        f"cluster.yaml` or `kubectl port-forward svc/<cluster>-head-svc 8265`)? "
                        f"Nothing was sent") from None


@contextmanager
def job_api(target: Target, job_id: str | None = None) -> Iterator[None]:
    """Turn the Job API's failures into one-line user errors."""
    import requests
    from ray.exceptions import AuthenticationError

    try:
        yield
    except AuthenticationError:
        raise UserError(_refused(target)) from None
    except (ConnectionError, requests.exceptions.ConnectionError, requests.exceptions.Timeout) as error:
        raise UserError(f"lost the Ray Job API at {target.address}: {error}") from None
    except RuntimeError as error:
        if job_id is None or "status code 404" not in str(error):
            raise
        raise UserError(f"no job {job_id!r} on the cluster at {target.address}; `finesweep list` shows its jobs"
                        ) from None


def _refused(target: Target) -> str:
    if target.token is None:
        return (f"the cluster at {target.address} requires a token and none was given: set RAY_AUTH_TOKEN or "
                f"pass --token-file (on the head, `ray get-auth-token` prints it); nothing was sent")
    return (f"the cluster at {target.address} refused the token: it is not this cluster's token (check "
            f"RAY_AUTH_TOKEN, --token-file or the clusters file); nothing was sent")


def alive_node_count(*, target: Target) -> int:
    """Alive nodes, from the State API behind the same address and token."""
    import requests

    reply = requests.get(f"{target.address}/api/v0/nodes", params={"limit": 10000, "detail": "false"},
                         headers=_auth_headers(target), timeout=REQUEST_TIMEOUT_S)
    if reply.status_code in (401, 403):
        raise UserError(_refused(target))
    reply.raise_for_status()
    return sum(node.get("state") == "ALIVE" for node in reply.json()["data"]["result"]["result"])


def job_info(*, target: Target, job_id: str) -> JobDetails:
    client = connect(target=target)
    with job_api(target, job_id):
        return client.get_job_info(job_id)


def list_jobs(*, target: Target) -> list[JobDetails]:
    """Every job the cluster knows, newest first."""
    client = connect(target=target)
    with job_api(target):
        return sorted(client.list_jobs(), key=lambda job: job.start_time or 0, reverse=True)


def job_logs(*, target: Target, job_id: str) -> str:
    client = connect(target=target)
    with job_api(target, job_id):
        return client.get_job_logs(job_id)


def follow_logs(*, target: Target, job_id: str, write: Callable[[str], Any]) -> str:
    """Pass the job's output to ``write`` as it comes, until the job ends; returns its final status."""
    client = connect(target=target)

    async def tail() -> None:
        async for chunk in client.tail_job_logs(job_id):
            write(chunk)

    with job_api(target, job_id):
        client.get_job_info(job_id)  # an unknown id fails here, clearly, not in the websocket
        asyncio.run(tail())
    # The log stream closes as the driver exits, a moment before the job's status records how it ended.
    return wait_for_status(target=target, job_id=job_id, statuses=TERMINAL, timeout_s=30)


def stop_job(*, target: Target, job_id: str, timeout_s: float = 60) -> str:
    """Ask the job to stop (Ray ends the driver, and with it the sweep's trials); returns the final status."""
    client = connect(target=target)
    with job_api(target, job_id):
        client.stop_job(job_id)
    return wait_for_status(target=target, job_id=job_id, statuses=TERMINAL, timeout_s=timeout_s)


def wait_for_status(*, target: Target, job_id: str, statuses: Sequence[str], timeout_s: float) -> str:
    """Poll until the job's status is one of ``statuses`` (or terminal); returns the status it reached."""
    client = connect(target=target)
    deadline = time.monotonic() + timeout_s
    while True:
        with job_api(target, job_id):
            status = str(client.get_job_status(job_id))
        if status in statuses or status in TERMINAL or time.monotonic() > deadline:
            return status
        time.sleep(1)
