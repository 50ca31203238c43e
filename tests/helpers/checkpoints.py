"""Shared by the export and dashboard tests: a sweep directory with adapter checkpoints but no Tune results,
built in seconds without Ray, and the check that a merged model gives the logits of base + adapter.

The sweep directory holds what the runner and Ray Train leave for export to read: ``sweep.yaml`` and
``train/<trial>/checkpoint_*/`` (adapter + finesweep.json). Tune's own files are never faked here; tests
that need a leaderboard use the real ``finished_sweep``.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from sweeps.config.loading import load_spec
from sweeps.run.runner import prepare_sweep_dir
from tests.helpers.sweeps import write_tiny_sweep
from trainer.model import load_model

# A fixed input for the logit comparison: ids inside the tiny tokenizer's byte vocabulary.
FIXED_INPUT = [[2, 40, 71, 72, 73, 10, 45, 80, 99, 101, 120, 33]]
LOGIT_TOLERANCE = 1e-4  # float32 merge: W + B·A·scale in one matmul instead of two; observed ~1e-7

# trial id → [(checkpoint folder, step, eval_loss)]; trial aaaa0001's best is its later checkpoint.
CHECKPOINTS = {
    "aaaa0001": [("checkpoint_2026-01-01_00-00-01.000001", 3, 5.5), ("checkpoint_2026-01-01_00-00-02.000002", 6, 5.4)],
    "bbbb0002": [("checkpoint_2026-01-01_00-00-03.000003", 3, 5.45)],
}


def write_checkpointed_sweep(storage: Path, *, model_dir: Path, data_path: Path) -> Path:
    """``storage/synthetic``: the tiny sweep's spec and the checkpoints in :data:`CHECKPOINTS`, each with
    LoRA B set to small random values (PEFT starts B at zero, which would make any merge a no-op)."""
    storage.mkdir(parents=True, exist_ok=True)
    spec_path = write_tiny_sweep(storage / "synthetic.yaml", model_dir=model_dir, data_path=data_path,
                                 storage={"path": str(storage)})
    spec = load_spec(spec_path).model_copy(update={"name": "synthetic"})
    sweep_dir = prepare_sweep_dir(spec)
    model = load_model(model=spec.model, method=spec.method, gradient_checkpointing=False)
    generator = torch.Generator().manual_seed(0)
    for trial_id, checkpoints in CHECKPOINTS.items():
        for folder_name, step, loss in checkpoints:
            for name, parameter in model.named_parameters():
                if "lora_B" in name:
                    parameter.data = 0.05 * torch.randn(parameter.shape, generator=generator)
            folder = sweep_dir / "train" / trial_id / folder_name
            model.save_pretrained(folder)
            params = {"training.learning_rate": 1e-3, "method.r": spec.method.r}
            info = {"step": step, "params": params, "metrics": {"eval_loss": loss, "step": step}}
            (folder / "finesweep.json").write_text(json.dumps(info))
    return sweep_dir


def merged_vs_peft(merged_dir: Path, *, checkpoint_dir: Path) -> tuple[float, float]:
    """(max |merged − base+adapter|, max |base − base+adapter|) over the logits of :data:`FIXED_INPUT`; the
    second says how much the adapter moves the logits, so a small first one means something."""
    from peft import PeftConfig, PeftModel
    from transformers import AutoModelForCausalLM

    base_dir = PeftConfig.from_pretrained(checkpoint_dir).base_model_name_or_path
    merged = _logits(AutoModelForCausalLM.from_pretrained(merged_dir))
    base = _logits(AutoModelForCausalLM.from_pretrained(base_dir))
    with_adapter = _logits(PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base_dir), checkpoint_dir))
    return (merged - with_adapter).abs().max().item(), (base - with_adapter).abs().max().item()


def _logits(model) -> torch.Tensor:
    with torch.no_grad():
        return model.eval()(input_ids=torch.tensor(FIXED_INPUT)).logits
