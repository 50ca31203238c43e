"""Pre-flight of a sweep's data file, before anything starts: it opens and parses (a bad row is named by its
line), has the task's columns with text in them, and after cleaning (:mod:`sweeps.config.cleaning`, the
trainer's own rules) and the train/eval split leaves each split the rows a trial needs.

Plain Python, ``json``, ``csv`` and ``pyarrow``: ``finesweep validate`` stays fast and imports neither
torch nor ``datasets``. The file is read whole, as every trial reads it. Part of
:func:`sweeps.config.checks.cross_check`.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sweeps.config.cleaning import clean_rows
from sweeps.spec import SweepSpec

DATA_SUFFIXES = (".jsonl", ".json", ".csv", ".parquet")
LABEL_FIELD = "task.label_column"  # a class name, not text: it may be a number, and no length bounds it
# Rows named in one message before the rest are only counted.
SHOWN_ROWS = 3


class DataFileError(Exception):
    """The file as a whole cannot be read (not UTF-8, not JSON, not Parquet)."""


@dataclass
class _Finding:
    """One kind of fault found on some rows: the first few rows named, the rest counted."""

    first: str
    rows: list[str] = field(default_factory=list)

    def text(self) -> str:
        more = len(self.rows) - 1
        if not more:
            return self.first
        shown = ", ".join(self.rows[1:1 + SHOWN_ROWS]) + (", ..." if more > SHOWN_ROWS else "")
        return f"{self.first}; so do {more} more ({shown})"


class _Findings:
    """Faults found on rows, grouped by kind, each group one problem."""

    def __init__(self) -> None:
        self.by_kind: dict[Any, _Finding] = {}

    def add(self, kind: Any, where: str, first: str) -> None:
        self.by_kind.setdefault(kind, _Finding(first)).rows.append(where)

    def texts(self) -> list[str]:
        return [finding.text() for finding in self.by_kind.values()]


def data_problems(spec: SweepSpec) -> list[str]:
    """Every problem of ``spec.dataset.path`` for ``spec.task``, one sentence each."""
    path = spec.dataset.path
    if not path.is_file():
        return [f"dataset.path: must be an existing data file ({', '.join(DATA_SUFFIXES)}), but got {str(path)!r}, "
                f"which {'is a folder' if path.is_dir() else 'does not exist'}"]
    if path.suffix.lower() not in DATA_SUFFIXES:
        return [f"dataset.path: must end in {', '.join(DATA_SUFFIXES)}, but got {path.name!r}"]
    columns = spec.task.columns(spec.dataset)
    try:
        data = read_records(path, columns=list(columns.values()))
    except (DataFileError, OSError, csv.Error) as error:
        return [f"dataset.path: {path.name} cannot be read: {error}"]
    if not data.records and not data.problems:
        return [f"dataset.path: {path.name} holds no rows; a trial needs at least 2 (one to train on, one to "
                f"evaluate)"]
    missing = {name: column for name, column in columns.items() if column not in data.columns}
    problems = data.problems + [
        f"{name}: must name a column of {path.name} (its columns: {', '.join(data.columns) or 'none'}), "
        f"but got {column!r}" for name, column in missing.items()]
    if missing:
        return problems
    problems += _value_problems(data.records, columns=columns, file_name=path.name)
    return problems or split_problems(spec, rows=[tuple(record[column] for column in columns.values())
                                                  for _, record in data.records])


@dataclass(frozen=True)
class DataRecords:
    """A data file's rows as ``(where, row)`` (``where`` is "line 3", "item 3" or "row 3"), the problems of
    its malformed rows, and the columns it has (a JSON file's: any row's keys)."""

    records: list[tuple[str, dict[str, Any]]]
    problems: list[str]
    columns: list[str]


def read_records(path: Path, *, columns: list[str]) -> DataRecords:
    """The rows of the data file at ``path``; only ``columns`` are read from a Parquet file. Raises
    :class:`DataFileError` when the file as a whole cannot be read."""
    if path.suffix.lower() == ".parquet":
        return _parquet_records(path, columns=columns)
    text = _utf8_text(path)
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(io.StringIO(text, newline=""))
        records = [(f"line {reader.line_num}", row) for row in reader]
        return DataRecords(records, [], list(reader.fieldnames or []))
    whole = _whole_json(text) if path.suffix.lower() == ".json" else None
    records, problems = whole if whole is not None else _json_lines(text, file_name=path.name)
    return DataRecords(records, problems, list(dict.fromkeys(name for _, row in records for name in row)))


def _utf8_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line, column = data.count(b"\n", 0, error.start) + 1, error.start - data.rfind(b"\n", 0, error.start)
        raise DataFileError(f"line {line}, column {column}: not UTF-8 text (byte 0x{data[error.start]:02x}); "
                            f"save it as UTF-8") from None


def _whole_json(text: str) -> tuple[list[tuple[str, dict[str, Any]]], list[str]] | None:
    """A .json file holding one JSON value: a list of row objects, or one object (one row); None when it
    holds JSON lines instead, as the trainer's loader also accepts."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        if error.msg == "Extra data":
            return None
        raise DataFileError(f"not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}") from None
    items = value if isinstance(value, list) else [value]
    records = [(f"item {index}", item) for index, item in enumerate(items, start=1) if isinstance(item, dict)]
    problems = _Findings()
    for index, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            problems.add("not an object", f"item {index}", f"dataset.path: item {index} of the JSON list must be "
                         f"an object ({{\"column\": value, ...}}), but got {_kind(item)}")
    return records, problems.texts()


