"""Export a checkpoint of a sweep for plain Hugging Face code: the LoRA adapter, or the base model with the
adapter merged in, each with the tokenizer and a model card."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from sweeps.config.loading import read_spec
from sweeps.core.errors import UserError
from sweeps.results.checkpoints import ADAPTER_FILES, KeptCheckpoint, chosen_checkpoint, find_checkpoint
from sweeps.results.model_card import model_card
from sweeps.results.pareto import objective_points
from sweeps.results.reading import best_trial, trial_summaries
from sweeps.spec import SweepSpec


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
    points = objective_points(Path(sweep_dir), spec) if spec.search.objectives else []
    try:
        tokenizer = _write_model(Path(source.path), out_dir=partial, merged=merged, dtype=spec.model.dtype)
        card = model_card(spec=spec, checkpoint=source, merged=merged, tokenizer=tokenizer,
                          why=_why_this_one(source, sweep_dir=Path(sweep_dir), spec=spec), points=points)
        (partial / "README.md").write_text(card)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    if out_dir.exists():
        out_dir.rmdir()
    partial.rename(out_dir)
    return out_dir


def _why_this_one(source: KeptCheckpoint, *, sweep_dir: Path, spec: SweepSpec) -> str:
    """Why this checkpoint was exported, for the model card: the one chosen in the dashboard, the sweep's best,
    or another a user named (a point of the Pareto front, say)."""
    chosen = chosen_checkpoint(sweep_dir=sweep_dir)
    if chosen and (chosen["trial_id"], chosen["checkpoint"]) == (source.trial_id, source.name):
        return "it is the checkpoint chosen in the dashboard"
    best = best_trial(trial_summaries(sweep_dir, spec))
    if best and best.best_checkpoint and (best.trial_id, Path(best.best_checkpoint).name) == (source.trial_id,
                                                                                            source.name):
        return f"it is the sweep's best {spec.search.metric}"
    return "a user picked it by trial (`finesweep export --trial`, or the dashboard), not the best"


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
