"""Named search spaces, kept as raw sweep-file dicts so they validate through the same models as a
user's ``search_space`` (and a preset can be pasted into a sweep file as is)."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from search_spaces.space import SearchSpace
from sweeps.core.words import did_you_mean

_LORA_SMALL: dict[str, dict[str, Any]] = {
    "training.learning_rate": {"type": "loguniform", "low": 1e-5, "high": 1e-3},
    "method.r": {"type": "choice", "values": [4, 8, 16]},
    "method.alpha": {"type": "tied", "to": "method.r", "factors": [1, 2]},
    "training.batch_size": {"type": "choice", "values": [4, 8]},
    "training.epochs": {"type": "int", "low": 1, "high": 3},
}

_LORA_WIDE: dict[str, dict[str, Any]] = {
    **_LORA_SMALL,
    "training.weight_decay": {"type": "uniform", "low": 0.0, "high": 0.1},
    "training.warmup_ratio": {"type": "uniform", "low": 0.0, "high": 0.2},
    "method.dropout": {"type": "uniform", "low": 0.0, "high": 0.1},
    "training.lr_scheduler": {"type": "choice", "values": ["linear", "cosine"]},
}

PRESETS: dict[str, dict[str, dict[str, Any]]] = {"lora-small": _LORA_SMALL, "lora-wide": _LORA_WIDE}

PRESET_HELP: dict[str, str] = {
    "lora-small": "LoRA essentials (method.name lora or qlora): learning rate, rank, alpha = 1–2 × rank, "
                  "batch size, epochs.",
    "lora-wide": "lora-small plus weight decay, warm-up, LoRA dropout and the LR schedule.",
}

_SPACE = TypeAdapter(SearchSpace)


def preset_space(name: str) -> SearchSpace:
    """The validated search space of preset ``name``; ``ValueError`` (with a suggestion) if unknown."""
    if name not in PRESETS:
        hint = did_you_mean(name, options=PRESETS)
        raise ValueError(f"preset must be one of {', '.join(PRESETS)}, but got {name!r}{hint}")
    return _SPACE.validate_python(PRESETS[name])
