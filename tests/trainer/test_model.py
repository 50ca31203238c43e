"""Loading a trial's model and tokenizer: the file's bf16 weights stay bf16 when the spec asks bf16, and a
trial loads its tokenizer once, cache miss or hit."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from transformers import AutoModelForCausalLM, AutoTokenizer

from sweeps.run.runner import prepare_sweep_dir
from sweeps.spec import LoraSpec, ModelSpec, SweepSpec
from trainer.model import load_base_model
from trainer.train_loop import build_trainer


@pytest.fixture(scope="module")
def bf16_model_dir(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Path:
    folder = tmp_path_factory.mktemp("bf16-llama")
    AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.bfloat16).save_pretrained(folder)
    AutoTokenizer.from_pretrained(tiny_model_dir).save_pretrained(folder)
    return folder


def test_bf16_weights_asked_as_bf16_load_without_an_fp32_copy(bf16_model_dir: Path) -> None:
    (weights,) = bf16_model_dir.glob("*.safetensors")
    with safe_open(str(weights), framework="pt") as stored:
        assert {stored.get_slice(name).get_dtype() for name in stored.keys()} == {"BF16"}  # noqa: SIM118
    model = load_base_model(model=ModelSpec(path=bf16_model_dir, dtype="bfloat16"),
                            method=LoraSpec(), gradient_checkpointing=False)
    assert {parameter.dtype for parameter in model.parameters()} == {torch.bfloat16}


def test_a_trial_loads_its_tokenizer_once_whether_its_data_is_cached_or_not(
        tmp_path: Path, tiny_model_dir: Path, qa_data_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = SweepSpec.model_validate({
        "name": "once", "model": {"path": str(tiny_model_dir)}, "storage": {"path": str(tmp_path)},
        "dataset": {"path": str(qa_data_path), "max_length": 32, "max_eval_examples": 8},
        "training": {"max_steps": 2, "eval_every_steps": 2, "batch_size": 4}})
    prepare_sweep_dir(spec)
    loads: list[str] = []
    real = AutoTokenizer.from_pretrained
    monkeypatch.setattr(AutoTokenizer, "from_pretrained",
                        lambda path, *args, **kwargs: loads.append(str(path)) or real(path, *args, **kwargs))
    for trial in ("builds-the-cache", "reads-it"):
        loads.clear()
        build_trainer(spec, output_dir=str(tmp_path / trial))
        assert loads == [str(tiny_model_dir)], trial
