"""The job client without a cluster: where the address and token come from, what ships, which sweep files
and storage paths are refused, and that the CLI turns each problem into one line and exit code 2."""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest
import yaml

from cluster import jobs, package
from cluster.config import Target, resolve_target
from cluster.jobs import check_storage
from cluster.package import path_problems, pinned_requirements, shipped_files, spec_arcname, write_package
from sweeps.core.errors import UserError
from sweeps.core.net import free_loopback_port
from sweeps.spec import SweepSpec
from tests.helpers.ray_cluster import laptop_env
from tests.helpers.sweeps import write_tiny_sweep


@pytest.fixture(autouse=True)
def no_ray_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No address, token or clusters file leaks in from the machine running the tests."""
    for name in ("RAY_ADDRESS", "RAY_API_SERVER_ADDRESS", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"):
        monkeypatch.delenv(name, raising=False)
    clusters = tmp_path / "clusters.yaml"
    monkeypatch.setenv("FINESWEEP_CLUSTERS_FILE", str(clusters))
    return clusters


def test_address_comes_from_the_option_then_a_named_cluster_then_the_environment(
        monkeypatch: pytest.MonkeyPatch, no_ray_settings: Path, tmp_path: Path):
    token_file = tmp_path / "lab.token"
    token_file.write_text("lab-token\n")
    no_ray_settings.write_text(yaml.safe_dump({"default": "lab", "clusters": {
        "lab": {"address": "http://10.0.0.5:8265/", "token_file": str(token_file)},
        "big": {"address": "big-head:8265"}}}))
    assert resolve_target().address == "http://10.0.0.5:8265"  # the file's default, trailing slash dropped
    assert resolve_target().token == "lab-token"
    assert resolve_target(cluster="big").address == "http://big-head:8265"  # bare host:port gets http://
    monkeypatch.setenv("RAY_ADDRESS", "http://env-head:8265")
    assert resolve_target().address == "http://env-head:8265"  # the environment beats the file's default
    assert resolve_target(cluster="lab").address == "http://10.0.0.5:8265"
    assert resolve_target(address="http://flag:1", cluster="lab").address == "http://flag:1"
    with pytest.raises(UserError, match=r"no cluster named 'nope' .*clusters there: big, lab"):
        resolve_target(cluster="nope")


def test_token_precedence_and_it_never_shows_in_repr(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    flag_file, path_file = tmp_path / "flag.token", tmp_path / "path.token"
    flag_file.write_text("from-flag")
    path_file.write_text("from-path")
    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", str(path_file))
    assert resolve_target(address="h:1").token == "from-path"
    monkeypatch.setenv("RAY_AUTH_TOKEN", "from-env")
    assert resolve_target(address="h:1").token == "from-env"
    target = resolve_target(address="h:1", token_file=flag_file)
    assert target.token == "from-flag"
    assert "from-flag" not in repr(target)
    (tmp_path / "empty.token").write_text("\n")
    with pytest.raises(UserError, match="is empty"):
        resolve_target(address="h:1", token_file=tmp_path / "empty.token")


def test_missing_or_unusable_addresses_are_user_errors():
    with pytest.raises(UserError, match="no cluster address"):
        resolve_target()
    with pytest.raises(UserError, match="not a Job API address"):
        resolve_target(address="auto")


def test_generated_secret_and_ignored_files_stay_on_the_laptop(tmp_path: Path):
    files = ["pyproject.toml", "sweeps/cli.py", "examples/data/small.jsonl", "examples/models/m/config.json",
             ".venv/bin/python", "runs/s/result.json", "sweeps/__pycache__/cli.pyc", ".env", "cluster/lab.token",
             ".ray/auth_token", "notes/big.bin", "scratch/x.txt", ".git/HEAD"]
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    (tmp_path / ".gitignore").write_text("notes/\n")
    (tmp_path / ".rayignore").write_text("scratch/\n")
    assert shipped_files(tmp_path) == [".gitignore", ".rayignore", "examples/data/small.jsonl", "pyproject.toml",
                                       "sweeps/cli.py"]


def _raw(**sections) -> dict:
    return {"name": "s", "model": {"path": "/models/m"}, "dataset": {"path": "/data/d.jsonl"},
            "storage": {"path": "/mnt/shared/runs"}, **sections}


def test_paths_that_would_mean_something_else_on_the_cluster_are_refused(tmp_path: Path):
    project = tmp_path / "project"
    (project / "sweeps").mkdir(parents=True)
    spec = project / "sweeps" / "s.yaml"
    shipped = {"sweeps/s.yaml", "data/d.jsonl"}

    def problems(**sections) -> list[str]:
        return path_problems(_raw(**sections), spec_path=spec, project=project, shipped=shipped)

    assert problems() == []
    assert problems(storage={"path": "s3://bucket/runs"}) == []
    assert problems(dataset={"path": "../data/d.jsonl"}) == []  # shipped next to the sweep file
    assert "is not shipped" in problems(dataset={"path": "../data/other.jsonl"})[0]
    assert "does not resolve inside the project" in problems(model={"path": "../../elsewhere"})[0]
    assert "storage.path: 'runs' is relative" in problems(storage={})[0]  # the default is relative too
    outside = tmp_path / "s.yaml"
    assert spec_arcname(outside, project) == ".finesweep/submitted/s.yaml"
    assert spec_arcname(spec, project) == "sweeps/s.yaml"


def _spec(**storage) -> SweepSpec:
    return SweepSpec.model_validate({"name": "s", "model": {"path": "/m"}, "dataset": {"path": "/d.jsonl"},
                                     "storage": storage})


def test_a_local_storage_path_is_refused_on_a_multi_node_cluster_only():
    with pytest.raises(UserError, match=r"local folder, but the cluster at http://h:1 has 2 nodes.*storage.shared"):
        check_storage(_spec(path="/data/runs"), nodes=2, address="http://h:1")
    check_storage(_spec(path="/data/runs"), nodes=1, address="http://h:1")
    check_storage(_spec(path="/nfs/runs", shared=True), nodes=3, address="http://h:1")
    check_storage(_spec(path="s3://bucket/runs"), nodes=3, address="http://h:1")
    with pytest.raises(UserError):
        check_storage(_spec(path="file:///data/runs"), nodes=2, address="http://h:1")


def test_the_package_is_reproducible_and_holds_the_sweep_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    project = tmp_path / "project"
    (project / "sweeps").mkdir(parents=True)
    (project / "sweeps" / "cli.py").write_text("print('hi')\n")
    spec = tmp_path / "s.yaml"
    spec.write_text("name: s\n")
    built = []
    for name in ("a.zip", "b.zip"):
        write_package(project=project, files=["sweeps/cli.py"], spec_path=spec, arcname=".finesweep/submitted/s.yaml",
                      dest=tmp_path / name)
        built.append((tmp_path / name).read_bytes())
    assert built[0] == built[1]  # same content, same package hash: Ray skips the upload
    assert zipfile.ZipFile(tmp_path / "a.zip").namelist() == ["sweeps/cli.py", ".finesweep/submitted/s.yaml"]
    monkeypatch.setattr(package, "UPLOAD_LIMIT_BYTES", 10)
    with pytest.raises(UserError, match=r"over Ray's 0 MiB upload limit; nothing was sent. Largest files: sweeps/cli"):
        write_package(project=project, files=["sweeps/cli.py"], spec_path=spec, arcname="s.yaml",
                      dest=tmp_path / "c.zip")


def test_pinned_requirements_pin_public_versions_and_leave_ray_to_the_cluster():
    pins = pinned_requirements()
    assert pins and all("==" in pin and "+" not in pin for pin in pins)
    assert not any(pin.startswith("ray") for pin in pins)
    assert any(pin.startswith("torch==") for pin in pins)


class FakeJobClient:
    """Stands in for Ray's JobSubmissionClient: records what would be submitted."""

    def __init__(self) -> None:
        self.submitted: dict = {}

    def submit_job(self, **kwargs) -> str:
        self.submitted = kwargs
        return kwargs["submission_id"]


