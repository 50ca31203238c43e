"""Pre-flight of a sweep's base model folder, before anything starts: ``config.json`` parses and names the
architecture, the weights are there and their headers read, the tokenizer loads, and the method's target
modules exist in the model.

Torch-free and fast, so ``finesweep validate`` runs it: the module names come from the weights' tensor
names in the safetensors headers (no weight is loaded), the tokenizer from the Rust ``tokenizers`` library.
Part of :func:`sweeps.config.checks.cross_check`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sweeps.core.words import did_you_mean
from sweeps.spec import SweepSpec

SAFETENSORS, SAFETENSORS_INDEX = "model.safetensors", "model.safetensors.index.json"
PYTORCH_BIN, PYTORCH_BIN_INDEX = "pytorch_model.bin", "pytorch_model.bin.index.json"
WEIGHT_FILES = (SAFETENSORS, SAFETENSORS_INDEX, PYTORCH_BIN, PYTORCH_BIN_INDEX)
# Any one of these lets transformers build the tokenizer (fast, sentencepiece, BPE or WordPiece files).
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "vocab.txt")
# Output heads a model may have without weights of their own in the folder: an LM head tied to the input
# embeddings, or a classifier's score head, made new as the model loads.
HEADS_WITHOUT_WEIGHTS = frozenset({"lm_head", "score", "classifier"})
# Module names listed in a message before the rest are cut.
SHOWN_MODULES = 20


class ModelFolderError(Exception):
    """A file of the model folder that is missing or cannot be read."""


def model_problems(spec: SweepSpec) -> list[str]:
    """Every problem of ``spec.model.path`` for ``spec.method``, one sentence each."""
    folder = spec.model.path
    config_file = folder / "config.json"
    if not config_file.is_file():
        missing = "which does not exist" if not folder.exists() else "which has no config.json"
        return [f"model.path: must be a Hugging Face model directory (with config.json), but got {str(folder)!r}, "
                f"{missing}"]
    problems = []
    try:
        config = _json_object(config_file)
        if not isinstance(config.get("model_type"), str):
            raise ModelFolderError("names no model_type, so transformers cannot tell which architecture it is")
    except ModelFolderError as error:
        problems.append(f"model.path: {config_file} {error}")
    try:
        modules = weight_modules(folder)
    except ModelFolderError as error:
        problems.append(f"model.path: {error}")
        modules = None
    problems += _tokenizer_problems(folder)
    if modules is not None:
        problems += target_module_problems(spec, modules=modules)
    return problems


def _json_object(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ModelFolderError(f"cannot be read: {getattr(error, 'strerror', None) or error}") from None
    except json.JSONDecodeError as error:
        raise ModelFolderError(f"is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}") from None
    if not isinstance(value, dict):
        raise ModelFolderError(f"must hold a JSON object, but holds {type(value).__name__}")
    return value


def weight_modules(folder: Path) -> set[str] | None:
    """The names of the modules that have weights in the folder (``model.layers.0.self_attn.q_proj``), read
    from the safetensors headers; None for PyTorch ``.bin`` weights, whose names need torch to read.
    Raises :class:`ModelFolderError` for missing, truncated or corrupt weight files."""
    present = [name for name in WEIGHT_FILES if (folder / name).is_file()]
    if not present:
        raise ModelFolderError(f"{folder} holds no weights: from_pretrained needs one of {', '.join(WEIGHT_FILES)}")
    name = present[0]
    shards = sorted(set(_json_object(folder / name).get("weight_map", {}).values())) if name.endswith(
        ".index.json") else [name]
    missing = [shard for shard in shards if not (folder / shard).is_file()]
    if not shards or missing:
        raise ModelFolderError(f"{folder / name} lists weight files that are not there: {', '.join(missing) or 'none'}")
    if not name.startswith("model.safetensors"):
        return None
    from safetensors import SafetensorError, safe_open

    tensors: list[str] = []
    for shard in shards:
        try:
            with safe_open(str(folder / shard), framework="numpy") as weights:
                tensors += weights.keys()
        except (SafetensorError, OSError) as error:
            raise ModelFolderError(f"{folder / shard} is not a readable safetensors file ({error})") from None
    return {tensor.rpartition(".")[0] for tensor in tensors}


def _tokenizer_problems(folder: Path) -> list[str]:
    if not any((folder / name).is_file() for name in TOKENIZER_FILES):
        return [f"model.path: {folder} holds no tokenizer: give it the model's tokenizer files (one of "
                f"{', '.join(TOKENIZER_FILES)}, with tokenizer_config.json), e.g. tokenizer.save_pretrained(folder)"]
    problems = []
    for name in ("tokenizer_config.json", "special_tokens_map.json"):
        if (folder / name).is_file():
            try:
                _json_object(folder / name)
            except ModelFolderError as error:
                problems.append(f"model.path: {folder / name} {error}")
    if (folder / "tokenizer.json").is_file():
        from tokenizers import Tokenizer

        try:
            Tokenizer.from_file(str(folder / "tokenizer.json"))
        except Exception as error:  # the Rust library raises plain Exception for every malformed file
            problems.append(f"model.path: {folder / 'tokenizer.json'} cannot be loaded as a tokenizer "
                            f"({str(error).splitlines()[0]})")
    return problems


def target_module_problems(spec: SweepSpec, *, modules: set[str]) -> list[str]:
    """Each module a method targets must match a module of the model as PEFT matches it (the whole name, or
    its last dotted parts)."""
    known = modules | HEADS_WITHOUT_WEIGHTS
    problems = []
    for field in ("target_modules", "feedforward_modules"):
        targets = getattr(spec.method, field, None)
        if not isinstance(targets, list):
            continue  # all-linear or PEFT's own choice
        absent = [target for target in targets
                  if not any(module == target or module.endswith(f".{target}") for module in known)]
        if absent:
            leaves = sorted({leaf for module in modules if not (leaf := module.rpartition(".")[2]).isdigit()})
            shown = ", ".join(leaves[:SHOWN_MODULES]) + (", ..." if len(leaves) > SHOWN_MODULES else "")
            hints = "".join(did_you_mean(target, options=leaves) for target in absent)
            problems.append(f"method.{field}: every name must be a module of the model in {spec.model.path.name}, "
                            f"but got {', '.join(map(repr, absent))}{hints}; its modules with weights are named "
                            f"{shown}")
    return problems
