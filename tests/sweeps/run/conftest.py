"""The sweep the driver-fault and secrets tests share: killed mid-trial, journal torn, resumed (once per session)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.killed_sweep import KILLED_TRIALS, KilledSweep, kill_and_resume
from tests.helpers.ray_cluster import laptop_env
from tests.helpers.secrets import with_fake_secrets
from tests.helpers.sweeps import write_tiny_sweep


@pytest.fixture(scope="session")
def killed_sweep(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path, qa_data_path: Path,
                 ) -> Iterator[KilledSweep]:
    folder = tmp_path_factory.mktemp("killed")
    ray_dir = Path(tempfile.mkdtemp(prefix="fs-", dir="/tmp"))  # short: Ray's socket paths must stay short
    env = {**with_fake_secrets(laptop_env()), "RAY_TMPDIR": str(ray_dir)}
    spec_path = write_tiny_sweep(folder / "sweep.yaml", model_dir=tiny_model_dir, data_path=qa_data_path,
                                 name="killed", scheduler={"name": "none"}, tracking={"wandb": {"mode": "offline"}},
                                 search={"num_trials": KILLED_TRIALS, "seed": 0, "max_concurrent_trials": 1})
    sweep_dir = folder / "runs" / "killed"
    try:
        yield kill_and_resume(spec_path, sweep_dir=sweep_dir, env=env, ray_dir=ray_dir)
    finally:
        shutil.rmtree(ray_dir, ignore_errors=True)
