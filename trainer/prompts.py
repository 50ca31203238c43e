"""The prompt format of every task: what the model sees before its response, in training and in generation.

Light on purpose (transformers only for type checking), so a model card can say how to prompt without
loading a model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

PLAIN_PROMPT_SEPARATOR = "\n"


def prompt_text(prompt: str, *, tokenizer: PreTrainedTokenizerBase) -> str:
    """The text the model sees before its response: the tokenizer's chat template as a single user turn
    with the generation prompt, or ``prompt + "\\n"`` for tokenizers without a template."""
    if has_chat_template(tokenizer):
        return tokenizer.apply_chat_template([{"role": "user", "content": prompt}],
                                             add_generation_prompt=True, tokenize=False)
    return prompt + PLAIN_PROMPT_SEPARATOR


def prompt_ids(prompt: str, *, tokenizer: PreTrainedTokenizerBase) -> list[int]:
    """Token ids of :func:`prompt_text`, exactly as training tokenizes it: feed these to ``generate``."""
    return encode_prompts([prompt], tokenizer=tokenizer)[0]


def encode_prompts(prompts: Sequence[str], *, tokenizer: PreTrainedTokenizerBase) -> list[list[int]]:
    """Token ids of :func:`prompt_text` for each of ``prompts``."""
    texts = [prompt_text(prompt, tokenizer=tokenizer) for prompt in prompts]
    # A chat template writes the model's special tokens (BOS) itself; adding them again would double them
    return tokenizer(texts, add_special_tokens=not has_chat_template(tokenizer))["input_ids"]


def has_chat_template(tokenizer: PreTrainedTokenizerBase) -> bool:
    """Whether prompts go through the tokenizer's chat template (else plain text and a newline)."""
    return bool(getattr(tokenizer, "chat_template", None))
