"""A worker node dies under a running sweep, on a real two-node Ray cluster (token auth, loopback): its raylet
is SIGKILLed as the loss of its machine would end it. A training trial on it goes on from its latest
checkpoint on the node that survives; in a chaos run of 100 replayed trials the node is killed and brought back
at random, and every trial still ends once, with each of its reports once, in Tune's results and in the study.

Both nodes run on this machine, so a local folder is storage both see (as an NFS mount would be)."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from sweeps.config.loading import read_spec
from sweeps.core.layout import TUNE_DIR
from sweeps.results.reading import trial_summaries
from sweeps.run.opda import convert_deberta
from tests.helpers import PROJECT_ROOT
from tests.helpers.faults import result_rows, study_disagreements, wait_for
from tests.helpers.ray_cluster import RayCluster, start_cluster
from tests.helpers.sweeps import write_tiny_sweep

pytestmark = pytest.mark.slow
CPUS_PER_NODE = 2
SWEEP_TIMEOUT_S = 1800  # minutes per trial on a 2-core machine loaded by other engineers' tests
OPDA_DEBERTA = PROJECT_ROOT.parent / "shared" / "data" / "opda-deberta" / "deberta-base_tuning.results.jsonl"
CHAOS_TRIALS = 100
CHAOS_KILLS = 3  # at most this many node losses, each followed by a replacement node
CHAOS_GAP_S = (5.0, 15.0)  # seconds between a node's (re)start and its next loss, drawn uniformly
CHAOS_SEED = 15
# A loss can fail a trial twice: once as its node dies, and once more when Tune restarts it on that node before
# the GCS has declared it dead (missed heartbeats). A trial spanning every loss must still have a retry left.
CHAOS_MAX_FAILURES = 2 * CHAOS_KILLS


@pytest.fixture
def cluster() -> Iterator[RayCluster]:
    """A head and a worker node, 2 logical CPUs each."""
    yield from started(head_cpus=CPUS_PER_NODE)


@pytest.fixture
def headless_cluster() -> Iterator[RayCluster]:
    """A head that runs no trial (0 CPUs: Tune packs its trials, 1/100 of a CPU each, onto one node) and a
    worker node of 2 CPUs: each loss of the worker takes every running trial with it."""
    yield from started(head_cpus=0)


def started(*, head_cpus: int) -> Iterator[RayCluster]:
    ray_cluster, _ = start_cluster(cpus_per_node=CPUS_PER_NODE, nodes=2, head_cpus=head_cpus)
    try:
        yield ray_cluster
    finally:
        ray_cluster.stop()


def driver(*args: str, cluster: RayCluster, log: Path) -> subprocess.Popen:
    """``finesweep ARGS`` as a Ray driver on the head node, with the cluster's token (as a job's driver has)."""
    return subprocess.Popen([sys.executable, "-m", "sweeps", *args, "--address", f"127.0.0.1:{cluster.gcs_port}"],
                            env=cluster.env(), stdout=log.open("w"), stderr=subprocess.STDOUT)


def retried_trials(sweep_dir: Path) -> list[str]:
    """Trials that failed and were started again: Tune wrote an error file, yet the trial ended well."""
    summaries = trial_summaries(sweep_dir, read_spec(sweep_dir))
    return [summary.trial_id for summary in summaries
            if summary.state == "TERMINATED" and (sweep_dir / TUNE_DIR / summary.trial_id / "error.txt").is_file()]


def test_a_trial_on_a_lost_node_goes_on_from_its_checkpoint_on_the_survivor(cluster: RayCluster, tmp_path: Path,
                                                                            tiny_model_dir: Path, qa_data_path: Path):
    spec_path = write_tiny_sweep(tmp_path / "sweep.yaml", model_dir=tiny_model_dir, data_path=qa_data_path,
                                 name="lost-node", scheduler={"name": "none"}, tracking={"wandb": {"mode": "disabled"}},
                                 # Each Train worker takes 1.5 of a node's 2 CPUs: one trial on each node.
                                 search={"num_trials": 2, "seed": 0, "max_concurrent_trials": 2},
                                 # 20 reports: the node is lost after the first, long before the last.
                                 training={"max_steps": 60, "eval_every_steps": 3, "batch_size": 8},
                                 resources={"cpus_per_worker": 1.5, "max_failures": 2},
                                 storage={"path": str(tmp_path / "runs"), "shared": True})
    sweep_dir = tmp_path / "runs" / "lost-node"
    head_node = head_node_id(cluster)
    run = driver("run", str(spec_path), cluster=cluster, log=tmp_path / "run.log")
    victim, before = lose_the_worker_mid_trial(run, cluster=cluster, sweep_dir=sweep_dir, head_node=head_node)
    output = (tmp_path / "run.log").read_text()
    assert run.returncode == 0, output[-3000:]
    summaries = trial_summaries(sweep_dir, read_spec(sweep_dir))
    assert len(summaries) == 2 and all(summary.state == "TERMINATED" for summary in summaries), output[-3000:]
    rows, retried = result_rows(sweep_dir), retried_trials(sweep_dir)
    for trial_id, trial_rows in rows.items():  # every report once, in order, to the end
        assert [row["step"] for row in trial_rows] == list(range(3, 61, 3))
        assert [row["training_iteration"] for row in trial_rows] == list(range(1, 21))
        # Restarted (its Train worker or its trial actor was on the lost node) if and only if Tune saw it
        # fail, and then trained on from a checkpoint, not from the start.
        restarts = {row["resumed_from_step"] for row in trial_rows} - {0}
        assert bool(restarts) == (trial_id in retried), trial_id
        assert all(row["step"] > row["resumed_from_step"] for row in trial_rows)
    # Reports Train had saved on the lost node before the driver recorded them come again as they were; the
    # rest trained on the survivor, from the latest checkpoint, at or after the last report recorded there.
    trained_after = [row for row in rows[victim][len(before):] if row["node_id"] != before[-1]["node_id"]]
    assert before[-1]["node_id"] != head_node and {row["node_id"] for row in trained_after} == {head_node}
    [resumed_from] = {row["resumed_from_step"] for row in trained_after}
    assert resumed_from >= before[-1]["step"] and trained_after[0]["step"] == resumed_from + 3
    assert victim in retried and study_disagreements(sweep_dir) == []
    print(f"\nlost node: {len(retried)} of 2 trials restarted; {victim} from step {resumed_from} (its last "
          f"recorded report before the loss: step {before[-1]['step']})")


def lose_the_worker_mid_trial(run: subprocess.Popen, *, cluster: RayCluster, sweep_dir: Path, head_node: str,
                              ) -> tuple[str, list[dict]]:
    """Kill the worker node once the trial on it has reported (so it has a checkpoint) and let the sweep end;
    returns that trial and its rows at that moment."""
    def on_worker() -> tuple[str, list[dict]] | None:
        return next(((trial, rows) for trial, rows in result_rows(sweep_dir).items() if rows
                     and rows[-1]["node_id"] != head_node and not rows[-1]["training_finished"]), None)

    try:
        victim, before = wait_for(lambda: run.poll() is not None or on_worker(), timeout=SWEEP_TIMEOUT_S,
                                  what="a report from the trial on the worker node", interval=0.5)
        cluster.kill_raylet(len(cluster.processes) - 1)  # the newest node, never the head
        run.wait(timeout=SWEEP_TIMEOUT_S)
    finally:
        run.kill()
    return victim, before


def head_node_id(cluster: RayCluster) -> str:
    import requests

    reply = requests.get(f"{cluster.address}/api/v0/nodes", timeout=30,
                         headers={"Authorization": f"Bearer {cluster.token}"})
    [head] = [node["node_id"] for node in reply.json()["data"]["result"]["result"]
              if node["state"] == "ALIVE" and node["is_head_node"]]
    return head


@pytest.fixture(scope="module")
def deberta_curves(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not OPDA_DEBERTA.is_file():
        pytest.skip(f"{OPDA_DEBERTA} is not here (the shared data folder next to the checkout)")
    target = tmp_path_factory.mktemp("curves") / "deberta.jsonl"
    convert_deberta(source=OPDA_DEBERTA, target=target)
    return target


def test_chaos_every_replayed_trial_ends_once_while_a_node_comes_and_goes(headless_cluster: RayCluster,
                                                                           tmp_path: Path, deberta_curves: Path):
    cluster = headless_cluster
    spec = yaml.safe_load((PROJECT_ROOT / "bench" / "opda_sweep.yaml").read_text())
    spec.update(name="chaos", storage={"path": str(tmp_path / "runs"), "shared": True},
                resources={"max_failures": CHAOS_MAX_FAILURES},
                search={**spec["search"], "num_trials": CHAOS_TRIALS, "max_concurrent_trials": 8})
    spec_path = tmp_path / "chaos.yaml"
    spec_path.write_text(yaml.safe_dump(spec))
    sweep_dir = tmp_path / "runs" / "chaos-replay"
    replay = driver("replay", str(deberta_curves), "--spec", str(spec_path), "--on-ray", cluster=cluster,
                    log=tmp_path / "replay.log")
    kills = []
    try:
        chance = random.Random(CHAOS_SEED)
        while len(kills) < CHAOS_KILLS and replay.poll() is None:
            time.sleep(chance.uniform(*CHAOS_GAP_S))
            if replay.poll() is not None:
                break
            kills.append(cluster.kill_raylet(len(cluster.processes) - 1))  # the newest node, never the head
            cluster.replace_lost_nodes(num_cpus=CPUS_PER_NODE)
        replay.wait(timeout=SWEEP_TIMEOUT_S)
    finally:
        replay.kill()
    output = (tmp_path / "replay.log").read_text()
    assert replay.returncode == 0, output[-3000:]
    assert f"{CHAOS_TRIALS} trials replayed on Ray" in output
    summaries = trial_summaries(sweep_dir, read_spec(sweep_dir))
    assert len(summaries) == CHAOS_TRIALS and all(summary.state == "TERMINATED" for summary in summaries)
    for trial_id, trial_rows in result_rows(sweep_dir).items():  # each replayed point reported once, in order
        assert [row["training_iteration"] for row in trial_rows] == list(range(1, len(trial_rows) + 1)), trial_id
        assert len({row["replayed_run"] for row in trial_rows}) == 1, trial_id
    assert study_disagreements(sweep_dir) == []
    assert kills and retried_trials(sweep_dir), f"{len(kills)} node losses, no trial hit: nothing was tested"
    print(json.dumps({"node_losses": len(kills), "retried_trials": len(retried_trials(sweep_dir))}))
