"""The sweep's prepared-data cache: made once, reused by later trials and by a resumed sweep, a new entry
for a changed tokenizer, data field or data file, and whole for trials that build it at the same time."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
from datasets import Dataset, DatasetDict

import trainer.data
from sweeps.config.loading import read_spec
from sweeps.core.layout import DATA_CACHE_DIR
from sweeps.run.runner import prepare_sweep_dir
from sweeps.spec import SweepSpec
from tests.helpers.tiny import build_tiny_llama
from trainer.data_cache import cache_key, prepared_data
from trainer.model import load_tokenizer
from trainer.tasks.causal_lm import sft_data
from trainer.train_loop import build_trainer


def _spec(tmp_path: Path, *, model_dir: Path, data_path: Path, **dataset: Any) -> SweepSpec:
    spec = SweepSpec.model_validate({
        "name": "cached", "model": {"path": str(model_dir)}, "storage": {"path": str(tmp_path / "runs")},
        "dataset": {"path": str(data_path), "max_length": 32, "max_eval_examples": 16, **dataset},
        "training": {"max_steps": 2, "eval_every_steps": 2, "batch_size": 4}})
    prepare_sweep_dir(spec)
    return spec


class CountingPrepare:
    """A ``prepare`` for :func:`prepared_data` that counts its calls and returns small fixed splits."""

    def __init__(self, *, rows: int = 6, wait: threading.Barrier | None = None):
        self.calls, self.rows, self.wait = 0, rows, wait

    def __call__(self) -> tuple[DatasetDict, dict[str, Any]]:
        self.calls += 1
        if self.wait is not None:
            self.wait.wait(timeout=60)  # every caller is inside prepare before any saves
        split = Dataset.from_dict({"input_ids": [[index, index + 1] for index in range(self.rows)]})
        return DatasetDict(train=split, eval=split.select(range(2))), {"labels": ["a", "b"]}


def _entries(spec: SweepSpec) -> list[str]:
    return sorted(path.name for path in (Path(spec.sweep_dir) / DATA_CACHE_DIR).iterdir())


def test_the_same_inputs_build_once_and_are_memory_mapped_after(tmp_path: Path, tiny_model_dir: Path,
                                                                  qa_data_path: Path) -> None:
    spec = _spec(tmp_path, model_dir=tiny_model_dir, data_path=qa_data_path)
    prepare = CountingPrepare()
    first, extras = prepared_data(spec, prepare=prepare)
    again, extras_again = prepared_data(spec, prepare=prepare)
    assert prepare.calls == 1
    assert again["train"]["input_ids"] == first["train"]["input_ids"] == [[i, i + 1] for i in range(6)]
    assert extras == extras_again == {"labels": ["a", "b"]}
    entry = Path(spec.sweep_dir) / DATA_CACHE_DIR / cache_key(spec)
    # Memory-mapped from the entry's Arrow files, not a copy in this process
    assert again["train"].cache_files and all(Path(f["filename"]).is_relative_to(entry)
                                              for f in again["train"].cache_files)
    assert _entries(spec) == [entry.name]


def test_a_resumed_sweep_reads_the_entry_its_first_run_made(tmp_path: Path, tiny_model_dir: Path,
                                                            qa_data_path: Path) -> None:
    spec = _spec(tmp_path, model_dir=tiny_model_dir, data_path=qa_data_path)
    prepared_data(spec, prepare=CountingPrepare())
    resumed = read_spec(Path(spec.sweep_dir))  # what `finesweep resume` trains from

    def must_not_prepare() -> None:
        raise AssertionError("the resumed sweep prepared its data again")

    data, _ = prepared_data(resumed, prepare=must_not_prepare)
    assert len(data["train"]) == 6


def test_a_changed_tokenizer_data_field_or_data_file_makes_a_new_entry(tmp_path: Path, tiny_model_dir: Path,
                                                                        qa_data_path: Path) -> None:
    data_path = shutil.copy(qa_data_path, tmp_path / "qa.jsonl")
    spec = _spec(tmp_path, model_dir=tiny_model_dir, data_path=Path(data_path))
    # A vocabulary past the 256 bytes learns merges from its corpus: another tokenizer
    other_tokenizer = build_tiny_llama(tmp_path / "other-llama", corpus=["another corpus", "of words"] * 50,
                                       vocab_size=300)
    keys = {cache_key(spec),
            cache_key(spec.with_params({"dataset.max_length": 24})),
            cache_key(spec.with_params({"dataset.dedupe": "normalized"})),
            cache_key(spec.model_copy(update={"model": spec.model.model_copy(update={"path": other_tokenizer})}))}
    assert len(keys) == 4
    Path(data_path).write_text(Path(data_path).read_text() + '{"prompt": "one more", "response": "row"}\n')
    assert cache_key(spec) not in keys


def test_the_weights_alone_changing_keeps_the_entry(tmp_path: Path, tiny_model_dir: Path,
                                                    qa_data_path: Path) -> None:
    model_dir = Path(shutil.copytree(tiny_model_dir, tmp_path / "model"))
    spec = _spec(tmp_path, model_dir=model_dir, data_path=qa_data_path)
    key = cache_key(spec)
    weights = next(model_dir.glob("*.safetensors"))
    weights.write_bytes(weights.read_bytes() + b" ")
    assert cache_key(spec) == key


def test_two_trials_building_at_once_both_get_the_data_and_one_entry_stays(tmp_path: Path, tiny_model_dir: Path,
                                                                            qa_data_path: Path) -> None:
    spec = _spec(tmp_path, model_dir=tiny_model_dir, data_path=qa_data_path)
    prepare = CountingPrepare(wait=threading.Barrier(2))
    results: list[list[list[int]]] = []

    def trial() -> None:
        data, _ = prepared_data(spec, prepare=prepare)
        results.append(data["train"]["input_ids"])

    threads = [threading.Thread(target=trial) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert prepare.calls == 2  # both built: neither waited on the other
    assert results == [[[i, i + 1] for i in range(6)]] * 2
    assert _entries(spec) == [cache_key(spec)]  # the loser's temporary folder is gone


def test_the_causal_lm_trainer_trains_on_the_cached_data_as_on_fresh(tmp_path: Path, tiny_model_dir: Path,
                                                                     qa_data_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    spec = _spec(tmp_path, model_dir=tiny_model_dir, data_path=qa_data_path)
    fresh, _ = sft_data(spec, tokenizer=load_tokenizer(spec.model))
    first = build_trainer(spec, output_dir=str(tmp_path / "one"))
    loads: list[object] = []
    real_load_pairs = trainer.data.load_pairs
    monkeypatch.setattr(trainer.data, "load_pairs", lambda **kwargs: loads.append(kwargs) or real_load_pairs(**kwargs))
    second = build_trainer(spec, output_dir=str(tmp_path / "two"))
    assert loads == []  # the second trial read the cache, not the data file
    for trainer_ in (first, second):
        assert trainer_.train_dataset["input_ids"] == fresh["train"]["input_ids"]
        assert trainer_.eval_dataset["labels"] == fresh["eval"]["labels"]
