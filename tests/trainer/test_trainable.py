"""The trial function hands Ray Train what a trial needs (run name, storage, checkpoints, poll interval)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import ray.train
from ray.train.torch import TorchConfig
from ray.train.v2._internal.constants import DEFAULT_HEALTH_CHECK_INTERVAL_S
from ray.train.v2._internal.util import TrainingFramework

from sweeps.spec import DatasetSpec, ModelSpec, SweepSpec
from trainer.trainable import TRAIN_POLL_ENV, TRAIN_POLL_SECONDS, fit_trial


@pytest.fixture
def fit_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """Each Train run's fit() the trial makes: its run config and backend and the poll interval the controller
    would read."""
    calls = []

    class RecordingTrainer:
        def __init__(self, loop, *, run_config, backend_config, **options):
            self.run_config, self.backend_config = run_config, backend_config

        def fit(self):
            calls.append({"run_config": self.run_config, "backend_config": self.backend_config,
                          "poll": os.environ.get(TRAIN_POLL_ENV)})

    monkeypatch.setattr("ray.train.v2.api.data_parallel_trainer.DataParallelTrainer", RecordingTrainer)
    monkeypatch.setattr("ray.tune.get_context", lambda: SimpleNamespace(get_trial_id=lambda: "trial_7"))
    monkeypatch.setattr("trainer.trial_report.TrialReportCallback", ray.train.UserCallback)
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


def test_the_run_is_torch_s_data_parallel_run(tmp_path: Path, fit_calls: list[dict]) -> None:
    fit_trial(spec(tmp_path), config={}, loop=None, oom_retries=0)
    backend = fit_calls[0]["backend_config"]
    assert backend.framework == TrainingFramework.TORCH
    assert backend.to_dict() == TorchConfig(backend=None).to_dict()  # Ray's defaults: env://, 1800 s


def test_neither_the_trial_actor_nor_the_train_controller_imports_torch(tmp_path: Path) -> None:
    """What each of them loads: the trial function's module, and the backend config and report callback as
    the controller unpickles them."""
    script = (
        "import pickle, sys\n"
        "import trainer.trainable\n"
        "from ray.train.v2.api.data_parallel_trainer import DataParallelTrainer\n"
        "from trainer.torch_backend import TorchBackendConfig\n"
        "config = pickle.loads(pickle.dumps(TorchBackendConfig()))\n"
        "assert config.backend_cls.__name__ == 'TorchBackend'\n"
        "import trainer.trial_report\n"
        "print(sorted(name for name in ('torch', 'transformers', 'peft') if name in sys.modules))\n")
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"
