"""Use a trained checkpoint with plain Hugging Face + PEFT code, exactly as a user would after export."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedTokenizerBase


def load_checkpoint(checkpoint_dir: Path) -> tuple[torch.nn.Module, PreTrainedTokenizerBase]:
    """The model (in eval mode) and tokenizer of a checkpoint: the base model + its adapter, or the whole
    model a ``full``/``freeze`` trial saved with its tokenizer."""
    import warnings

    from peft import AutoPeftModelForCausalLM, PeftConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging

    logging.disable_progress_bar()  # a weight-loading bar between the prompt and the reply is noise
    # peft 0.21 calls transformers' deprecated `is_gradient_checkpointing`; the warning is not the user's to fix.
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
    # peft 0.21 checks AdaLoRA's saved rank_pattern (`...lora_E` keys) against module names and warns they
    # match none, then applies it correctly all the same (trainer tests compare the reloaded logits).
    warnings.filterwarnings("ignore", message=".*rank_pattern keys did not match.*", category=RuntimeWarning)

    if not (Path(checkpoint_dir) / "adapter_config.json").is_file():
        model, tokenizer_path = AutoModelForCausalLM.from_pretrained(checkpoint_dir), checkpoint_dir
    else:
        model = AutoPeftModelForCausalLM.from_pretrained(checkpoint_dir)
        tokenizer_path = PeftConfig.from_pretrained(checkpoint_dir).base_model_name_or_path
    return model.eval(), AutoTokenizer.from_pretrained(tokenizer_path)


def generate(checkpoint_dir: Path, *, prompt: str, max_new_tokens: int) -> str:
    """Greedy reply to ``prompt`` from the checkpoint in ``checkpoint_dir`` (see :func:`load_checkpoint`)."""
    model, tokenizer = load_checkpoint(checkpoint_dir)
    return generate_answers(model, prompts=[prompt], tokenizer=tokenizer, max_new_tokens=max_new_tokens)[0].strip()


def generate_answers(model: torch.nn.Module, *, prompts: Sequence[str], tokenizer: PreTrainedTokenizerBase,
                     max_new_tokens: int) -> list[str]:
    """Greedy answers to ``prompts``, in one left-padded batch, prompted with the exact tokens training used
    (chat template or plain format, BOS included or not)."""
    import torch

    from trainer.prompts import prompt_ids

    encoded = [prompt_ids(prompt, tokenizer=tokenizer) for prompt in prompts]
    width = max(map(len, encoded))
    # Left padding: every prompt ends where generation starts.
    input_ids = torch.tensor([[tokenizer.pad_token_id] * (width - len(ids)) + ids for ids in encoded])
    attention_mask = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids in encoded])
    was_training = model.training
    model.eval()
    with torch.no_grad():
        output = model.generate(input_ids=input_ids.to(model.device), attention_mask=attention_mask.to(model.device),
                                max_new_tokens=max_new_tokens, do_sample=False,
                                pad_token_id=tokenizer.pad_token_id)
    model.train(was_training)
    return tokenizer.batch_decode(output[:, width:], skip_special_tokens=True)
