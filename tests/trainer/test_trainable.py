"""The trial function hands Ray Train what a trial needs (run name, storage, checkpoints, poll interval)."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest
import ray.train
from ray.train.v2._internal.constants import DEFAULT_HEALTH_CHECK_INTERVAL_S

from sweeps.spec import DatasetSpec, ModelSpec, SweepSpec
from trainer.trainable import TRAIN_POLL_ENV, TRAIN_POLL_SECONDS, fit_trial


@pytest.fixture
def fit_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """Each TorchTrainer.fit() the trial makes: its run config and the poll interval the controller would read."""
    calls = []

    class RecordingTrainer:
        def __init__(self, loop, *, run_config, **options):
            self.run_config = run_config

        def fit(self):
            calls.append({"run_config": self.run_config, "poll": os.environ.get(TRAIN_POLL_ENV)})

    monkeypatch.setattr("ray.train.torch.TorchTrainer", RecordingTrainer)
    monkeypatch.setattr("ray.tune.get_context", lambda: SimpleNamespace(get_trial_id=lambda: "trial_7"))
    monkeypatch.setattr("ray.tune.integration.ray_train.TuneReportCallback", ray.train.UserCallback)
    monkeypatch.delenv(TRAIN_POLL_ENV, raising=False)  # also restores the variable fit_trial sets
    return calls


def spec(tmp_path: Path) -> SweepSpec:
    return SweepSpec(name="t", model=ModelSpec(path=Path("m")), dataset=DatasetSpec(path=Path("d.jsonl")),
                     storage={"path": str(tmp_path)})


def test_the_train_controller_polls_often_so_reports_do_not_wait(tmp_path: Path, fit_calls: list[dict]) -> None:
    fit_trial(spec(tmp_path), config={}, loop=None, oom_retries=0)
    assert [call["poll"] for call in fit_calls] == [TRAIN_POLL_SECONDS]
    # Faster than the Ray Train default this exists to beat (it stalled reports, BENCHMARKS.md, M1).
    assert float(fit_calls[0]["poll"]) < DEFAULT_HEALTH_CHECK_INTERVAL_S


def test_a_poll_interval_the_user_set_is_kept(tmp_path: Path, fit_calls: list[dict],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TRAIN_POLL_ENV, "5")
    fit_trial(spec(tmp_path), config={}, loop=None, oom_retries=0)
    assert [call["poll"] for call in fit_calls] == ["5"]


def test_the_train_run_is_named_after_the_trial_in_the_sweep_s_storage(tmp_path: Path,
                                                                      fit_calls: list[dict]) -> None:
    fit_trial(spec(tmp_path), config={}, loop=None, oom_retries=0)
    run_config = fit_calls[0]["run_config"]
    assert run_config.name == "trial_7"
    assert Path(run_config.storage_path).is_relative_to(tmp_path)
