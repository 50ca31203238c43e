"""The classification task: labels taken from the data, balancing, the sequence classifier under its
methods, a checkpoint that names its labels, and a tiny model that learns real topics (tests/topics.py)
better than always answering the majority class."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import torch

from sweeps.spec import SweepSpec
from trainer.report import save_checkpoint
from trainer.tasks.classification import labelled_splits
from trainer.train_loop import build_trainer


def _spec(*, model_dir: Path, data_path: Path, task: dict[str, Any] | None = None,
          method: dict[str, Any] | None = None, **dataset: Any) -> SweepSpec:
    return SweepSpec.model_validate({
        "name": "topics", "model": {"path": str(model_dir)},
        "dataset": {"path": str(data_path), "max_length": 48, **dataset},
        "task": {"type": "classification", **(task or {})}, "method": method or {"name": "lora"},
        "training": {"max_steps": 20, "eval_every_steps": 20, "batch_size": 8, "learning_rate": 5e-3}})


def _write_jsonl(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_labels_are_the_data_s_own_sorted_and_counted_per_split(tmp_path: Path):
    rows = [{"q": f"question number {i}", "topic": ("zoo", "art", "maths")[i % 3]} for i in range(30)]
    rows += [rows[0], {"q": "no label", "topic": " "}, {"q": "short label kept", "topic": "x"}]
    spec = _spec(model_dir=tmp_path, data_path=_write_jsonl(tmp_path / "rows.jsonl", rows),
                 task={"text_column": "q", "label_column": "topic"}, min_chars=3)
    data = labelled_splits(spec)
    assert data.labels == ["art", "maths", "x", "zoo"]
    # min_chars bounds the text only: a one-letter label is a class name, not a too-short row.
    assert (data.report.cleaning.duplicates_dropped, data.report.cleaning.empty_dropped) == (1, 1)
    assert data.report.cleaning.too_short_dropped == 0
    assert {split: sum(counts.values()) for split, counts in data.class_counts.items()} == {
        "train": data.report.train, "eval": data.report.eval}
    assert data.class_counts["train"] == dict(sorted(Counter(data.splits["train"]["label"]).items()))


def test_balance_downsamples_the_train_split_only_and_is_seeded(tmp_path: Path):
    rows = [{"text": f"common row {i}", "label": "common"} for i in range(60)]
    rows += [{"text": f"rare row {i}", "label": "rare"} for i in range(15)]
    path = _write_jsonl(tmp_path / "rows.jsonl", rows)
    plain = labelled_splits(_spec(model_dir=tmp_path, data_path=path))
    balanced = labelled_splits(_spec(model_dir=tmp_path, data_path=path, task={"balance": True}))
    rare = plain.class_counts["train"]["rare"]
    assert balanced.class_counts["train"] == {"common": rare, "rare": rare}
    assert balanced.class_counts["eval"] == plain.class_counts["eval"]
    again = labelled_splits(_spec(model_dir=tmp_path, data_path=path, task={"balance": True}))
    assert again.splits["train"]["text"] == balanced.splits["train"]["text"]


def test_a_missing_label_column_names_the_fields_to_set(tmp_path: Path):
    path = _write_jsonl(tmp_path / "rows.jsonl", [{"text": "a row", "topic": "art"}])
    with pytest.raises(ValueError, match=r"missing column\(s\) \['label'\].*task.text_column / task.label_column"):
        labelled_splits(_spec(model_dir=tmp_path, data_path=path))


def test_a_tiny_model_learns_real_topics_better_than_the_majority_class(topic_model_dir: Path,
                                                                       topic_data_path: Path, tmp_path: Path):
    spec = _spec(model_dir=topic_model_dir, data_path=topic_data_path, method={"name": "full"})
    trainer = build_trainer(spec, output_dir=str(tmp_path))
    eval_labels = trainer.eval_dataset["labels"]
    majority = max(Counter(eval_labels).values()) / len(eval_labels)
    trainer.train()
    metrics = trainer.evaluate()
    assert metrics["eval_accuracy"] > majority, (metrics, majority)
    assert 0 < metrics["eval_f1_macro"] <= 1
    assert trainer.model.config.id2label == {0: "ai", 1: "coding", 2: "emotion", 3: "trivia"}


def test_lora_trains_adapter_and_score_head_and_its_checkpoint_names_the_labels(topic_model_dir: Path,
                                                                               topic_data_path: Path, tmp_path: Path):
    from peft import PeftModel
    from transformers import AutoConfig, AutoModelForSequenceClassification

    spec = _spec(model_dir=topic_model_dir, data_path=topic_data_path)
    model = build_trainer(spec, output_dir=str(tmp_path / "out")).model
    trainable = [name for name, param in model.named_parameters() if param.requires_grad]
    assert any("lora_" in name for name in trainable) and any(".score." in name for name in trainable)
    assert all("lora_" in name or ".score." in name for name in trainable)

    save_checkpoint(model, directory=str(tmp_path / "checkpoint"), writer=True)
    config = AutoConfig.from_pretrained(tmp_path / "checkpoint")
    assert config.id2label == {0: "ai", 1: "coding", 2: "emotion", 3: "trivia"}
    base = AutoModelForSequenceClassification.from_pretrained(topic_model_dir, config=config)
    reloaded = PeftModel.from_pretrained(base, tmp_path / "checkpoint").eval()
    batch = {"input_ids": torch.tensor([[2, 40, 41, 42]]), "attention_mask": torch.ones(1, 4, dtype=torch.long)}
    with torch.no_grad():
        assert torch.allclose(reloaded(**batch).logits, model.eval()(**batch).logits)


@pytest.mark.parametrize("method", [{"name": "adalora", "init_r": 4, "target_r": 2}, {"name": "ia3"},
                                    {"name": "freeze", "k": 1}, {"name": "prompt_tuning", "num_virtual_tokens": 4}],
                         ids=lambda method: method["name"])
def test_other_methods_train_a_classifier(topic_model_dir: Path, topic_data_path: Path, tmp_path: Path,
                                          method: dict[str, Any]):
    spec = _spec(model_dir=topic_model_dir, data_path=topic_data_path, method=method).with_params(
        {"training.max_steps": 2, "training.eval_every_steps": 2})
    trainer = build_trainer(spec, output_dir=str(tmp_path))
    trainer.train()
    assert {"eval_accuracy", "eval_f1_macro"} <= trainer.evaluate().keys()
