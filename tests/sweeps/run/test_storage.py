"""Storage faults at run time, on real small filesystems (tmpfs): a full, read-only or nearly full storage path
is refused before Ray starts, for `run` and for `resume`; a disk that fills mid-sweep fails the checkpoint
being written but leaves the trial's earlier checkpoints, results and best whole, and once there is room again
`resume` goes on from them. (A storage path that cannot be created is the pre-flight checks' concern.)"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors.torch import load_file

from sweeps.config.storage_checks import MIN_FREE_BYTES
from sweeps.core.layout import SPEC_FILE, TUNE_DIR
from sweeps.results.checkpoints import kept_checkpoints
from tests.helpers.faults import result_rows, study_disagreements, unreadable_files, wait_for
from tests.helpers.filesystems import fill, tmpfs
from tests.helpers.killed_sweep import SWEEP_TIMEOUT_S, cli
from tests.helpers.ray_cluster import laptop_env
from tests.helpers.sweeps import write_tiny_sweep


def finesweep(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sweeps", *args], env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture
def ray_tmp(tmp_path: Path) -> dict[str, str]:
    """An environment whose Ray would start its session under a folder of this test (it must not)."""
    (tmp_path / "ray").mkdir()
    return {**laptop_env(), "RAY_TMPDIR": str(tmp_path / "ray")}


def refused(completed: subprocess.CompletedProcess[str], *, reason: str, env: dict[str, str]) -> None:
    assert completed.returncode == 2, completed.stdout + completed.stderr
    # `run` refuses in its pre-flight (an error naming the file and field), `resume` right before Ray starts.
    assert reason in completed.stderr, completed.stderr
    assert completed.stderr.startswith("error: ") and "storage.path: " in completed.stderr
    assert "Traceback" not in completed.stderr
    assert not any(Path(env["RAY_TMPDIR"]).iterdir())  # Ray never started


@pytest.mark.parametrize(("size_mib", "read_only", "full", "reason"), [
    (80, False, True, "No space left on device"),
    (80, True, False, "Read-only file system"),
    (MIN_FREE_BYTES // 2**20 // 2, False, False, "MiB free, but a sweep needs at least"),
], ids=["full", "read-only", "nearly-full"])
def test_run_refuses_storage_that_cannot_take_a_sweep(tmp_path: Path, tiny_model_dir: Path, qa_data_path: Path,
                                                      ray_tmp: dict[str, str], size_mib: int, read_only: bool,
                                                      full: bool, reason: str):
    spec_path = write_tiny_sweep(tmp_path / "sweep.yaml", model_dir=tiny_model_dir, data_path=qa_data_path)
    with tmpfs(tmp_path / "disk", size_mib=size_mib, read_only=read_only) as disk:
        before = sorted(disk.rglob("*")) if not full else [fill(disk)]
        completed = finesweep("run", str(spec_path), f"storage.path={disk}/runs", env=ray_tmp)
        refused(completed, reason=reason, env=ray_tmp)
        assert "storage.path: " in completed.stderr
        assert sorted(disk.rglob("*")) == before  # nothing created


def test_resume_refuses_a_full_storage_path(tmp_path: Path, tiny_model_dir: Path, qa_data_path: Path,
                                            ray_tmp: dict[str, str]):
    spec_path = write_tiny_sweep(tmp_path / "sweep.yaml", model_dir=tiny_model_dir, data_path=qa_data_path)
    with tmpfs(tmp_path / "disk", size_mib=80) as disk:
        sweep_dir = disk / "runs" / "tiny"
        (sweep_dir / TUNE_DIR).mkdir(parents=True)  # a sweep that started: what resume needs to see
        shutil.copy(spec_path, sweep_dir / SPEC_FILE)
        fill(disk)
        refused(finesweep("resume", str(sweep_dir), env=ray_tmp), reason="No space left on device", env=ray_tmp)


def fill_disk_mid_trial(spec_path: Path, *, sweep_dir: Path, disk: Path, log: Path) -> Path:
    """Run the sweep, fill its disk at its first report, let it end; returns the file that filled the disk."""
    run = cli("run", str(spec_path), env=laptop_env(), log=log)
    try:
        wait_for(lambda: run.poll() is not None or any(result_rows(sweep_dir).values()),
                 timeout=SWEEP_TIMEOUT_S, what="the first report", interval=0.1)
        filler = fill(disk)
        run.wait(timeout=SWEEP_TIMEOUT_S)
    finally:
        run.kill()
    return filler


@pytest.mark.slow
def test_a_disk_filling_mid_trial_leaves_the_earlier_checkpoints_whole(tmp_path: Path, tiny_model_dir: Path,
                                                                      qa_data_path: Path):
    with tmpfs(tmp_path / "disk", size_mib=MIN_FREE_BYTES // 2**20 + 16) as disk:
        spec_path = write_tiny_sweep(tmp_path / "sweep.yaml", model_dir=tiny_model_dir, data_path=qa_data_path,
                                     name="filled", scheduler={"name": "none"},
                                     tracking={"wandb": {"mode": "disabled"}},
                                     # 20 reports: the disk fills after the first, long before the last.
                                     training={"max_steps": 60, "eval_every_steps": 3, "batch_size": 8},
                                     search={"num_trials": 1, "seed": 0}, resources={"max_failures": 0},
                                     storage={"path": str(disk / "runs")})
        sweep_dir = disk / "runs" / "filled"
        filler = fill_disk_mid_trial(spec_path, sweep_dir=sweep_dir, disk=disk, log=tmp_path / "run.log")
        output = (tmp_path / "run.log").read_text()
        [trial_id] = result_rows(sweep_dir)
        recorded = result_rows(sweep_dir)[trial_id]
        assert not recorded[-1]["training_finished"], output[-3000:]  # the full disk stopped it
        # The checkpoint being written is left cut short, and no reader takes it: the earlier ones are whole.
        kept = kept_checkpoints(sweep_dir=sweep_dir, trial_id=trial_id)
        partial = {folder.name for folder in (sweep_dir / "train" / trial_id).glob("checkpoint_*")} - {
            checkpoint.name for checkpoint in kept}
        assert kept and all(load_file(Path(checkpoint.path, "adapter_model.safetensors")) for checkpoint in kept)
        best = min(recorded, key=lambda row: row["eval_loss"])
        assert Path(best["checkpoint_path"]).name in {checkpoint.name for checkpoint in kept}
        filler.unlink()  # room again: resume mends what the full disk cut short and goes on from what it left
        resumed = subprocess.run([sys.executable, "-m", "sweeps", "resume", str(sweep_dir)], env=laptop_env(),
                                 capture_output=True, text=True, timeout=SWEEP_TIMEOUT_S)
        assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
        assert [problem for problem in unreadable_files(sweep_dir)
                if not any(f"/{name}/" in problem for name in partial)] == []
        rows = result_rows(sweep_dir)[trial_id]
        assert [row["step"] for row in rows] == list(range(3, 61, 3)) and rows[-1]["training_finished"]
        # Reports the driver had not recorded before the disk filled come again as they were (resumed_from_step
        # 0); the rest trained on from the latest whole checkpoint, at or after the last recorded report.
        [resumed_from] = {row["resumed_from_step"] for row in rows[len(recorded):]} - {0}
        assert resumed_from >= recorded[-1]["step"]
        assert study_disagreements(sweep_dir) == []
        print(f"\nfull disk after {len(recorded)} of 20 reports: {len(kept)} whole checkpoints kept, "
              f"{len(partial)} cut short and passed over; resumed from step {resumed_from}")
