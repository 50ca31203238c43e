"""Secrets stay in the environment: with a fake W&B key, Hugging Face token and Ray token set, a run, a resume
(``killed_sweep``: W&B offline, its embedded Ray's session files kept), an export and the dashboard write or
serve none of them. (A submission to a two-node cluster: tests/cluster/test_two_node_cluster.py.)"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from sweeps.config.loading import read_spec
from sweeps.results.reading import trial_summaries
from tests.helpers.killed_sweep import KilledSweep
from tests.helpers.secrets import FAKE_SECRETS, files_under, leaks
from tests.helpers.serving import running_dashboard


def test_the_search_finds_a_secret_in_text_and_in_binary_files(tmp_path: Path):
    """The search below would find a leak: a secret inside a binary file, and in served text."""
    (tmp_path / "run.wandb").write_bytes(b"\x00\x01" + FAKE_SECRETS["WANDB_API_KEY"].encode() + b"\xff")
    (tmp_path / "clean.json").write_text("{}")
    found = leaks(roots=[tmp_path], texts={"GET /": f"<p>{FAKE_SECRETS['HF_TOKEN']}</p>"})
    assert found == [f"{tmp_path / 'run.wandb'}: WANDB_API_KEY", "GET /: HF_TOKEN"]


@pytest.mark.slow
def test_no_secret_is_written_or_served(killed_sweep: KilledSweep, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch):
    sweep_dir = killed_sweep.sweep_dir
    texts = dict(killed_sweep.outputs)
    exports = []
    for kind in ("adapter", "merged"):
        out_dir = tmp_path / f"export-{kind}"
        exported = subprocess.run([sys.executable, "-m", "sweeps", "export", str(sweep_dir), "--out", str(out_dir),
                                   *(["--merged"] if kind == "merged" else [])], env=killed_sweep.env,
                                  capture_output=True, text=True, timeout=600)
        assert exported.returncode == 0, exported.stderr
        texts[f"export {kind}"] = exported.stdout + exported.stderr
        exports.append(out_dir)
    for name, value in FAKE_SECRETS.items():  # the dashboard's server runs with them too
        monkeypatch.setenv(name, value)
    with running_dashboard(sweep_dir.parent, log_path=tmp_path / "dashboard.log") as url:
        texts.update(served(url, sweep=sweep_dir.name, trial_ids=[summary.trial_id for summary in trial_summaries(
            sweep_dir, read_spec(sweep_dir))]))
    texts["dashboard log"] = (tmp_path / "dashboard.log").read_text()
    roots = [sweep_dir, killed_sweep.ray_dir, *exports]
    assert list(sweep_dir.glob("wandb/offline-run-*")) and (exports[0] / "README.md").is_file()
    assert files_under(roots) > 200 and leaks(roots=roots, texts=texts) == []


def served(url: str, *, sweep: str, trial_ids: list[str]) -> dict[str, str]:
    """Every page and API answer of the dashboard for ``sweep``, and an export made through it."""
    paths = ["/", "/api/sweeps", f"/sweeps/{sweep}", f"/api/sweeps/{sweep}", f"/api/sweeps/{sweep}/importance",
             "/static/app.js"]
    paths += [path for trial_id in trial_ids
              for path in (f"/sweeps/{sweep}/trials/{trial_id}", f"/api/sweeps/{sweep}/trials/{trial_id}")]
    answers = {}
    for path in paths:
        with urllib.request.urlopen(url + path, timeout=120) as reply:
            answers[f"GET {path}"] = reply.read().decode()
    request = urllib.request.Request(f"{url}/api/sweeps/{sweep}/export", data=json.dumps({"merged": False}).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=600) as reply:
        answers["POST export"] = reply.read().decode()
    return answers
