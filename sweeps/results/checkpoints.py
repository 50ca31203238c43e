"""The checkpoints Ray Train kept for a sweep's trials, and the one picked in the dashboard (``chosen.json``).

A checkpoint is named by its trial id and its folder name under ``train/<trial_id>/``; both are checked
against what the sweep directory holds, so names from a web request cannot point outside it. Paths are
rebuilt from the sweep directory rather than taken from Tune's results, so a sweep copied or mounted
elsewhere (cluster → laptop) still reads.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sweeps.config.loading import read_spec
from sweeps.core.errors import UserError
from sweeps.core.files import write_atomically
from sweeps.core.layout import CHECKPOINT_INFO, CHECKPOINT_NAME, CHOSEN_FILE, TRAIN_DIR, TRIAL_ID
from sweeps.core.values import best_by

ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")
# What a `full` or `freeze` trial saves instead: the whole model (its tokenizer beside it).
MODEL_FILES = ("config.json", "model.safetensors")


@dataclass(frozen=True)
class KeptCheckpoint:
    """One checkpoint Ray Train kept for a trial (the best ``storage.keep_checkpoints`` by metric): an adapter,
    or the whole model of a ``full`` or ``freeze`` trial."""

    trial_id: str
    name: str  # the folder name, checkpoint_<date>
    path: str
    step: int | None
    metrics: dict[str, Any]
    params: dict[str, Any]
    size_bytes: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def trial_checkpoint_dir(*, sweep_dir: Path, trial_id: str) -> Path:
    """``train/<trial_id>`` of an existing trial; a UserError for anything else."""
    folder = Path(sweep_dir) / TRAIN_DIR / trial_id
    if not TRIAL_ID.fullmatch(trial_id) or not folder.is_dir():
        raise UserError(f"{sweep_dir}: no trial {trial_id!r} with checkpoints")
    return folder


def kept_checkpoints(*, sweep_dir: Path, trial_id: str) -> list[KeptCheckpoint]:
    """The whole checkpoints of a trial, oldest first: a folder still being written, or cut short by a full
    disk, is left out."""
    kept = []
    for folder in sorted(trial_checkpoint_dir(sweep_dir=sweep_dir, trial_id=trial_id).glob("checkpoint_*")):
        info = _whole_checkpoint_info(folder)
        if info is None:
            continue
        kept.append(KeptCheckpoint(
            trial_id=trial_id, name=folder.name, path=str(folder), step=info.get("step"),
            metrics=info.get("metrics", {}), params=info.get("params", {}),
            size_bytes=sum(file.stat().st_size for file in folder.iterdir() if file.is_file()),
        ))
    return sorted(kept, key=lambda checkpoint: checkpoint.step or 0)


def _whole_checkpoint_info(folder: Path) -> dict[str, Any] | None:
    """The checkpoint's finesweep.json if every file it lists has the size it lists (checkpoints from before
    the list: the adapter's or the whole model's files are there); None for a partial folder."""
    try:
        info = json.loads((folder / CHECKPOINT_INFO).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict):
        return None
    if not info.get("files"):
        return info if any(all((folder / name).is_file() for name in files)
                           for files in (ADAPTER_FILES, MODEL_FILES)) else None
    whole = all((folder / name).is_file() and size in (None, (folder / name).stat().st_size)
                for name, size in info["files"].items() if name != CHECKPOINT_INFO)
    return info if whole else None


def find_checkpoint(*, sweep_dir: Path, trial_id: str, name: str | None = None) -> KeptCheckpoint:
    """The checkpoint ``name`` of a trial, or without a name the trial's best one by the sweep's metric."""
    spec = read_spec(sweep_dir)
    kept = kept_checkpoints(sweep_dir=sweep_dir, trial_id=trial_id)
    if name is not None:
        matches = [checkpoint for checkpoint in kept if checkpoint.name == name]
        if not CHECKPOINT_NAME.fullmatch(name) or not matches:
            raise UserError(f"trial {trial_id} has no checkpoint {name!r}; kept: "
                            f"{', '.join(checkpoint.name for checkpoint in kept) or 'none'}")
        return matches[0]
    scored = [checkpoint for checkpoint in kept if spec.search.metric in checkpoint.metrics]
    if not scored:
        raise UserError(f"trial {trial_id} has no checkpoint with {spec.search.metric} yet")
    return best_by(scored, key=lambda checkpoint: checkpoint.metrics[spec.search.metric], mode=spec.search.mode)


def choose_checkpoint(*, sweep_dir: Path, trial_id: str, name: str | None = None) -> dict[str, Any]:
    """Record a checkpoint (default: the trial's best) as the sweep's chosen one; returns the record."""
    spec = read_spec(sweep_dir)
    checkpoint = find_checkpoint(sweep_dir=sweep_dir, trial_id=trial_id, name=name)
    record = {"trial_id": trial_id, "checkpoint": checkpoint.name, "checkpoint_path": checkpoint.path,
              "step": checkpoint.step, "metric": spec.search.metric,
              "value": checkpoint.metrics.get(spec.search.metric), "params": checkpoint.params,
              "chosen_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    write_atomically(Path(sweep_dir) / CHOSEN_FILE, json.dumps(record, indent=2))
    return record


def clear_choice(*, sweep_dir: Path) -> bool:
    """Forget the chosen checkpoint, so that export takes the best again; whether there was one."""
    chosen_file = Path(sweep_dir) / CHOSEN_FILE
    existed = chosen_file.is_file()
    chosen_file.unlink(missing_ok=True)
    return existed


def chosen_checkpoint(*, sweep_dir: Path) -> dict[str, Any] | None:
    """The recorded chosen checkpoint, or None when nothing was chosen."""
    chosen_file = Path(sweep_dir) / CHOSEN_FILE
    return json.loads(chosen_file.read_text()) if chosen_file.is_file() else None
