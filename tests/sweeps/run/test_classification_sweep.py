"""A classification sweep through the CLI: trials report accuracy and f1_macro to Ray, `best` ranks by the
spec's metric, and `sample` / `export` (causal-LM tools) refuse its checkpoints with one clear message."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sweeps.core.layout import CHECKPOINT_INFO, SPEC_FILE
from sweeps.spec import SweepSpec
from tests.helpers.sweeps import write_tiny_sweep

CLASSIFICATION = {"type": "classification"}


def finesweep(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sweeps", *args], capture_output=True, text=True, timeout=900)


@pytest.mark.parametrize("command", [["sample"], ["export", "--out", "exported"]], ids=lambda args: args[0])
def test_sample_and_export_refuse_a_classification_sweep(tmp_path: Path, command: list[str]):
    spec = SweepSpec.model_validate({"name": "topics", "model": {"path": str(tmp_path)}, "task": CLASSIFICATION,
                                     "dataset": {"path": str(tmp_path / "topics.jsonl")}})
    sweep_dir = tmp_path / "runs" / "topics"
    sweep_dir.mkdir(parents=True)
    (sweep_dir / SPEC_FILE).write_text(yaml.safe_dump(spec.model_dump(mode="json")))
    completed = finesweep(command[0], str(sweep_dir), *command[1:])
    assert completed.returncode == 2, completed.stdout + completed.stderr
    assert completed.stderr.startswith(f"error: {sweep_dir}: `finesweep {command[0]}` handles causal-LM "
                                       "checkpoints, but this sweep's task.type is 'classification'")
    assert "Traceback" not in completed.stderr


def test_data_inspect_prints_the_rows_per_label(tmp_path: Path, topic_data_path: Path, topic_model_dir: Path):
    spec_path = write_tiny_sweep(tmp_path / "sweep.yaml", model_dir=topic_model_dir, data_path=topic_data_path,
                                 task={**CLASSIFICATION, "balance": True})
    completed = finesweep("data", "inspect", str(spec_path))
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "rows per label" in completed.stdout and "train (balanced)" in completed.stdout
    assert "task.balance dropped 16 of the 96 train rows" in completed.stdout
    rows = {line.split("│")[1].strip(): line.split("│")[2:4] for line in completed.stdout.splitlines()
            if line.count("│") == 4 and line.split("│")[1].strip() in ("ai", "coding", "emotion", "trivia")}
    assert len(rows) == 4 and len({train.strip() for train, _ in rows.values()}) == 1  # balanced: equal counts


def test_data_inspect_json_carries_the_same_counts(tmp_path: Path, topic_data_path: Path, topic_model_dir: Path):
    spec_path = write_tiny_sweep(tmp_path / "sweep.yaml", model_dir=topic_model_dir, data_path=topic_data_path,
                                 task={**CLASSIFICATION, "balance": True})
    completed = finesweep("data", "inspect", str(spec_path), "--json")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    report = json.loads(completed.stdout)
    assert list(report) == ["dataset", "seed", "rows", "labels", "balance_dropped"]
    assert report["dataset"] == str(topic_data_path) and report["balance_dropped"] == 16
    assert report["rows"]["train"] == 96 and next(iter(report["rows"])) == "loaded"
    assert set(report["labels"]) == {"ai", "coding", "emotion", "trivia"}
    assert sum(label["train"] for label in report["labels"].values()) == 96 - 16
    assert len({label["train"] for label in report["labels"].values()}) == 1  # balanced: equal counts


@pytest.mark.slow
def test_a_classification_sweep_reports_accuracy(tmp_path: Path, topic_model_dir: Path, topic_data_path: Path):
    spec_path = write_tiny_sweep(
        tmp_path / "sweep.yaml", model_dir=topic_model_dir, data_path=topic_data_path, task=CLASSIFICATION,
        method={"name": "full"}, search={"num_trials": 2, "seed": 0, "metric": "accuracy", "mode": "max"},
        search_space={"training.learning_rate": {"type": "loguniform", "low": 1e-3, "high": 1e-2}},
        training={"max_steps": 20, "eval_every_steps": 10, "batch_size": 8}, scheduler={"name": "none"})
    completed = finesweep("run", str(spec_path))
    assert completed.returncode == 0, completed.stdout + completed.stderr
    best = json.loads(finesweep("best", str(tmp_path / "runs" / "tiny"), "--json").stdout)
    assert best["metric"] == "accuracy" and 0 < best["value"] <= 1
    info = json.loads((Path(best["checkpoint_path"]) / CHECKPOINT_INFO).read_text())
    assert info["metrics"]["accuracy"] == best["value"]
    assert {"f1_macro", "eval_loss"} <= info["metrics"].keys() and "perplexity" not in info["metrics"]
    config = json.loads((Path(best["checkpoint_path"]) / "config.json").read_text())
    assert config["id2label"] == {"0": "ai", "1": "coding", "2": "emotion", "3": "trivia"}
