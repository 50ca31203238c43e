"""The cluster definitions a user edits and launches: each parses, Ray's own schema accepts the `ray up` file,
token authentication is on everywhere, there is a GPU worker type, and the sweep inside the RayJob is valid."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import yaml

from sweeps.config.loading import load_spec
from tests.helpers import PROJECT_ROOT

CLUSTER = PROJECT_ROOT / "cluster"


def _documents(name: str) -> dict[str, dict]:
    return {doc["kind"]: doc for doc in yaml.safe_load_all((CLUSTER / "kuberay" / name).read_text())}


def test_ray_up_file_follows_rays_schema_with_token_auth_and_shared_storage():
    import ray.autoscaler

    config = yaml.safe_load((CLUSTER / "ray-up.yaml").read_text())
    schema = json.loads((Path(ray.autoscaler.__file__).parent / "ray-schema.json").read_text())
    jsonschema.validate(config, schema)
    assert set(config["available_node_types"]) == {"head", "cpu-worker", "gpu-worker"}
    starts = config["head_start_ray_commands"] + config["worker_start_ray_commands"]
    assert all("RAY_AUTH_MODE=token" in command for command in starts if " start " in command)
    setup = "\n".join(config["setup_commands"])
    assert "/mnt/finesweep" in setup and "ray[default,train,tune]==2.60.0" in setup and "-e ~/finesweep" in setup
    assert ".venv" in config["rsync_exclude"] and "*.token" in config["rsync_exclude"]


def test_kuberay_manifests_turn_on_token_auth_and_have_a_gpu_group():
    cluster = _documents("raycluster.yaml")["RayCluster"]["spec"]
    job = _documents("rayjob.yaml")["RayJob"]["spec"]
    for spec in (cluster, job["rayClusterSpec"]):
        assert spec["authOptions"]["mode"] == "token" and spec["rayVersion"] == "2.60.0"
        gpu = [group for group in spec["workerGroupSpecs"] if group["groupName"] == "gpu"]
        limits = gpu[0]["template"]["spec"]["containers"][0]["resources"]["limits"]
        assert limits["nvidia.com/gpu"] == "1"
    assert job["entrypoint"].startswith("python -m sweeps run ")


def test_the_rayjob_sweep_file_is_a_valid_sweep(tmp_path: Path):
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(_documents("rayjob.yaml")["ConfigMap"]["data"]["sweep.yaml"])
    spec = load_spec(sweep, check_files=False)  # the model and data live on the cluster's volume
    assert spec.storage.shared and spec.storage.path == "/mnt/finesweep/runs" and spec.resources.use_gpu
