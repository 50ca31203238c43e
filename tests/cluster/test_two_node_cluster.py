"""A real two-node Ray cluster (token auth, loopback) driven from a separate "laptop" process, as a user would:
``finesweep submit`` follows a sweep whose trials run on both nodes, ``stop`` ends a running job, requests
without the right token are refused, and the stock ``ray job submit`` runs a sweep too."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from cluster.config import Target
from cluster.jobs import job_info, job_logs, list_jobs, wait_for_status
from sweeps.config.loading import read_spec
from sweeps.core.layout import SUMMARY_FILE, TUNE_DIR
from sweeps.results.reading import trial_summaries
from tests.helpers import PROJECT_ROOT
from tests.helpers.ray_cluster import RAY, RayCluster, laptop_env, start_cluster
from tests.helpers.secrets import FAKE_SECRETS, files_under, leaks
from tests.helpers.sweeps import write_tiny_sweep

pytestmark = pytest.mark.slow
PROJECT = PROJECT_ROOT
SWEEP_TIMEOUT_S = 1200  # a loaded 2-core machine (other engineers' tests) can take minutes per trial


# What a user's laptop and the cluster's nodes hold in their environment besides the cluster's own token.
ENV_SECRETS = {name: FAKE_SECRETS[name] for name in ("WANDB_API_KEY", "HF_TOKEN")}


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[RayCluster, list[str]]]:
    """A head and a worker node, 2 logical CPUs each, with a (fake) W&B key and Hub token in their environment,
    as a cluster set up for W&B and the Hub has."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in ENV_SECRETS.items():
            patch.setenv(name, value)
        ray_cluster, node_ids = start_cluster(cpus_per_node=2, nodes=2)
    try:
        yield ray_cluster, node_ids
    finally:
        ray_cluster.stop()


@pytest.fixture
def sweep_file(tmp_path: Path, tiny_model_dir: Path, qa_data_path: Path) -> Path:
    """Two trials at once, each Train worker taking 1.5 of a node's 2 CPUs: the trials must use both nodes.
    Both nodes see this machine's disk, so the storage path really is shared, and says so."""
    return write_tiny_sweep(tmp_path / "sweep.yaml", model_dir=tiny_model_dir, data_path=qa_data_path,
                            name="two-nodes", training={"max_steps": 6, "eval_every_steps": 3, "batch_size": 8},
                            search={"num_trials": 2, "seed": 0, "max_concurrent_trials": 2},
                            scheduler={"name": "none"}, resources={"workers": 1, "cpus_per_worker": 1.5},
                            storage={"path": str(tmp_path / "runs"), "shared": True},
                            tracking={"wandb": {"mode": "disabled"}})


