"""Named search spaces, kept as raw sweep-file dicts so they validate through the same models as a
user's ``search_space`` (and a preset can be pasted into a sweep file as is)."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from search_spaces.space import SearchSpace
from sweeps.core.words import did_you_mean

# The literature's learning rates, as priors (search.prior_weight says how long they guide the sampler).
# LoRA: Hu et al. 2021 (LoRA) and Dettmers et al. 2023 (QLoRA) use 1e-4–5e-4, 2e-4 the usual pick.
LORA_LR_PRIOR = {"mode": 2e-4, "spread": 2.0, "source": "LoRA (Hu et al. 2021), QLoRA (Dettmers et al. 2023)"}
# Full fine-tuning: BERT (Devlin et al. 2019) 2e-5–5e-5, RoBERTa (Liu et al. 2019) 1e-5–3e-5.
FULL_LR_PRIOR = {"mode": 2e-5, "spread": 2.0, "source": "BERT (Devlin et al. 2019), RoBERTa (Liu et al. 2019)"}

_LORA_SMALL: dict[str, dict[str, Any]] = {
    "training.learning_rate": {"type": "loguniform", "low": 1e-5, "high": 1e-3, "prior": LORA_LR_PRIOR},
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

_FULL_SMALL: dict[str, dict[str, Any]] = {
    "training.learning_rate": {"type": "loguniform", "low": 1e-6, "high": 1e-4, "prior": FULL_LR_PRIOR},
    "training.batch_size": {"type": "choice", "values": [8, 16, 32]},
    # BERT's 2–4 epochs, 3 the usual.
    "training.epochs": {"type": "int", "low": 1, "high": 4, "prior": {"mode": 3, "spread": 1, "source": "BERT"}},
    "training.warmup_ratio": {"type": "uniform", "low": 0.0, "high": 0.1},
}

PRESETS: dict[str, dict[str, dict[str, Any]]] = {"lora-small": _LORA_SMALL, "lora-wide": _LORA_WIDE,
                                                 "full-small": _FULL_SMALL}

PRESET_HELP: dict[str, str] = {
    "lora-small": "LoRA essentials (method.name lora or qlora): learning rate around 2e-4, rank, alpha = 1–2 × "
                  "rank, batch size, epochs.",
    "lora-wide": "lora-small plus weight decay, warm-up, LoRA dropout and the LR schedule.",
    "full-small": "Full fine-tuning (method.name full): learning rate around 2e-5, batch size, epochs around 3, "
                  "warm-up.",
}

_SPACE = TypeAdapter(SearchSpace)


def preset_space(name: str) -> SearchSpace:
    """The validated search space of preset ``name``; ``ValueError`` (with a suggestion) if unknown."""
    if name not in PRESETS:
        hint = did_you_mean(name, options=PRESETS)
        raise ValueError(f"preset must be one of {', '.join(PRESETS)}, but got {name!r}{hint}")
    return _SPACE.validate_python(PRESETS[name])
