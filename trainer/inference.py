"""Use a trained adapter with plain Hugging Face + PEFT code, exactly as a user would after export."""

from __future__ import annotations

from pathlib import Path


def generate(checkpoint_dir: Path, *, prompt: str, max_new_tokens: int) -> str:
    """Greedy reply to ``prompt`` from the base model + the adapter in ``checkpoint_dir``."""
    import torch
    from peft import AutoPeftModelForCausalLM, PeftConfig
    from transformers import AutoTokenizer

    from trainer.data import prompt_ids

    base_path = PeftConfig.from_pretrained(checkpoint_dir).base_model_name_or_path
    tokenizer = AutoTokenizer.from_pretrained(base_path)
    model = AutoPeftModelForCausalLM.from_pretrained(checkpoint_dir).eval()
    # The exact prompt tokens training used (chat template or plain format, BOS included or not).
    input_ids = torch.tensor([prompt_ids(prompt, tokenizer=tokenizer)])
    with torch.no_grad():
        output = model.generate(input_ids=input_ids, attention_mask=torch.ones_like(input_ids),
                                max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    return tokenizer.decode(output[0, input_ids.shape[1]:], skip_special_tokens=True).strip()
