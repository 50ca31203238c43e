"""The data pre-flight accepts what the trainer's loader reads, and its count of train and eval rows is the
trainer's own (the same cleaning, datasets' split rule); its refusals run through the CLI in tests/sweeps/cli."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sweeps.config.data_checks import data_problems
from sweeps.spec import SweepSpec
from trainer.data import clean_and_split, load_pairs


def _spec(data_path: Path, **sections) -> SweepSpec:
    return SweepSpec(name="x", model={"path": Path("/m")}, dataset={"path": data_path, **sections.pop("dataset", {})},
                     **sections)


@pytest.mark.parametrize("eval_fraction", [0.1, 0.2, 0.5, 0.9])
@pytest.mark.parametrize("rows", [1, 2, 3, 5, 11])
def test_a_split_is_refused_exactly_when_the_trainer_s_split_would_fail(tmp_path: Path, rows: int,
                                                                      eval_fraction: float):
    data_path = tmp_path / "qa.jsonl"
    # `rows` distinct rows after cleaning, among a duplicate and an empty one that cleaning drops.
    lines = [{"prompt": f"q{i}", "response": "a"} for i in range(rows)] + [{"prompt": "q0", "response": "a"},
                                                                           {"prompt": " ", "response": "x"}]
    data_path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    spec = _spec(data_path, dataset={"eval_fraction": eval_fraction})
    try:
        _, report = clean_and_split(load_pairs(dataset=spec.dataset, base_dir=tmp_path), dataset=spec.dataset)
        trainer_splits = report.train >= 1 and report.eval >= 1
    except ValueError:  # datasets refuses a split that leaves one side empty
        trainer_splits = False
    problems = data_problems(spec)
    assert (problems == []) == trainer_splits, problems
    if problems:
        assert f"{rows + 2} loaded, {rows + 1} after dropping 1 empty" in problems[0]
        assert f"{rows} after dropping 1 duplicates" in problems[0]


def test_every_format_the_trainer_reads_is_accepted(tmp_path: Path):
    rows = [{"prompt": f"question {i}", "response": f"answer {i}"} for i in range(10)]
    (tmp_path / "rows.jsonl").write_text("\n".join(json.dumps(row) for row in rows) + "\n\n")
    (tmp_path / "rows.json").write_text(json.dumps(rows))
    (tmp_path / "lines.json").write_text("\n".join(json.dumps(row) for row in rows))
    (tmp_path / "rows.csv").write_text("prompt,response\n" + "".join(f'"{r["prompt"]}",{r["response"]}\n'
                                                                     for r in rows))
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "rows.parquet")
    (tmp_path / "bom.jsonl").write_bytes(b"\xef\xbb\xbf" + (tmp_path / "rows.jsonl").read_bytes())
    for name in ("rows.jsonl", "rows.json", "lines.json", "rows.csv", "rows.parquet", "bom.jsonl"):
        assert data_problems(_spec(tmp_path / name)) == [], name


def test_a_classification_label_may_be_a_number_but_a_text_may_not(tmp_path: Path):
    data_path = tmp_path / "labels.jsonl"
    data_path.write_text("".join(json.dumps({"text": f"row {i}", "label": i % 2}) + "\n" for i in range(10)))
    assert data_problems(_spec(data_path, task={"type": "classification"})) == []
    [problem] = data_problems(_spec(data_path, task={"type": "classification", "text_column": "label",
                                                     "label_column": "text"}))
    assert problem.startswith("task.text_column: every value of column 'label' in labels.jsonl must be text, but "
                              "line 1 holds 0 (a number)")
