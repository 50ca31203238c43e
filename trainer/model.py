"""Load the base model and tokenizer from a local folder and put the fine-tuning method on it."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from peft import PeftModel
    from transformers import PreTrainedTokenizerBase

    from sweeps.spec import LoraSpec, ModelSpec


def load_tokenizer(model: ModelSpec) -> PreTrainedTokenizerBase:
    """The model's tokenizer, with a pad token (batches need one; eos is the usual stand-in)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model.path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_lora_model(*, model: ModelSpec, method: LoraSpec, gradient_checkpointing: bool, workers: int = 1,
                    seed: int | None = None) -> PeftModel:
    """The base causal LM from ``model.path`` wrapped with fresh LoRA adapters; only adapters train.

    With ``workers`` > 1 (every rank calls this) the base weights are FSDP2-sharded over the ranks as they
    load and the adapters stay whole on each (see :mod:`trainer.fsdp`). ``seed`` seeds the adapters' init,
    so that the same seed gives the same adapters whatever the number of workers.
    """
    import torch
    from peft import LoraConfig, TaskType, get_peft_model
    from transformers import AutoModelForCausalLM, set_seed

    from trainer.fsdp import check_sharded, local_parameter_counts, sharded_loading_kwargs

    base = AutoModelForCausalLM.from_pretrained(model.path, dtype=getattr(torch, model.dtype),
                                                **sharded_loading_kwargs(workers=workers))
    if workers > 1:
        check_sharded(base, workers=workers)
        local, total = local_parameter_counts(base)
        logging.getLogger(__name__).info("FSDP2: this rank holds %d of the base model's %d parameters", local, total)
    if gradient_checkpointing:
        # Non-reentrant checkpointing works with frozen base weights and with FSDP.
        base.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        base.enable_input_require_grads()
    config = LoraConfig(
        task_type=TaskType.CAUSAL_LM,
        r=method.r,
        lora_alpha=method.alpha,
        lora_dropout=method.dropout,
        target_modules=method.target_modules,
    )
    if seed is not None:
        set_seed(seed)
    return get_peft_model(base, config)
