"""The dashboard's JSON API and its guards, in process (FastAPI's TestClient): fast on a sweep that has
checkpoints but no Tune results yet, and on the real ``finished_sweep`` for the leaderboard, plots and study."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from dashboard.app import PLOTLY_JS_URL, TOKEN_COOKIE, create_app
from sweeps.config.loading import read_spec
from sweeps.core.layout import CHOSEN_FILE
from sweeps.results.reading import trial_summaries
from tests.helpers.checkpoints import CHECKPOINTS, write_checkpointed_sweep

LOCAL = "http://127.0.0.1"
TOKEN = "a-test-token-0123456789"
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path, qa_data_path: Path) -> Path:
    """Shared by the tests that only read; those that choose or export get their own ``fresh_storage``."""
    runs = tmp_path_factory.mktemp("dashboard-api") / "runs"
    write_checkpointed_sweep(runs, model_dir=tiny_model_dir, data_path=qa_data_path)
    return runs


@pytest.fixture
def fresh_storage(tmp_path: Path, tiny_model_dir: Path, qa_data_path: Path) -> Path:
    write_checkpointed_sweep(tmp_path / "runs", model_dir=tiny_model_dir, data_path=qa_data_path)
    return tmp_path / "runs"


def local_client(storage: Path) -> TestClient:
    return TestClient(create_app(storage_path=storage, token=None), base_url=LOCAL)


@pytest.fixture
def client(storage: Path) -> TestClient:
    return local_client(storage)


def test_a_sweep_without_results_yet_is_listed_as_starting(client: TestClient):
    [sweep] = client.get("/api/sweeps").json()
    assert sweep["name"] == "synthetic" and sweep["state"] == "starting" and sweep["counts"]["total"] == 0
    detail = client.get("/api/sweeps/synthetic").json()
    assert detail["leaderboard"] == [] and detail["figures"]["parallel"] is None
    importance = client.get("/api/sweeps/synthetic/importance").json()
    assert importance["message"] == "no study journal yet" and importance["figure"] is None
    assert importance["optuna_dashboard"].startswith("optuna-dashboard ")


# A broken sweep directory beside a healthy one: what is in its sweep.yaml or Tune folder, and what the list shows.
UNREADABLE = {
    "yaml-syntax": ("name: x\nmodel: [oops\n", None, "not valid YAML: expected ',' or ']'"),
    "invalid-spec": ("name: x\nmodel: {path: /m}\n", None, "dataset: required section is missing"),
    "alias-bomb": ("a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{name}: &{name} [{', '.join([f'*{prev}'] * 10)}]\n" for prev, name in zip("abcde", "bcdef", strict=True)),
        None, "refused: its aliases (*name) expand to more than"),
    "tune-state-corrupt": (None, "{not json", "Tune's record of the trials cannot be read"),
}


def test_an_unreadable_sweep_is_listed_as_such_beside_the_healthy_ones(tmp_path: Path, storage: Path):
    runs = shutil.copytree(storage, tmp_path / "runs")
    for name, (spec_text, tune_state, _) in UNREADABLE.items():
        sweep_dir = shutil.copytree(runs / "synthetic", runs / name)
        if spec_text is not None:
            (sweep_dir / "sweep.yaml").write_text(spec_text)
        if tune_state is not None:
            (sweep_dir / "tune").mkdir()
            (sweep_dir / "tune" / "experiment_state-2026-01-01_00-00-00.json").write_text(tune_state)
    client = local_client(runs)
    reply = client.get("/api/sweeps")
    assert reply.status_code == 200
    listed = {sweep["name"]: sweep for sweep in reply.json()}
    assert listed["synthetic"]["state"] == "starting"  # the healthy sweep is still there
    for name, (_, _, message) in UNREADABLE.items():
        assert listed[name]["state"] == "unreadable" and message in listed[name]["error"], listed[name]
        detail = client.get(f"/api/sweeps/{name}")
        assert detail.status_code == 400 and message in detail.json()["detail"]


def test_pages_load_plotly_from_this_server_not_a_cdn(client: TestClient):
    for page in ("/", "/sweeps/synthetic"):
        html = client.get(page).text
        assert "cdn" not in html.lower()
    assert PLOTLY_JS_URL in client.get("/sweeps/synthetic").text
    script = client.get(PLOTLY_JS_URL)
    assert script.status_code == 200 and len(script.content) > 1_000_000 and b"plotly" in script.content[:2000]


@pytest.mark.parametrize("path", ["/api/sweeps/nope", "/api/sweeps/%2E%2E", "/api/sweeps/..%2Fetc",
                                  "/sweeps/%2E%2E", "/sweeps/synthetic/trials/..%2F..",
                                  "/api/sweeps/synthetic/trials/%2E%2E", "/api/sweeps/synthetic/trials/aaaa0001"])
def test_unknown_or_traversing_names_are_not_found(client: TestClient, path: str):
    assert client.get(path).status_code == 404


def test_choose_and_export_take_only_known_trials_and_checkpoints(fresh_storage: Path):
    client, sweep_dir = local_client(fresh_storage), fresh_storage / "synthetic"
    for body in ({"trial_id": "../synthetic"}, {"trial_id": "aaaa0001", "checkpoint": "../../bbbb0002"},
                 {"trial_id": "aaaa0001", "extra": "field"}):
        assert client.post("/api/sweeps/synthetic/choose", json=body).status_code in (400, 422)
    assert not (sweep_dir / CHOSEN_FILE).exists()
    chosen = client.post("/api/sweeps/synthetic/choose", json={"trial_id": "aaaa0001"}).json()
    assert chosen["checkpoint"] == CHECKPOINTS["aaaa0001"][1][0]
    assert client.get("/api/sweeps/synthetic").json()["chosen"] == chosen
    exported = client.post("/api/sweeps/synthetic/export", json={"merged": False}).json()
    assert Path(exported["path"]) == sweep_dir / "exports" / "aaaa0001-step6-adapter"
    assert (Path(exported["path"]) / "adapter_model.safetensors").is_file() and not exported["already_existed"]
    assert client.post("/api/sweeps/synthetic/export", json={"merged": False}).json()["already_existed"]


def test_clearing_the_choice_gives_export_the_best_again(fresh_storage: Path):
    client, sweep_dir = local_client(fresh_storage), fresh_storage / "synthetic"
    assert client.post("/api/sweeps/synthetic/choose", json={"trial_id": "bbbb0002"}).status_code == 200
    assert client.post("/api/sweeps/synthetic/clear-choice", content="{}").status_code == 403  # not JSON
    assert (sweep_dir / CHOSEN_FILE).is_file()
    assert client.post("/api/sweeps/synthetic/clear-choice", json={}).json() == {"cleared": True}
    assert not (sweep_dir / CHOSEN_FILE).exists() and client.get("/api/sweeps/synthetic").json()["chosen"] is None
    assert client.post("/api/sweeps/synthetic/clear-choice", json={}).json() == {"cleared": False}


def test_writes_must_be_same_origin_json(fresh_storage: Path):
    client, storage = local_client(fresh_storage), fresh_storage
    url, body = "/api/sweeps/synthetic/choose", json.dumps({"trial_id": "aaaa0001"})
    # What a form or a no-cors fetch on another site can send: no JSON content type, or a foreign origin.
    assert client.post(url, content=body, headers={"Content-Type": "text/plain"}).status_code == 403
    assert client.post(url, content=body).status_code == 403
    assert client.post(url, content=body, headers={**JSON, "Origin": "http://evil.example"}).status_code == 403
    assert not (storage / "synthetic" / CHOSEN_FILE).exists()
    assert client.post(url, content=body, headers={**JSON, "Origin": LOCAL}).status_code == 200


def test_without_a_token_only_loopback_host_names_are_served(storage: Path):
    app = create_app(storage_path=storage, token=None)
    assert TestClient(app, base_url="http://localhost").get("/api/sweeps").status_code == 200
    # A DNS-rebinding page reaches 127.0.0.1 under its own host name.
    assert TestClient(app, base_url="http://evil.example").get("/api/sweeps").status_code == 400


def test_with_a_token_every_request_needs_it(storage: Path):
    client = TestClient(create_app(storage_path=storage, token=TOKEN), base_url="http://10.0.0.5:8787")
    assert client.get("/").status_code == 401
    assert client.get("/api/sweeps", headers={"Authorization": "Bearer wrong-token-000000000"}).status_code == 401
    assert client.get("/api/sweeps", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    login = client.get(f"/sweeps/synthetic?token={TOKEN}", follow_redirects=False)
    assert login.status_code == 303 and login.headers["location"] == "/sweeps/synthetic"
    assert TOKEN_COOKIE in login.cookies
    assert client.get("/api/sweeps").status_code == 200  # the cookie from the login link


def test_cli_refuses_a_public_host_without_a_token(storage: Path):
    completed = subprocess.run([sys.executable, "-m", "sweeps", "dashboard", str(storage), "--host", "0.0.0.0"],
                               capture_output=True, text=True, timeout=120)
    assert completed.returncode == 2 and "--token-file" in completed.stderr


@pytest.mark.slow
def test_the_real_sweep_is_served_best_first_with_curves_study_and_runs(finished_sweep: Path, tmp_path: Path):
    shutil.copytree(finished_sweep, tmp_path / "runs" / "tiny")  # elsewhere than where it ran, like a laptop copy
    client = TestClient(create_app(storage_path=tmp_path / "runs", token=None), base_url=LOCAL)
    expected = trial_summaries(finished_sweep, read_spec(finished_sweep))
    [overview] = client.get("/api/sweeps").json()
    assert overview["state"] == "finished" and overview["counts"]["total"] == 4
    assert overview["best_trial"] == expected[0].trial_id
    sweep = client.get("/api/sweeps/tiny").json()
    rows = sweep["leaderboard"]
    assert [row["trial_id"] for row in rows] == [trial.trial_id for trial in expected]
    assert all(row["checkpoint_bytes"] > 0 and row["wandb"]["sync"].startswith("wandb sync ") for row in rows)
    curves = sweep["figures"]["curves"]["data"]
    assert len(curves) == 4 and curves[-1]["name"] == f"{expected[0].trial_id} (best)"
    dimensions = sweep["figures"]["parallel"]["data"][0]["dimensions"]
    assert [dimension["label"] for dimension in dimensions][-1] == "best eval_loss"
    assert {"training.learning_rate", "method.r"} <= {dimension["label"] for dimension in dimensions}
    assert all(row["wall_seconds"] >= row["first_report_seconds"] > 0 for row in rows)  # equal: one report
    assert all(row["compute"] == pytest.approx(row["wall_seconds"] / 3600) for row in rows)  # 1 CPU per trial
    assert sweep["compute_unit"] == "CPU-hours" and sweep["chosen_is_best"] is None
    history = sweep["figures"]["history"]["data"]
    trial_dots, trial_best, report_dots, report_best = history
    assert trial_dots["x"] == [1, 2, 3, 4] and min(trial_best["y"]) == expected[0].best_value
    assert len(report_dots["x"]) == sum(trial.iterations for trial in expected)
    assert report_best["y"][-1] == expected[0].best_value and report_dots["x"] == sorted(report_dots["x"])
    # Hover text carries each value exactly as Python writes it back, not plotly's rounding.
    assert [float(text) for _, text in trial_dots["customdata"]] == trial_dots["y"]
    # Trials the scheduler stopped are pruned in the study; Optuna's importance weighs the completed ones only.
    importance = client.get("/api/sweeps/tiny/importance").json()
    completed = sum(not trial.stopped_early for trial in expected)
    assert importance["complete_trials"] == completed
    if completed >= 2:
        assert set(importance["importances"]) >= {"training.learning_rate"}
    else:
        assert importance["message"] == f"needs 2 completed trials, has {completed}" and not importance["importances"]
    trial = client.get(f"/api/sweeps/tiny/trials/{expected[0].trial_id}").json()
    assert trial["trial"]["rank"] == 1 and trial["checkpoints"] and trial["best_checkpoint"] in {
        checkpoint["name"] for checkpoint in trial["checkpoints"]}