def test_submit_pins_dependencies_by_default_and_ships_no_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("WANDB_API_KEY", "wandb-secret")
    client = FakeJobClient()
    monkeypatch.setattr(jobs, "connect", lambda *, target: client)
    monkeypatch.setattr(jobs, "alive_node_count", lambda *, target: 1)
    spec = tmp_path / "sweep.yaml"
    spec.write_text(yaml.safe_dump(_raw(name="pinned", search={"preset": "lora-small"})))
    target = Target(address="http://h:1", source="test", token="ray-secret")
    submission = jobs.submit_sweep(target=target, spec_path=spec, overrides=["search.num_trials=3"])
    assert submission.trials == "3 trials" and submission.job_id.startswith("finesweep-pinned-")
    assert client.submitted["entrypoint"] == ("python -m sweeps run .finesweep/submitted/sweep.yaml "
                                              "search.num_trials=3")
    runtime_env = client.submitted["runtime_env"]
    assert set(runtime_env) == {"working_dir", "pip"} and runtime_env["pip"]["packages"] == pinned_requirements()
    assert "secret" not in json.dumps(client.submitted)
    jobs.submit_sweep(target=target, spec_path=spec, pip=False)
    assert set(client.submitted["runtime_env"]) == {"working_dir"}


def test_a_server_that_is_not_the_job_api_is_a_user_error():
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)  # answers 501
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        address = f"http://127.0.0.1:{server.server_port}"
        with pytest.raises(UserError, match=r"does not answer as a Ray Job API.*Nothing was sent"):
            jobs.connect(target=Target(address=address, source="--address"))
    finally:
        server.shutdown()


def _finesweep(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**laptop_env(), "FINESWEEP_CLUSTERS_FILE": str(cwd / "none.yaml")}
    return subprocess.run([sys.executable, "-m", "sweeps", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)


def test_cli_refuses_with_one_line_and_exit_2(tmp_path: Path, tiny_model_dir: Path, qa_data_path: Path):
    spec = write_tiny_sweep(tmp_path / "sweep.yaml", model_dir=tiny_model_dir, data_path=qa_data_path)
    unreachable = _finesweep("submit", str(spec), "--address", f"http://127.0.0.1:{free_loopback_port()}", cwd=tmp_path)
    assert unreachable.returncode == 2
    assert unreachable.stderr.startswith("error: cannot reach the Ray Job API at http://127.0.0.1:")
    assert "Nothing was sent" in unreachable.stderr and "Traceback" not in unreachable.stderr
    invalid = _finesweep("submit", str(spec), "search.num_trials=0", "--address", "http://127.0.0.1:1", cwd=tmp_path)
    assert invalid.returncode == 2 and "search.num_trials" in invalid.stderr  # checked before connecting
    relative = _finesweep("submit", str(spec), "storage.path=runs", "--address", "http://127.0.0.1:1", cwd=tmp_path)
    assert relative.returncode == 2 and "storage.path: 'runs' is relative" in relative.stderr
    nowhere = _finesweep("status", "some-job", cwd=tmp_path)
    assert nowhere.returncode == 2 and "no cluster address" in nowhere.stderr
