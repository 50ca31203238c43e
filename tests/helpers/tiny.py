"""A tiny random Llama and a learnable toy dataset, built locally in seconds, for tests and benchmarks.

The model directory looks like a hub checkpoint (config, safetensors, tokenizer, chat template), so every
code path that loads a real model with ``from_pretrained`` runs unchanged on it.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

BOS, EOS, PAD, UNK = "<s>", "</s>", "<pad>", "<unk>"
ROLE_TOKENS = ("<|system|>", "<|user|>", "<|assistant|>")
# Starts with BOS like real Llama templates, so the "template already holds the special tokens" path is
# exercised; role names outside ROLE_TOKENS still tokenize, as plain bytes.
CHAT_TEMPLATE = ("{{ bos_token }}{% for message in messages %}<|{{ message.role }}|>{{ message.content }}\n"
                 "{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}")
MAX_POSITIONS = 256
WORDS = ("cat", "dog", "sun", "tree", "bird", "fish", "moon", "rain", "star", "leaf", "rock", "wind")
LETTERS = "abcdefgh"


def build_tiny_llama(out_dir: Path, *, corpus: Iterable[str], vocab_size: int = 256, hidden_size: int = 32,
                     layers: int = 2, seed: int = 0) -> Path:
    """Save a randomly initialised ``LlamaForCausalLM`` and a BPE tokenizer trained on ``corpus`` to
    ``out_dir``; same arguments, same files.

    The tokenizer is byte-level, so any text round-trips; its vocabulary always holds the 256 byte symbols
    and the special tokens, so a ``vocab_size`` at or below that yields a pure byte vocabulary. The model's
    vocabulary is the tokenizer's actual size.
    """
    tokenizer = _train_tokenizer(corpus=corpus, vocab_size=vocab_size)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden_size, intermediate_size=2 * hidden_size,
        num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
        max_position_embeddings=MAX_POSITIONS, tie_word_embeddings=False,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir


def _train_tokenizer(*, corpus: Iterable[str], vocab_size: int) -> PreTrainedTokenizerFast:
    special_tokens = [UNK, PAD, BOS, EOS, *ROLE_TOKENS]
    tokenizer = Tokenizer(models.BPE(unk_token=UNK))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=special_tokens, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(corpus, trainer=trainer)
    # Plain encodings start with BOS, as Llama's do
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, tokenizer.token_to_id(BOS))])
    wrapped = PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token=BOS, eos_token=EOS, pad_token=PAD,
                                      unk_token=UNK, model_max_length=MAX_POSITIONS)
    wrapped.chat_template = CHAT_TEMPLATE
    return wrapped


def qa_rows(*, n: int, seed: int) -> list[dict[str, str]]:
    """``n`` prompt/response rows of three toy tasks (addition, reversal, upper-casing), shuffled.

    ``n // 20`` rows are exact copies of other rows and ``n // 20`` have an empty or whitespace-only prompt
    or response, so that cleaning drops exactly ``n // 20`` of each.
    """
    rng = random.Random(seed)
    defects = n // 20
    unique: dict[tuple[str, str], None] = {}
    while len(unique) < n - 2 * defects:
        unique.setdefault(_qa_pair(rng), None)
    pairs = list(unique)
    pairs += [rng.choice(pairs) for _ in range(defects)]
    blanks = [("", "7"), ("what is 1 plus 1?", "   "), (" \t ", "c b a")]
    pairs += [blanks[i % len(blanks)] for i in range(defects)]
    rng.shuffle(pairs)
    return [{"prompt": prompt, "response": response} for prompt, response in pairs]


def _qa_pair(rng: random.Random) -> tuple[str, str]:
    task = rng.choice(("add", "reverse", "upper"))
    if task == "add":
        a, b = rng.randrange(50), rng.randrange(50)
        return f"what is {a} plus {b}?", str(a + b)
    if task == "reverse":
        letters = rng.choices(LETTERS, k=rng.randint(3, 5))
        return f"reverse: {' '.join(letters)}", " ".join(reversed(letters))
    word = rng.choice(WORDS)
    return f"uppercase: {word}", word.upper()


def qa_corpus(*, n: int = 200, seed: int = 0) -> list[str]:
    """The prompts and responses of :func:`qa_rows`, as tokenizer training text."""
    return [text for row in qa_rows(n=n, seed=seed) for text in (row["prompt"], row["response"])]


def write_qa_jsonl(path: Path, *, n: int, seed: int) -> Path:
    """Write :func:`qa_rows` to ``path`` as JSON lines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in qa_rows(n=n, seed=seed)), encoding="utf-8")
    return path