def _json_lines(text: str, *, file_name: str) -> tuple[list[tuple[str, dict[str, Any]]], list[str]]:
    records, problems = [], _Findings()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue  # the trainer's loader skips blank lines too
        where = f"line {number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            problems.add("json", where, f"dataset.path: {file_name} {where}: not valid JSON: {error.msg} at column "
                         f"{error.colno}")
            continue
        if not isinstance(row, dict):
            problems.add("object", where, f"dataset.path: {file_name} {where}: must be a JSON object "
                         f"({{\"column\": value, ...}}), but got {_kind(row)}")
            continue
        records.append((where, row))
    return records, problems.texts()


def _parquet_records(path: Path, *, columns: list[str]) -> DataRecords:
    import pyarrow.parquet as parquet
    from pyarrow import ArrowException

    try:
        present = parquet.read_schema(path).names
        table = parquet.read_table(path, columns=[column for column in columns if column in present])
    except ArrowException as error:
        raise DataFileError(f"not a readable Parquet file ({error})") from None
    return DataRecords([(f"row {index}", row) for index, row in enumerate(table.to_pylist(), start=1)], [], present)


def _value_problems(records: list[tuple[str, dict[str, Any]]], *, columns: Mapping[str, str],
                    file_name: str) -> list[str]:
    """Each column the task reads must hold text (the label column: text, integers or true/false)."""
    findings = _Findings()
    for where, record in records:
        for name, column in columns.items():
            value = record.get(column)
            allowed = (str, int, bool) if name == LABEL_FIELD else (str,)
            if isinstance(value, allowed):
                continue
            findings.add((name, type(value)), where, f"{name}: every value of column {column!r} in {file_name} "
                          f"must be {'a class name' if name == LABEL_FIELD else 'text'}, but {where} holds "
                          f"{_kind(value)}" + ("; quote numbers to make them text" if _is_number(value) else ""))
    return findings.texts()


def split_problems(spec: SweepSpec, *, rows: list[tuple[Any, ...]]) -> list[str]:
    """After cleaning and the train/eval split, each split needs a row (a classification: two labels)."""
    dataset = spec.dataset
    fields = list(spec.task.columns(dataset))
    bounded = [index for index, name in enumerate(fields) if name != LABEL_FIELD]
    kept, counts = clean_rows(rows, dataset=dataset, bounded=bounded)
    # datasets' train_test_split: ceil(eval_fraction × rows) for eval, the rest for training
    eval_rows = math.ceil(dataset.eval_fraction * len(kept)) if kept else 0
    train_rows = len(kept) - eval_rows
    left, steps = len(rows), [f"{len(rows)} loaded"]
    for rule, dropped in counts.as_dict().items():
        left -= dropped
        steps.append(f"{left} after dropping {dropped} {rule.removesuffix('_dropped').replace('_', ' ')}")
    trail = ", ".join(steps)
    if not train_rows or not eval_rows:
        return [f"dataset.path: after cleaning and the split (dataset.eval_fraction {dataset.eval_fraction}) "
                f"{dataset.path.name} leaves {train_rows} train and {eval_rows} eval rows, but a trial needs at "
                f"least 1 of each (rows: {trail})"]
    labels = {row[fields.index(LABEL_FIELD)] for row in kept} if LABEL_FIELD in fields else None
    if labels is not None and len(labels) < 2:
        return [f"{LABEL_FIELD}: a classifier needs at least 2 classes, but column {spec.task.label_column!r} of "
                f"{dataset.path.name} holds {len(labels)} after cleaning ({', '.join(map(repr, sorted(labels)))}; "
                f"rows: {trail})"]
    return []


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _kind(value: Any) -> str:
    """What a JSON value is, for messages: ``7 (a number)``, ``null``, ``a list``."""
    if value is None:
        return "null (or nothing)"
    if isinstance(value, bool):
        return f"{json.dumps(value)} (true/false)"
    if _is_number(value):
        return f"{value!r} (a number)"
    return {list: "a list", dict: "an object"}.get(type(value), repr(value))
