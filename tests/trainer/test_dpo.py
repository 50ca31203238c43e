"""task.type dpo: TRL's DPO trainer on ChatterBot preference pairs (examples/prepare_demo.py) and the tiny
Llama, its metrics, its checkpoints, and the validation of dpo specs."""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
from pathlib import Path

import pytest
from transformers import TrainerCallback

from sweeps.config.loading import load_spec
from sweeps.core.errors import SpecError
from tests.helpers.demo import load_prepare_demo
from tests.helpers.sweeps import write_tiny_sweep

TRAIN_STEPS = 24


@pytest.fixture(scope="module")
def dpo_data_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """80 of the ChatterBot corpus's preference pairs (a seeded sample: 64 train, 16 eval)."""
    prepare_demo = load_prepare_demo()
    folder = tmp_path_factory.mktemp("dpo-data")
    corpus = prepare_demo.package_dir(prepare_demo.CORPUS_PACKAGE)
    if corpus is None:
        pytest.skip("pip package chatterbot-corpus is not installed (make venv installs it with --no-deps)")
    full = prepare_demo.convert_chatterbot_preferences(corpus_dir=corpus / "data" / "english",
                                                       out_file=folder / "all.jsonl", seed=0)
    lines = (folder / "all.jsonl").read_text(encoding="utf-8").splitlines()
    assert full.pairs == len(lines) > 1000
    sample = folder / "dpo.jsonl"
    sample.write_text("".join(line + "\n" for line in random.Random(0).sample(lines, 80)), encoding="utf-8")
    return sample


def _dpo_sweep(path: Path, *, model_dir: Path, data_path: Path, **sections: dict) -> Path:
    return write_tiny_sweep(
        path, model_dir=model_dir, data_path=data_path, task={"type": "dpo", "beta": 0.1},
        dataset={"path": str(data_path), "max_length": 64},
        training={"max_steps": TRAIN_STEPS, "eval_every_steps": 8, "batch_size": 8, "learning_rate": 1e-2},
        search={"metric": "reward_accuracy", "mode": "max", "num_trials": 2, "seed": 0},
        search_space={"task.beta": {"type": "loguniform", "low": 0.05, "high": 0.5}}, **sections)


class _Recorder(TrainerCallback):
    """Every training loss logged and every evaluation's metrics, as the report to Ray would see them."""

    def __init__(self):
        self.losses: list[float] = []
        self.evaluations: list[dict[str, float]] = []

    def on_log(self, args, state, control, logs=None, **kwargs):
        if "loss" in logs:
            self.losses.append(logs["loss"])

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        self.evaluations.append(dict(metrics))


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path, dpo_data_path: Path):
    """A lora dpo trainer evaluated, trained for TRAIN_STEPS steps, and what it reported."""
    from trainer.train_loop import build_trainer

    folder = tmp_path_factory.mktemp("dpo-run")
    spec = load_spec(_dpo_sweep(folder / "sweep.yaml", model_dir=tiny_model_dir, data_path=dpo_data_path))
    recorder = _Recorder()
    trainer = build_trainer(spec, output_dir=str(folder / "out"), callbacks=[recorder])
    trainer.evaluate()
    trainer.train()
    return trainer, recorder


def test_dpo_training_lowers_the_loss(trained) -> None:
    _, recorder = trained
    assert len(recorder.losses) == TRAIN_STEPS  # every step's loss is logged (trainer.arguments)
    first, last = recorder.losses[:8], recorder.losses[-8:]  # the first and the last report's steps
    assert sum(last) / 8 < sum(first) / 8 - 0.05, recorder.losses


def test_dpo_reports_reward_accuracy_and_margin(trained) -> None:
    _, recorder = trained
    before, *after = recorder.evaluations
    # The adapter starts as a no-op, so the policy is the reference: every implicit reward is 0.
    assert before["eval_loss"] == pytest.approx(math.log(2), abs=1e-4)
    assert (before["eval_reward_accuracy"], before["eval_reward_margin"]) == (0.0, 0.0)
    assert len(after) == TRAIN_STEPS // 8
    for metrics in after:
        assert 0.0 <= metrics["eval_reward_accuracy"] <= 1.0
        assert math.isfinite(metrics["eval_reward_margin"]) and math.isfinite(metrics["eval_loss"])
        assert not [name for name in metrics if "/" in name]  # TRL's "eval_rewards/..." renamed for Ray


def test_dpo_uses_the_adapter_disabled_base_as_reference(trained, tiny_model_dir: Path) -> None:
    from trainer.prompts import prompt_ids

    trainer, _ = trained
    assert trainer.ref_model is None and list(trainer.model.peft_config) == ["default"]  # no second copy
    row = trainer.train_dataset[0]
    # The prompt is tokenised as in SFT and in `finesweep sample`.
    assert row["prompt_ids"] == prompt_ids(row["prompt"][0]["content"], tokenizer=trainer.processing_class)


def test_a_dpo_checkpoint_is_a_causal_lm_adapter_that_samples(trained, tmp_path: Path) -> None:
    from trainer.inference import generate
    from trainer.report import save_checkpoint

    trainer, _ = trained
    save_checkpoint(trainer.model, directory=str(tmp_path), writer=True, tokenizer=trainer.processing_class)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["README.md", "adapter_config.json",
                                                               "adapter_model.safetensors"]
    assert isinstance(generate(tmp_path, prompt="What is AI?", max_new_tokens=4), str)


