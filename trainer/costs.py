"""What a trial has cost so far, reported with every evaluation: the cost objectives and budget units of
``search.objectives`` and ``search.budget`` (``sweeps.spec.objectives.COST_METRICS``)."""

from __future__ import annotations

import resource
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from transformers import TrainerState


def cost_metrics(*, state: TrainerState, model: torch.nn.Module) -> dict[str, float]:
    """Tokens trained on (HF's count, gathered over the workers), this worker's peak memory in MiB, and the
    parameters that train (an adapter's size, or the whole model's)."""
    return {"train_tokens": float(state.num_input_tokens_seen), "peak_memory_mb": peak_memory_mb(),
            "trainable_params": float(sum(param.numel() for param in model.parameters() if param.requires_grad))}


def peak_memory_mb() -> float:
    """What CUDA allocated at most on this worker, else the process's peak resident set."""
    import torch

    if torch.cuda.is_available() and torch.cuda.is_initialized():
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux
