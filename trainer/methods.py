"""What each ``method.name`` does to a loaded base model: one table from a method's spec to its PEFT config,
and, for the methods without PEFT (``full``, ``freeze``), which of the model's own weights train."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from transformers import TrainerCallback

if TYPE_CHECKING:
    import torch
    from peft import PeftConfig

    from sweeps.spec import MethodSpec, SweepSpec


@dataclass(frozen=True)
class _Context:
    """What a PEFT config needs beyond the method's own fields."""

    model_path: str
    total_steps: int | None
    task_type: str  # PEFT's TaskType: CAUSAL_LM, or SEQ_CLS (which also trains the score head, modules_to_save)


def _lora(method: Any, context: _Context) -> PeftConfig:
    from peft import LoraConfig

    return LoraConfig(task_type=context.task_type, r=method.r, lora_alpha=method.alpha, lora_dropout=method.dropout,
                      target_modules=method.target_modules)


def _adalora(method: Any, context: _Context) -> PeftConfig:
    from peft import AdaLoraConfig

    if context.total_steps is None:
        raise ValueError("method.name 'adalora' needs the run's length in optimizer steps (total_steps)")
    return AdaLoraConfig(task_type=context.task_type, init_r=method.init_r, target_r=method.target_r,
                         lora_alpha=method.alpha, lora_dropout=method.dropout, target_modules=method.target_modules,
                         total_step=context.total_steps)


def _ia3(method: Any, context: _Context) -> PeftConfig:
    from peft import IA3Config

    return IA3Config(task_type=context.task_type, target_modules=method.target_modules,
                     feedforward_modules=method.feedforward_modules)


def _prompt_tuning(method: Any, context: _Context) -> PeftConfig:
    from peft import PromptTuningConfig, PromptTuningInit

    text = {"prompt_tuning_init": PromptTuningInit.TEXT, "prompt_tuning_init_text": method.init_text,
            "tokenizer_name_or_path": context.model_path} if method.init_text else {}
    return PromptTuningConfig(task_type=context.task_type, num_virtual_tokens=method.num_virtual_tokens, **text)


def _prefix_tuning(method: Any, context: _Context) -> PeftConfig:
    from peft import PrefixTuningConfig

    return PrefixTuningConfig(task_type=context.task_type, num_virtual_tokens=method.num_virtual_tokens)


# method.name → its PEFT config; a method not here trains the model's own weights (see TRAINABLE_WEIGHTS).
PEFT_CONFIGS: dict[str, Callable[[Any, _Context], PeftConfig]] = {
    "lora": _lora, "qlora": _lora, "adalora": _adalora, "ia3": _ia3, "prompt_tuning": _prompt_tuning,
    "prefix_tuning": _prefix_tuning,
}


def _all_weights(model: torch.nn.Module, method: Any) -> list[torch.nn.Parameter]:
    return list(model.parameters())


def _top_layers_and_head(model: torch.nn.Module, method: Any) -> list[torch.nn.Parameter]:
    layers = decoder_layers(model)
    if method.k > len(layers):
        raise ValueError(f"method.k: `k <= num_hidden_layers` must hold, but got (k={method.k}, "
                         f"num_hidden_layers={len(layers)})")
    return [*layers[-method.k:].parameters(), *output_head(model).parameters()]


def output_head(model: torch.nn.Module) -> torch.nn.Module:
    """The layer that makes the outputs: a causal LM's LM head, or a sequence classifier's score head
    (which has no output embeddings; ``score`` in Llama, ``classifier`` in BERT)."""
    candidates = (model.get_output_embeddings(), getattr(model, "score", None), getattr(model, "classifier", None))
    head = next((module for module in candidates if module is not None), None)
    if head is None:
        raise ValueError(f"cannot find the output head of {type(model).__name__} for method 'freeze'")
    return head


# method.name → the weights of the base model that train, for the methods without PEFT.
TRAINABLE_WEIGHTS: dict[str, Callable[[torch.nn.Module, Any], list[torch.nn.Parameter]]] = {
    "full": _all_weights, "freeze": _top_layers_and_head,
}


def decoder_layers(model: torch.nn.Module) -> torch.nn.ModuleList:
    """The stack of transformer blocks: the module list as long as the config's ``num_hidden_layers``
    (``model.layers`` in Llama, ``transformer.h`` in GPT-2; the name differs by architecture)."""
    import torch

    count = model.config.num_hidden_layers
    for module in model.modules():
        if isinstance(module, torch.nn.ModuleList) and len(module) == count:
            return module
    raise ValueError(f"cannot find the {count} transformer layers of {type(model).__name__} for method 'freeze'")


def apply_method(base: torch.nn.Module, *, method: MethodSpec, model_path: str, total_steps: int | None = None,
                 task_type: str = "CAUSAL_LM") -> torch.nn.Module:
    """``base`` made ready to train with ``method``: wrapped by PEFT, or with only its chosen weights
    trainable. ``total_steps`` (the run's optimizer steps) is needed by adalora's rank schedule;
    ``task_type`` is PEFT's name of what ``base`` is (CAUSAL_LM, SEQ_CLS)."""
    if method.name in PEFT_CONFIGS:
        from peft import get_peft_model, prepare_model_for_kbit_training

        if method.name == "qlora":  # fp32 norms and input gradients, as 4-bit training needs
            base = prepare_model_for_kbit_training(base, use_gradient_checkpointing=False)
        return get_peft_model(base, peft_config(method, model_path=model_path, total_steps=total_steps,
                                                task_type=task_type))
    trainable = {id(param) for param in TRAINABLE_WEIGHTS[method.name](base, method)}
    for param in base.parameters():
        param.requires_grad_(id(param) in trainable)
    return base


def peft_config(method: MethodSpec, *, model_path: str, total_steps: int | None = None,
                task_type: str = "CAUSAL_LM") -> PeftConfig:
    """The PEFT config of a method in :data:`PEFT_CONFIGS` (arguments as in :func:`apply_method`)."""
    return PEFT_CONFIGS[method.name](method, _Context(model_path, total_steps, task_type))


def loading_kwargs(method: MethodSpec, *, dtype: torch.dtype) -> dict[str, Any]:
    """Extra ``from_pretrained`` arguments of ``method``: qlora's 4-bit NF4 quantization on this process's GPU."""
    if method.name != "qlora":
        return {}
    import torch
    from transformers import BitsAndBytesConfig

    quantization = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                                      bnb_4bit_compute_dtype=dtype)
    return {"quantization_config": quantization, "device_map": {"": torch.cuda.current_device()}}


def training_steps(spec: SweepSpec, *, train_examples: int) -> int:
    """Optimizer steps the HF ``Trainer`` will run: ``max_steps``, or the epochs over batches of
    ``batch_size`` (the last one partial), as the Trainer counts them with one worker."""
    if spec.training.max_steps:
        return spec.training.max_steps
    return math.ceil(spec.training.epochs * math.ceil(train_examples / spec.training.batch_size))


class AdaLoraBudget(TrainerCallback):
    """AdaLoRA moves rank between modules from each step's gradients: PEFT needs ``update_and_allocate``
    after the optimizer step and before the gradients are zeroed, which the HF ``Trainer`` never calls."""

    def on_optimizer_step(self, args, state, control, model=None, **kwargs):
        # The step about to be counted: PEFT's schedule runs from 0 to total_step - 1.
        model.base_model.update_and_allocate(state.global_step)


def method_callbacks(method: MethodSpec) -> list[TrainerCallback]:
    """The ``Trainer`` callbacks ``method`` needs to train correctly."""
    return [AdaLoraBudget()] if method.name == "adalora" else []
