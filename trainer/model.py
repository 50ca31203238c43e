"""Load the base model and tokenizer from a local folder and put the fine-tuning method on it."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    import torch
    from transformers import PreTrainedTokenizerBase

    from sweeps.spec import MethodSpec, ModelSpec, SweepSpec


def load_tokenizer(model: ModelSpec) -> PreTrainedTokenizerBase:
    """The model's tokenizer, with a pad token (batches need one; eos is the usual stand-in)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model.path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(*, model: ModelSpec, method: MethodSpec, gradient_checkpointing: bool, workers: int = 1,
               seed: int | None = None, total_steps: int | None = None, labels: Sequence[str] | None = None,
               pad_token_id: int | None = None) -> torch.nn.Module:
    """The base causal LM from ``model.path`` with ``method`` on it (see :mod:`trainer.methods`): a
    ``PeftModel`` whose adapter alone trains, or the model itself with the method's weights trainable.
    With ``labels`` it is a sequence classifier instead: a new score head, one output per label (id = its
    index, kept in the config's id2label / label2id), which finds each row's last token by ``pad_token_id``.

    With ``workers`` > 1 (every rank calls this; lora only) the base weights are FSDP2-sharded over the
    ranks as they load and the adapters stay whole on each (see :mod:`trainer.fsdp`). ``seed`` seeds the
    adapters' init, so that the same seed gives the same adapters whatever the number of workers.
    ``total_steps`` is the run's length in optimizer steps, which adalora's rank schedule needs.
    """
    from transformers import set_seed

    from trainer.methods import apply_method

    base = load_base_model(model=model, method=method, gradient_checkpointing=gradient_checkpointing,
                           workers=workers, seed=seed, labels=labels, pad_token_id=pad_token_id)
    if seed is not None:
        set_seed(seed)
    return apply_method(base, method=method, model_path=str(model.path), total_steps=total_steps,
                        task_type="CAUSAL_LM" if labels is None else "SEQ_CLS")


def load_trial_model(spec: SweepSpec, *, train_examples: int, labels: Sequence[str] | None = None,
                     pad_token_id: int | None = None) -> torch.nn.Module:
    """:func:`load_model` as a trial of ``spec`` needs it: its model, method, checkpointing, workers and seed,
    and its run length in optimizer steps over ``train_examples`` (``labels``, ``pad_token_id`` as there)."""
    from trainer.methods import training_steps

    return load_model(model=spec.model, method=spec.method,
                      gradient_checkpointing=spec.training.gradient_checkpointing,
                      workers=spec.resources.workers, seed=spec.training.seed,
                      total_steps=training_steps(spec, train_examples=train_examples),
                      labels=labels, pad_token_id=pad_token_id)


def load_base_model(*, model: ModelSpec, method: MethodSpec, gradient_checkpointing: bool, workers: int = 1,
                    seed: int | None = None, labels: Sequence[str] | None = None,
                    pad_token_id: int | None = None) -> torch.nn.Module:
    """The model of :func:`load_model` before ``method`` is put on it; ``method`` only says how to load it
    (qlora's 4-bit weights). For a trainer that applies the PEFT config itself (TRL's DPO trainer)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, set_seed

    from trainer.fsdp import check_sharded, local_parameter_counts, sharded_loading_kwargs
    from trainer.methods import loading_kwargs

    dtype = getattr(torch, model.dtype)
    auto_class, head = AutoModelForCausalLM, {}
    if labels is not None:
        auto_class = AutoModelForSequenceClassification
        head = {"num_labels": len(labels), "id2label": dict(enumerate(labels)), "pad_token_id": pad_token_id,
                "label2id": {label: index for index, label in enumerate(labels)}}
        if seed is not None:
            set_seed(seed)  # the score head is initialised as the model loads
    base = auto_class.from_pretrained(model.path, dtype=dtype, **sharded_loading_kwargs(workers=workers),
                                      **loading_kwargs(method, dtype=dtype), **head)
    if workers > 1:
        check_sharded(base, workers=workers)
        local, total = local_parameter_counts(base)
        logging.getLogger(__name__).info("FSDP2: this rank holds %d of the base model's %d parameters", local, total)
    if gradient_checkpointing:
        # Non-reentrant checkpointing works with frozen base weights and with FSDP.
        base.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        base.enable_input_require_grads()
    return base