def laptop(*args: str, cwd: Path, token: str | None, **popen) -> subprocess.Popen:
    """``finesweep`` in its own process, as on a laptop: no Ray settings, the token only if given. Submits
    pass ``--no-pip``: both nodes run this machine's venv already, and a pinned ``runtime_env`` would have
    Ray clone that 2 GB venv for every job on every node (no package index is reachable from a job here)."""
    env = {**laptop_env(), **ENV_SECRETS, "FINESWEEP_CLUSTERS_FILE": str(cwd / "no-clusters.yaml")}
    if token:
        env["RAY_AUTH_TOKEN"] = token
    return subprocess.Popen([sys.executable, "-m", "sweeps", *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **popen)


def finished(process: subprocess.Popen, timeout: float = 120) -> tuple[int, str, str]:
    stdout, stderr = process.communicate(timeout=timeout)
    return process.returncode, stdout, stderr


def first_results(places: dict[str, tuple[Path, str]], started: float, process: subprocess.Popen,
                  ) -> dict[str, float | None]:
    """Seconds from ``started`` until a non-empty ``result.json`` (a trial's first report) appears under each
    place (name → folder, glob), while ``process`` runs. Files there before the start do not count."""
    def reports(folder: Path, pattern: str) -> set[Path]:
        return {path for path in folder.glob(pattern) if path.stat().st_size}

    before = {name: reports(*place) for name, place in places.items()}
    seconds: dict[str, float | None] = dict.fromkeys(places)
    while process.poll() is None and None in seconds.values():
        for name, place in places.items():
            if seconds[name] is None and reports(*place) - before[name]:
                seconds[name] = time.monotonic() - started
        time.sleep(0.25)
    return seconds


def test_requests_without_the_right_token_are_refused(cluster, tmp_path: Path):
    ray_cluster, _ = cluster
    assert requests.get(f"{ray_cluster.address}/api/jobs/", timeout=30).status_code == 401
    code, _, stderr = finished(laptop("list", "--address", ray_cluster.address, cwd=tmp_path, token=None))
    assert code == 2 and stderr.startswith(f"error: the cluster at {ray_cluster.address} requires a token")
    wrong = tmp_path / "wrong.token"
    wrong.write_text("0" * 64)
    code, _, stderr = finished(laptop("list", "--address", ray_cluster.address, "--token-file", str(wrong),
                                      cwd=tmp_path, token=None))
    assert code == 2 and "refused the token" in stderr and "0" * 64 not in stderr
    code, stdout, _ = finished(laptop("list", "--address", ray_cluster.address, cwd=tmp_path, token=ray_cluster.token))
    assert code == 0 and "job id" in stdout


def test_a_local_storage_path_on_two_nodes_is_refused_before_shipping(cluster, sweep_file: Path, tmp_path: Path):
    ray_cluster, _ = cluster
    target = Target(address=ray_cluster.address, source="test", token=ray_cluster.token)
    jobs_before = len(list_jobs(target=target))
    code, _, stderr = finished(laptop("submit", str(sweep_file), "storage.shared=false", "--no-pip", "--address",
                                      ray_cluster.address, cwd=tmp_path, token=ray_cluster.token))
    assert code == 2 and "is a local folder, but the cluster" in stderr and "has 2 nodes" in stderr
    assert len(list_jobs(target=target)) == jobs_before  # nothing was submitted


def test_laptop_submits_a_sweep_that_runs_on_both_nodes(cluster, sweep_file: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture):
    ray_cluster, node_ids = cluster
    sweep_dir = tmp_path / "runs" / "two-nodes"
    started = time.monotonic()
    # W&B offline: its run files are searched for secrets too.
    submit = laptop("submit", str(sweep_file), "tracking.wandb.mode=offline", "--no-pip", "--address",
                    ray_cluster.address, cwd=tmp_path, token=ray_cluster.token)
    # The Tune driver (on the head) writes each result straight to storage.path as it gets it.
    first = first_results({"storage": (sweep_dir, f"{TUNE_DIR}/*/result.json")}, started, submit)
    code, stdout, stderr = finished(submit, timeout=SWEEP_TIMEOUT_S)
    with capsys.disabled():
        print("\nsubmit → first trial result: " + ", ".join(f"{name} {value or float('nan'):.1f} s"
                                                          for name, value in first.items()) +
              f"; submit → sweep done: {time.monotonic() - started:.1f} s (2 trials, 2 nodes)")
    assert code == 0, stdout + stderr
    assert re.search(r"submitted job finesweep-two-nodes-\w+: sweep two-nodes \(2 trials\) on .* \(2 nodes\)", stdout)
    assert "finesweep logs finesweep-two-nodes-" in stdout  # the next commands
    assert "runs:    python -m sweeps run .finesweep/submitted/sweep.yaml" in stdout
    # The followed logs tell the sweep as it ran: one line per trial event (a job's output is no terminal).
    assert len(re.findall(r"^\[[ \d:]+\] trial \w+ started: ", stdout, re.MULTILINE)) == 2
    assert len(re.findall(r"^\[[ \d:]+\] trial \w+ finished at step 6 ", stdout, re.MULTILINE)) == 2
    assert re.search(r"job finesweep-two-nodes-\w+: SUCCEEDED", stderr)
    assert None not in first.values()
    summaries = trial_summaries(sweep_dir, read_spec(sweep_dir))
    assert [summary.state for summary in summaries] == ["TERMINATED", "TERMINATED"]
    assert {node for summary in summaries for node in summary.node_ids} == set(node_ids)
    assert_no_secret_anywhere(ray_cluster, job_id=re.search(r"submitted job (\S+):", stdout).group(1),
                         texts=[stdout, stderr], sweep_dir=sweep_dir)


def assert_no_secret_anywhere(ray_cluster: RayCluster, *, job_id: str, texts: list[str], sweep_dir: Path) -> None:
    """No secret (the cluster's token, the W&B key, the Hub token) is in any output the laptop saw, in the job's
    runtime_env, metadata or logs, in any file of the sweep (W&B's offline runs included), or in any file of
    the cluster's nodes (Ray's session logs, the unpacked job package)."""
    target = Target(address=ray_cluster.address, source="test", token=ray_cluster.token)
    info = job_info(target=target, job_id=job_id)
    assert "env_vars" not in info.runtime_env and "pip" not in info.runtime_env  # --no-pip
    answers = {"laptop output": "\n".join(texts), "runtime_env": json.dumps(info.runtime_env),
               "metadata": json.dumps(info.metadata), "job logs": job_logs(target=target, job_id=job_id)}
    assert list(sweep_dir.glob("wandb/offline-run-*")) and files_under([sweep_dir]) > 10
    secrets = {**ENV_SECRETS, "the cluster's token": ray_cluster.token}
    assert leaks(roots=[sweep_dir, ray_cluster.temp_dir], texts=answers, secrets=secrets) == []


def test_stop_ends_a_running_job(cluster, sweep_file: Path, tmp_path: Path):
    ray_cluster, _ = cluster
    code, stdout, stderr = finished(laptop("submit", str(sweep_file), "name=to-stop", "search.num_trials=8",
                                           "--no-wait", "--no-pip", "--address", ray_cluster.address, cwd=tmp_path,
                                           token=ray_cluster.token))
    assert code == 0, stderr
    job_id = re.search(r"submitted job (\S+):", stdout).group(1)
    target = Target(address=ray_cluster.address, source="test", token=ray_cluster.token)
    assert wait_for_status(target=target, job_id=job_id, statuses=["RUNNING"], timeout_s=300) == "RUNNING"
    code, stdout, stderr = finished(laptop("stop", job_id, "--address", ray_cluster.address, cwd=tmp_path,
                                           token=ray_cluster.token))
    assert code == 0 and stdout.strip() == f"{job_id}: STOPPED", stderr
    code, stdout, _ = finished(laptop("status", job_id, "--address", ray_cluster.address, cwd=tmp_path,
                                      token=ray_cluster.token))
    assert code == 0 and stdout.startswith(f"{job_id}: STOPPED")
    code, stdout, _ = finished(laptop("status", job_id, "--json", "--address", ray_cluster.address, cwd=tmp_path,
                                      token=ray_cluster.token))
    status = json.loads(stdout)
    assert code == 0 and (status["job_id"], status["status"], status["sweep"]) == (job_id, "STOPPED", "to-stop")
    assert status["entrypoint"].startswith("python -m sweeps run ") and status["ended_at"] is not None
    code, stdout, _ = finished(laptop("list", "--json", "--address", ray_cluster.address, cwd=tmp_path,
                                      token=ray_cluster.token))
    assert code == 0 and status in json.loads(stdout)


def test_stock_ray_job_submit_runs_a_sweep(cluster, sweep_file: Path, tmp_path: Path):
    """The Ray CLI with the token in its environment, the checkout as working dir, no finesweep client. The
    nodes have finesweep installed (this venv), so its ``finesweep`` script exists there; Ray puts the working
    dir first on the job's PYTHONPATH, so the script runs the shipped code."""
    ray_cluster, _ = cluster
    completed = subprocess.run(
        [RAY, "job", "submit", "--address", ray_cluster.address, "--working-dir", str(PROJECT), "--",
         "finesweep", "run", str(sweep_file), "name=stock", "search.num_trials=1"],
        cwd=tmp_path, env=ray_cluster.env(), capture_output=True, text=True, timeout=SWEEP_TIMEOUT_S)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert "succeeded" in completed.stdout.lower()
    sweep_dir = tmp_path / "runs" / "stock"
    summaries = trial_summaries(sweep_dir, read_spec(sweep_dir))
    assert [summary.state for summary in summaries] == ["TERMINATED"]
    assert json.loads((sweep_dir / SUMMARY_FILE).read_text())["trials"] == 1


def test_a_trial_no_node_can_fit_is_refused_once_connected(cluster, sweep_file: Path, tmp_path: Path):
    """Each node has 2 CPUs: a 3-CPU worker fits none, and three 1.5-CPU workers fit one per node."""
    ray_cluster, _ = cluster
    for overrides, expected in ((["resources.cpus_per_worker=3"], "resources.cpus_per_worker: each of a trial's 1 "
                                 "Train worker(s) needs 3 CPUs on one node, but the cluster at"),
                                (["resources.workers=3", "training.batch_size=9"], "resources.workers: a trial needs "
                                 "3 Train workers of 1.5 CPUs each at once")):
        completed = subprocess.run(
            [sys.executable, "-m", "sweeps", "run", str(sweep_file), *overrides, "--address",
             f"127.0.0.1:{ray_cluster.gcs_port}"], cwd=tmp_path, env=ray_cluster.env(), capture_output=True,
            text=True, timeout=SWEEP_TIMEOUT_S)
        assert completed.returncode == 2, completed.stdout + completed.stderr
        assert expected in completed.stderr and "nothing was started" in completed.stderr, completed.stderr
        assert "Traceback" not in completed.stderr
        assert not (tmp_path / "runs").exists()
