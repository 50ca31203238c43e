"""Bad data files and model folders, each given to the valid tiny sweep, with the words its error message must
hold (the file, the line or field, what is wrong). ``test_bad_inputs.py`` runs each through the CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

Damage = Callable[[Path], None]


@dataclass(frozen=True)
class BadData:
    """The tiny sweep reading ``content`` (bytes, or a writer of the file) as its data file ``data<suffix>``,
    run as ``finesweep <command> <spec> <overrides>``."""

    id: str
    expected: tuple[str, ...]
    content: bytes | Damage
    suffix: str = ".jsonl"
    overrides: tuple[str, ...] = ()
    command: tuple[str, ...] = ("validate",)


@dataclass(frozen=True)
class BadModel:
    """The tiny sweep on a copy of the tiny model folder changed by ``damage``."""

    id: str
    expected: tuple[str, ...]
    damage: Damage
    overrides: tuple[str, ...] = ()
    command: tuple[str, ...] = ("validate",)


def _lines(*rows: object) -> bytes:
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


def _qa(n: int) -> list[dict[str, str]]:
    return [{"prompt": f"what is {i} plus 1?", "response": f"number {i + 1}"} for i in range(n)]


def _parquet(table: dict[str, list]) -> Damage:
    return lambda path: pq.write_table(pa.table(table), path)


CLASSIFY = ("task={type: classification, text_column: prompt, label_column: response}", "search.initial_points=[]",
            "search_space={training.learning_rate: {type: loguniform, low: 1.0e-5, high: 1.0e-3}}")

BAD_DATA = [
    BadData("empty-file", ("dataset.path: data.jsonl holds no rows",), b""),
    BadData("empty-file-inspected", ("dataset.path: data.jsonl holds no rows",), b"", command=("data", "inspect")),
    BadData("only-blank-lines", ("data.jsonl holds no rows",), b"\n  \n\n"),
    BadData("malformed-json-line", ("dataset.path: data.jsonl line 3: not valid JSON", "column"),
            _lines(*_qa(2)) + b'{"prompt": "x", "response": oops}\n' + _lines(*_qa(8))),
    BadData("many-malformed-lines", ("data.jsonl line 1: not valid JSON", "so do 2 more (line 3, line 5)"),
            b"{\n" + _lines(*_qa(1)) + b"{\n" + _lines(*_qa(1)) + b"[1,\n"),
    BadData("non-utf8-bytes", ("data.jsonl cannot be read: line 2, column 13: not UTF-8 text (byte 0xff)",),
            _lines(*_qa(1)) + b'{"prompt": "\xff\xfe", "response": "b"}\n'),
    BadData("utf16-file", ("cannot be read: line 1, column 1: not UTF-8 text (byte 0xff)",),
            _lines(*_qa(10)).decode().encode("utf-16")),
    BadData("row-not-an-object", ("data.jsonl line 2: must be a JSON object", "but got a list"),
            _lines(*_qa(1), ["a", "b"], *_qa(9))),
    BadData("columns-missing", ("dataset.prompt_column: must name a column of data.jsonl (its columns: question, "
                                "answer), but got 'prompt'", "dataset.response_column"),
            _lines(*[{"question": "q", "answer": "a"}] * 5)),
    BadData("numbers-as-responses", ("dataset.response_column: every value of column 'response' in data.jsonl must be "
                                     "text, but line 1 holds 7 (a number)", "so do 9 more", "quote numbers"),
            _lines(*[{"prompt": f"p{i}", "response": i + 7} for i in range(10)])),
    BadData("nulls-as-prompts", ("dataset.prompt_column: every value of column 'prompt'", "line 2 holds null"),
            _lines(*_qa(1), {"prompt": None, "response": "r"}, *_qa(8))),
    BadData("key-missing-on-a-row", ("column 'response'", "line 4 holds null (or nothing)"),
            _lines(*_qa(3), {"prompt": "p"}, *_qa(6))),
    BadData("list-as-response", ("column 'response'", "line 1 holds a list"),
            _lines({"prompt": "p", "response": ["a"]}, *_qa(9))),
    BadData("single-row", ("dataset.path: after cleaning and the split", "leaves 0 train and 1 eval rows",
                           "at least 1 of each", "1 loaded"), _lines(*_qa(1))),
    BadData("all-rows-empty", ("leaves 0 train and 0 eval rows", "3 loaded, 0 after dropping 3 empty"),
            _lines(*[{"prompt": " ", "response": "r"}] * 3)),
    BadData("all-rows-duplicates", ("leaves 0 train and 1 eval rows", "1 after dropping 9 duplicates"),
            _lines(*[_qa(1)[0]] * 10)),
    BadData("min-chars-drops-all", ("leaves 0 train and 0 eval rows", "0 after dropping 10 too short"),
            _lines(*_qa(10)), overrides=("dataset.min_chars=500",)),
    BadData("max-chars-drops-all", ("0 after dropping 10 too long",), _lines(*_qa(10)),
            overrides=("dataset.max_chars=2",)),
    BadData("corrupt-parquet", ("dataset.path: data.parquet cannot be read: not a readable Parquet file",),
            b"PAR1 not really parquet", suffix=".parquet"),
    BadData("parquet-without-the-columns", ("dataset.prompt_column: must name a column of data.parquet (its "
                                            "columns: text)",), _parquet({"text": ["a", "b"]}), suffix=".parquet"),
    BadData("parquet-numbers", ("column 'response' in data.parquet must be text, but row 1 holds 1 (a number)",),
            _parquet({"prompt": ["a", "b", "c"], "response": [1, 2, 3]}), suffix=".parquet"),
    BadData("parquet-no-rows", ("data.parquet holds no rows",),
            _parquet({"prompt": pa.array([], pa.string()), "response": pa.array([], pa.string())}), suffix=".parquet"),
    BadData("csv-missing-column", ("dataset.response_column: must name a column of data.csv (its columns: prompt, "
                                   "answer)",), b"prompt,answer\na,b\n", suffix=".csv"),
    BadData("csv-short-row", ("column 'response' in data.csv must be text, but line 3 holds null",),
            b"prompt,response\na,b\nc\n", suffix=".csv"),
    BadData("csv-empty", ("data.csv holds no rows",), b"", suffix=".csv"),
    BadData("json-not-valid", ("data.json cannot be read: not valid JSON", "line 1"),
            b'[{"prompt": "a", "response": "b"},', suffix=".json"),
    BadData("json-list-of-numbers", ("item 1 of the JSON list must be an object", "so do 2 more"), b"[1, 2, 3]",
            suffix=".json"),
    BadData("classification-one-label", ("task.label_column: a classifier needs at least 2 classes",
                                         "holds 1 after cleaning ('same'"),
            _lines(*[{"prompt": f"text {i}", "response": "same"} for i in range(10)]), overrides=CLASSIFY),
    BadData("classification-null-label", ("task.label_column: every value of column 'response'", "a class name",
                                          "line 2 holds null"),
            _lines(*_qa(1), {"prompt": "p", "response": None}, *_qa(8)), overrides=CLASSIFY),
    BadData("dpo-without-rejected", ("task.chosen_column: must name a column", "task.rejected_column"),
            _lines(*_qa(10)), overrides=("task={type: dpo}", "search.initial_points=[]",
                                          "search_space={training.learning_rate: {type: loguniform, low: 1.0e-5, "
                                          "high: 1.0e-3}}")),
    BadData("data-path-is-a-folder", ("dataset.path: must be an existing data file", "which is a folder"),
            lambda path: path.mkdir()),
    BadData("unsupported-suffix", ("dataset.path: must end in .jsonl, .json, .csv, .parquet", "'data.txt'"),
            _lines(*_qa(10)), suffix=".txt"),
    BadData("bad-data-at-run", ("data.jsonl line 2: not valid JSON",), _lines(*_qa(1)) + b"{oops\n",
            command=("run",)),
]


def _rewrite_json(name: str, change: Callable[[dict], object]) -> Damage:
    def damage(folder: Path) -> None:
        (folder / name).write_text(json.dumps(change(json.loads((folder / name).read_text()))))
    return damage


def _delete(*names: str) -> Damage:
    def damage(folder: Path) -> None:
        for name in names:
            (folder / name).unlink()
    return damage


def _truncate(name: str) -> Damage:
    def damage(folder: Path) -> None:
        data = (folder / name).read_bytes()
        (folder / name).write_bytes(data[:len(data) // 2])
    return damage


def _write(name: str, data: bytes) -> Damage:
    return lambda folder: (folder / name).write_bytes(data)


def _sharded_without_a_shard(folder: Path) -> None:
    (folder / "model.safetensors").rename(folder / "model-00001-of-00002.safetensors")
    weight_map = {"model.embed_tokens.weight": "model-00001-of-00002.safetensors",
                  "lm_head.weight": "model-00002-of-00002.safetensors"}
    (folder / "model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}))


def _only_config(folder: Path) -> None:
    for path in folder.iterdir():
        if path.name != "config.json":
            path.unlink()


BAD_MODELS = [
    BadModel("only-config-json", ("model.path:", "holds no weights", "holds no tokenizer"), _only_config,
             command=("run",)),
    BadModel("config-not-json", ("config.json is not valid JSON: Expecting value at line 1, column 1",),
             _write("config.json", b"not json")),
    BadModel("config-a-list", ("config.json must hold a JSON object, but holds list",), _write("config.json", b"[1]")),
    BadModel("config-without-model-type", ("config.json names no model_type",),
             _rewrite_json("config.json", lambda config: {k: v for k, v in config.items() if k != "model_type"})),
    BadModel("no-config", ("model.path: must be a Hugging Face model directory (with config.json)",
                           "which has no config.json"),
             _delete("config.json")),
    BadModel("weights-missing", ("holds no weights: from_pretrained needs one of model.safetensors",),
             _delete("model.safetensors")),
    BadModel("weights-truncated", ("model.safetensors is not a readable safetensors file",),
             _truncate("model.safetensors")),
    BadModel("weights-garbage", ("model.safetensors is not a readable safetensors file",),
             _write("model.safetensors", b"\x00" * 64)),
    BadModel("shard-missing", ("model.safetensors.index.json lists weight files that are not there: "
                               "model-00002-of-00002.safetensors",), _sharded_without_a_shard),
    BadModel("tokenizer-missing", ("holds no tokenizer",), _delete("tokenizer.json")),
    BadModel("tokenizer-corrupt", ("tokenizer.json cannot be loaded as a tokenizer",),
             _write("tokenizer.json", b'{"version": "1.0", "model": 7}')),
    BadModel("tokenizer-config-corrupt", ("tokenizer_config.json is not valid JSON",),
             _write("tokenizer_config.json", b"{")),
    BadModel("unknown-target-module", ("method.target_modules: every name must be a module of the model",
                                       "but got 'attn_proj'", "named down_proj, embed_tokens"),
             lambda folder: None, overrides=("method.target_modules=[q_proj, attn_proj]",)),
    BadModel("unknown-ia3-modules", ("method.target_modules: every name must be a module", "'fc1'",
                                     "method.feedforward_modules", "'fc2'"),
             lambda folder: None, overrides=("method={name: ia3, target_modules: [fc1, fc2], "
                                             "feedforward_modules: [fc2]}", "search.initial_points=[]",
                                             "search_space={training.learning_rate: {type: loguniform, low: 1.0e-5, "
                                             "high: 1.0e-3}}")),
    BadModel("freeze-deeper-than-the-model", ("method.k: `k <= num_hidden_layers` must hold, but got (k=5, "
                                              "num_hidden_layers=2)",),
             lambda folder: None, overrides=("method={name: freeze, k: 5}", "search.initial_points=[]",
                                             "search_space={training.learning_rate: {type: loguniform, low: 1.0e-5, "
                                             "high: 1.0e-3}}")),
    BadModel("model-path-is-a-file", ("model.path: must be a Hugging Face model directory",),
             lambda folder: None, overrides=("model.path=sweep.yaml",)),
]
