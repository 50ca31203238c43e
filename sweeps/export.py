"""Pick a checkpoint of a sweep and export it for plain Hugging Face code: the LoRA adapter, or the base
model with the adapter merged in, each with the tokenizer and a model card.

A checkpoint is named by its trial id and its folder name under ``train/<trial_id>/``; both are checked
against what the sweep directory holds, so names from a web request cannot point outside it. Paths are
rebuilt from the sweep directory rather than taken from Tune's results, so a sweep copied or mounted
elsewhere (cluster → laptop) still exports.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sweeps.errors import UserError
from sweeps.layout import CHOSEN_FILE, TRAIN_DIR
from sweeps.model_card import model_card
from sweeps.results import best_trial, read_spec, trial_summaries

ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")
# Tune's trial ids (8 hex digits) and Ray's checkpoint folders: a strict shape, so never `..` or `/`.
TRIAL_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
CHECKPOINT_NAME = re.compile(r"checkpoint_[A-Za-z0-9_.-]{1,64}")


@dataclass(frozen=True)
class KeptCheckpoint:
    """One adapter checkpoint Ray Train kept for a trial (the best ``storage.keep_checkpoints`` by metric)."""

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
    """The complete checkpoints of a trial, oldest first (a folder still being written is left out)."""
    # Imported here: trainer.report pulls in transformers, which `best` and the dashboard's pages don't need.
    from trainer.report import CHECKPOINT_INFO

    kept = []
    for folder in sorted(trial_checkpoint_dir(sweep_dir=sweep_dir, trial_id=trial_id).glob("checkpoint_*")):
        info_file = folder / CHECKPOINT_INFO
        if not all((folder / name).is_file() for name in (*ADAPTER_FILES, CHECKPOINT_INFO)):
            continue
        info = json.loads(info_file.read_text())
        kept.append(KeptCheckpoint(
            trial_id=trial_id, name=folder.name, path=str(folder), step=info.get("step"),
            metrics=info.get("metrics", {}), params=info.get("params", {}),
            size_bytes=sum(file.stat().st_size for file in folder.iterdir() if file.is_file()),
        ))
    return sorted(kept, key=lambda checkpoint: checkpoint.step or 0)


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
    pick = min if spec.search.mode == "min" else max
    return pick(scored, key=lambda checkpoint: checkpoint.metrics[spec.search.metric])


def choose_checkpoint(*, sweep_dir: Path, trial_id: str, name: str | None = None) -> dict[str, Any]:
    """Record a checkpoint (default: the trial's best) as the sweep's chosen one; returns the record."""
    spec = read_spec(sweep_dir)
    checkpoint = find_checkpoint(sweep_dir=sweep_dir, trial_id=trial_id, name=name)
    record = {"trial_id": trial_id, "checkpoint": checkpoint.name, "checkpoint_path": checkpoint.path,
              "step": checkpoint.step, "metric": spec.search.metric,
              "value": checkpoint.metrics.get(spec.search.metric), "params": checkpoint.params,
              "chosen_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    chosen_file = Path(sweep_dir) / CHOSEN_FILE
    partial = chosen_file.with_suffix(".json.partial")
    partial.write_text(json.dumps(record, indent=2))
    os.replace(partial, chosen_file)  # atomic: a reader never sees half a record
    return record


def chosen_checkpoint(*, sweep_dir: Path) -> dict[str, Any] | None:
    """The recorded chosen checkpoint, or None when nothing was chosen."""
    chosen_file = Path(sweep_dir) / CHOSEN_FILE
    return json.loads(chosen_file.read_text()) if chosen_file.is_file() else None


def refuse_classification(*, sweep_dir: Path, command: str) -> None:
    """A UserError for a classification sweep: ``sample`` and ``export`` load checkpoints as causal LMs,
    and its checkpoints are sequence classifiers (a score head, labels in the saved config's id2label)."""
    if read_spec(sweep_dir).task.type == "classification":
        raise UserError(f"{sweep_dir}: `finesweep {command}` handles causal-LM checkpoints, but this sweep's "
                        "task.type is 'classification'; load its checkpoint with "
                        "AutoModelForSequenceClassification (see README, Tasks)")


def export_source(*, sweep_dir: Path, trial_id: str | None = None, name: str | None = None) -> KeptCheckpoint:
    """What an export takes: the given trial (and checkpoint), else the chosen one, else the sweep's best."""
    refuse_classification(sweep_dir=sweep_dir, command="export")
    if trial_id is not None:
        return find_checkpoint(sweep_dir=sweep_dir, trial_id=trial_id, name=name)
    chosen = chosen_checkpoint(sweep_dir=sweep_dir)
    if chosen is not None:
        return find_checkpoint(sweep_dir=sweep_dir, trial_id=chosen["trial_id"], name=chosen["checkpoint"])
    spec = read_spec(sweep_dir)
    best = best_trial(trial_summaries(Path(sweep_dir), spec))
    if best is None or best.best_checkpoint is None:
        raise UserError(f"{sweep_dir}: no trial has a checkpoint with {spec.search.metric} yet")
    return find_checkpoint(sweep_dir=sweep_dir, trial_id=best.trial_id, name=Path(best.best_checkpoint).name)


def export_checkpoint(*, sweep_dir: Path, out_dir: Path, merged: bool, trial_id: str | None = None,
                      name: str | None = None) -> Path:
    """Write a checkpoint (see :func:`export_source`) to ``out_dir``, which must be new or empty: the
    adapter files, or with ``merged`` a full model (``merge_and_unload``), plus tokenizer and README.md."""
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise UserError(f"{out_dir} already exists and is not an empty folder; give a new --out")
    source = export_source(sweep_dir=sweep_dir, trial_id=trial_id, name=name)
    # Written next to the target and renamed at the end, so a failed export leaves no half-written model.
    partial = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    spec = read_spec(sweep_dir)
    try:
        tokenizer = _write_model(Path(source.path), out_dir=partial, merged=merged, dtype=spec.model.dtype)
        (partial / "README.md").write_text(model_card(spec=spec, checkpoint=source, merged=merged,
                                                      tokenizer=tokenizer))
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    if out_dir.exists():
        out_dir.rmdir()
    partial.rename(out_dir)
    return out_dir


def _write_model(checkpoint_dir: Path, *, out_dir: Path, merged: bool, dtype: str) -> Any:
    """The adapter files or the merged model, and the base model's tokenizer; returns the tokenizer."""
    import torch
    from peft import AutoPeftModelForCausalLM, PeftConfig
    from transformers import AutoTokenizer

    if not (checkpoint_dir / ADAPTER_FILES[0]).is_file():
        # `full` and `freeze` checkpoints are whole models with their tokenizer: merged or not, a copy.
        shutil.copytree(checkpoint_dir, out_dir, dirs_exist_ok=True)
        return AutoTokenizer.from_pretrained(out_dir)
    config = PeftConfig.from_pretrained(checkpoint_dir)
    if merged and config.is_prompt_learning:
        raise UserError(f"--merged: a {config.peft_type} adapter adds virtual tokens and has no weights to "
                        "merge; export the adapter (drop --merged)")
    base_path = config.base_model_name_or_path
    if merged:
        # In this process, in the dtype training used: each adapted weight becomes W + B·A·(alpha/r).
        model = AutoPeftModelForCausalLM.from_pretrained(checkpoint_dir, dtype=getattr(torch, dtype))
        model.merge_and_unload().save_pretrained(out_dir)
    else:
        for file_name in ADAPTER_FILES:
            shutil.copy2(checkpoint_dir / file_name, out_dir / file_name)
    tokenizer = AutoTokenizer.from_pretrained(base_path)
    tokenizer.save_pretrained(out_dir)
    return tokenizer