def test_dpo_trains_the_full_model_against_a_frozen_copy(tmp_path: Path, tiny_model_dir: Path,
                                                         dpo_data_path: Path) -> None:
    from trainer.train_loop import build_trainer

    spec = load_spec(_dpo_sweep(tmp_path / "sweep.yaml", model_dir=tiny_model_dir, data_path=dpo_data_path),
                     ["method={name: full}", "training.max_steps=2", "training.learning_rate=1e-4"])
    trainer = build_trainer(spec, output_dir=str(tmp_path / "out"), callbacks=[])
    assert trainer.ref_model is not None and trainer.ref_model is not trainer.model
    assert trainer.train().training_loss > 0


def test_a_second_dpo_trial_reads_the_sweep_s_prepared_pairs(tmp_path: Path, tiny_model_dir: Path,
                                                              dpo_data_path: Path) -> None:
    from sweeps.core.layout import DATA_CACHE_DIR
    from sweeps.run.runner import prepare_sweep_dir
    from trainer.train_loop import build_trainer

    spec = load_spec(_dpo_sweep(tmp_path / "sweep.yaml", model_dir=tiny_model_dir, data_path=dpo_data_path),
                     ["training.max_steps=2"])
    prepare_sweep_dir(spec)
    first = build_trainer(spec, output_dir=str(tmp_path / "one"), callbacks=[])
    (entry,) = (Path(spec.sweep_dir) / DATA_CACHE_DIR).iterdir()
    second = build_trainer(spec, output_dir=str(tmp_path / "two"), callbacks=[])
    # TRL tokenizes the memory-mapped pairs the same way both times, and the second trial trains on them
    assert second.train_dataset["prompt_ids"] == first.train_dataset["prompt_ids"]
    assert [path.name for path in (Path(spec.sweep_dir) / DATA_CACHE_DIR).iterdir()] == [entry.name]
    assert second.train().training_loss > 0


@pytest.fixture
def dpo_sweep_path(tmp_path: Path, tiny_model_dir: Path, dpo_data_path: Path) -> Path:
    return _dpo_sweep(tmp_path / "sweep.yaml", model_dir=tiny_model_dir, data_path=dpo_data_path)


@pytest.mark.parametrize(("overrides", "problem"), [
    (["search.metric=accuracy"], "search.metric: must be a metric the dpo task reports (eval_loss or "
                                 "reward_accuracy or reward_margin), but got 'accuracy'"),
    (["search.mode=min"], "search.mode: must be 'max' for reward_accuracy, but got 'min'"),
    (["task.rejected_column=worse"], "task.rejected_column: must name a column of dpo.jsonl (its columns: "
                                     "prompt, chosen, rejected, category), but got 'worse'"),
    (["method={name: ia3}"], "method.name: must be 'lora' or 'full' for task.type 'dpo', but got 'ia3'"),
    (["resources.workers=2"], "resources.workers: must be 1 for task.type 'dpo' (TRL's DPO trainer under FSDP2 "
                              "sharding is untested), but got 2"),
    (["task.loss_type=kto"], "task.loss_type: "),
])
def test_a_dpo_spec_is_validated(dpo_sweep_path: Path, overrides: list[str], problem: str) -> None:
    with pytest.raises(SpecError) as error:
        load_spec(dpo_sweep_path, overrides)
    assert [line for line in error.value.problems if line.startswith(problem)], error.value.problems


def test_dpo_beta_is_searchable_and_set_on_the_trial(dpo_sweep_path: Path) -> None:
    spec = load_spec(dpo_sweep_path)
    assert spec.task.type == "dpo"
    trial = spec.with_params({"task.beta": 0.3})
    assert (trial.task.type, trial.task.beta, trial.task.chosen_column) == ("dpo", 0.3, "chosen")


def test_validate_exits_2_naming_the_method(dpo_sweep_path: Path) -> None:
    completed = subprocess.run([sys.executable, "-m", "sweeps", "validate", str(dpo_sweep_path), "method.name=ia3"],
                               capture_output=True, text=True, timeout=120)
    assert completed.returncode == 2
    assert "method.name: must be 'lora' or 'full' for task.type 'dpo', but got 'ia3'" in completed.stderr


@pytest.mark.slow
def test_a_dpo_sweep_reports_reward_accuracy(dpo_sweep_path: Path) -> None:
    completed = subprocess.run([sys.executable, "-m", "sweeps", "run", str(dpo_sweep_path)], capture_output=True,
                               text=True, timeout=1800)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    sweep_dir = dpo_sweep_path.parent / "runs" / "tiny"
    best = json.loads(subprocess.run([sys.executable, "-m", "sweeps", "best", str(sweep_dir), "--json"],
                                     capture_output=True, text=True, check=True).stdout)
    assert (best["metric"], best["mode"]) == ("reward_accuracy", "max")
    assert 0.0 <= best["value"] <= 1.0
    assert 0.05 <= best["params"]["task.beta"] <= 0.5
