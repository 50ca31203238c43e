"""Load the base model and tokenizer from a local folder and put the fine-tuning method on it."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedTokenizerBase

    from sweeps.spec import MethodSpec, ModelSpec


def load_tokenizer(model: ModelSpec) -> PreTrainedTokenizerBase:
    """The model's tokenizer, with a pad token (batches need one; eos is the usual stand-in)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model.path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(*, model: ModelSpec, method: MethodSpec, gradient_checkpointing: bool, workers: int = 1,
               seed: int | None = None, total_steps: int | None = None) -> torch.nn.Module:
    """The base causal LM from ``model.path`` with ``method`` on it (see :mod:`trainer.methods`): a
    ``PeftModel`` whose adapter alone trains, or the model itself with the method's weights trainable.

    With ``workers`` > 1 (every rank calls this; lora only) the base weights are FSDP2-sharded over the
    ranks as they load and the adapters stay whole on each (see :mod:`trainer.fsdp`). ``seed`` seeds the
    adapters' init, so that the same seed gives the same adapters whatever the number of workers.
    ``total_steps`` is the run's length in optimizer steps, which adalora's rank schedule needs.
    """
    import torch
    from transformers import AutoModelForCausalLM, set_seed

    from trainer.fsdp import check_sharded, local_parameter_counts, sharded_loading_kwargs
    from trainer.methods import apply_method, loading_kwargs

    dtype = getattr(torch, model.dtype)
    base = AutoModelForCausalLM.from_pretrained(model.path, dtype=dtype, **sharded_loading_kwargs(workers=workers),
                                                **loading_kwargs(method, dtype=dtype))
    if workers > 1:
        check_sharded(base, workers=workers)
        local, total = local_parameter_counts(base)
        logging.getLogger(__name__).info("FSDP2: this rank holds %d of the base model's %d parameters", local, total)
    if gradient_checkpointing:
        # Non-reentrant checkpointing works with frozen base weights and with FSDP.
        base.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        base.enable_input_require_grads()
    if seed is not None:
        set_seed(seed)
    return apply_method(base, method=method, model_path=str(model.path), total_steps=total_steps)


# tests/export_checks.py (the export tests' helper) still imports the name from before other methods.
load_lora_model = load_model
