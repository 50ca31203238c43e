"""Every fine-tuning method trains a few steps of finesweep's own ``build_trainer`` on the tiny Llama: the
weights that train are the ones the method means (counted by PEFT, or independently for full/freeze), they
change, and the saved checkpoint reloads to the same model and samples."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from transformers import AutoModelForCausalLM

from sweeps.config.loading import load_spec
from sweeps.spec import methods as spec
from tests.helpers.sweeps import write_tiny_sweep
from trainer.inference import generate, generate_answers, load_checkpoint
from trainer.methods import PEFT_CONFIGS, TRAINABLE_WEIGHTS, loading_kwargs
from trainer.report import save_checkpoint
from trainer.train_loop import build_trainer

# Small settings of each method for the 2-layer, 32-wide tiny Llama.
METHODS: dict[str, dict[str, Any]] = {
    "lora": {"name": "lora", "r": 4},
    "adalora": {"name": "adalora", "init_r": 6, "target_r": 2},
    "ia3": {"name": "ia3"},
    "prompt_tuning": {"name": "prompt_tuning", "num_virtual_tokens": 4, "init_text": "answer the question"},
    "prefix_tuning": {"name": "prefix_tuning", "num_virtual_tokens": 4},
    "full": {"name": "full"},
    "freeze": {"name": "freeze", "k": 1},
}
FIXED_INPUT = torch.tensor([[2, 40, 71, 72, 73, 10, 45, 80, 99, 101]])


def _snapshot(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: param.detach().clone() for name, param in model.named_parameters() if param.requires_grad}


def _logits(model: torch.nn.Module) -> torch.Tensor:
    with torch.no_grad():
        return model.eval()(input_ids=FIXED_INPUT).logits


@pytest.fixture(scope="module", params=list(METHODS))
def trained(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path,
            qa_data_path: Path) -> dict[str, Any]:
    """One method's trainer after training: adalora by epochs (its schedule's length is derived from
    them), the others by a few max_steps."""
    name = request.param
    out_dir = tmp_path_factory.mktemp(name)
    length = ({"epochs": 0.2, "max_steps": None} if name == "adalora" else {"max_steps": 3})
    spec_path = write_tiny_sweep(
        out_dir / "sweep.yaml", model_dir=tiny_model_dir, data_path=qa_data_path, method=METHODS[name],
        training={"eval_every_steps": 3, "batch_size": 8, "learning_rate": 1e-2, **length},
        search={"num_trials": 1}, search_space={"training.learning_rate": {"type": "loguniform", "low": 1e-4,
                                                                           "high": 1e-2}})
    trainer = build_trainer(load_spec(spec_path), output_dir=str(out_dir / "scratch"))
    initial = _snapshot(trainer.model)
    trainer.train()
    checkpoint = out_dir / "checkpoint"
    save_checkpoint(trainer.model, directory=str(checkpoint), writer=True, tokenizer=trainer.processing_class)
    return {"name": name, "trainer": trainer, "initial": initial, "checkpoint": checkpoint}


def _trainable_count(model: torch.nn.Module) -> int:
    return sum(param.numel() for param in model.parameters() if param.requires_grad)


def _expected_count(name: str, *, model_dir: Path, model: torch.nn.Module) -> int:
    """PEFT's own count for a PEFT method; for full/freeze, counted on a freshly loaded base model."""
    if name not in ("full", "freeze"):
        return model.get_nb_trainable_parameters()[0]
    base = AutoModelForCausalLM.from_pretrained(model_dir)
    if name == "full":
        return sum(param.numel() for param in base.parameters())
    top = base.model.layers[-METHODS["freeze"]["k"]:]
    return sum(param.numel() for param in top.parameters()) + base.lm_head.weight.numel()


def test_trainable_parameters_are_the_methods(trained: dict[str, Any], tiny_model_dir: Path):
    model = trained["trainer"].model
    count = _trainable_count(model)
    print(f"{trained['name']}: {count} trainable parameters")  # the figures in the method docs come from here
    assert count == _expected_count(trained["name"], model_dir=tiny_model_dir, model=model)
    total = sum(param.numel() for param in model.parameters())
    assert 0 < count <= total and (count == total) == (trained["name"] == "full")


def test_training_changes_the_trainable_weights(trained: dict[str, Any]):
    after = _snapshot(trained["trainer"].model)
    assert after.keys() == trained["initial"].keys()
    assert any(not torch.equal(after[name], trained["initial"][name]) for name in after)


def test_checkpoint_reloads_to_the_trained_model_and_samples_as_it_does(trained: dict[str, Any]):
    reloaded, _ = load_checkpoint(trained["checkpoint"])
    torch.testing.assert_close(_logits(reloaded), _logits(trained["trainer"].model))
    trainer = trained["trainer"]
    in_memory = generate_answers(trainer.model, prompts=["what is 2 plus 3?"], tokenizer=trainer.processing_class,
                                 max_new_tokens=3)[0].strip()
    assert generate(trained["checkpoint"], prompt="what is 2 plus 3?", max_new_tokens=3) == in_memory


def test_peft_methods_save_the_adapter_only_and_the_others_the_whole_model(trained: dict[str, Any]):
    files = {path.name for path in trained["checkpoint"].iterdir()}
    if trained["name"] in ("full", "freeze"):
        assert {"config.json", "model.safetensors", "tokenizer.json"} <= files and "adapter_config.json" not in files
    else:
        assert {"adapter_config.json", "adapter_model.safetensors"} <= files and "model.safetensors" not in files


@pytest.mark.parametrize("trained", ["adalora"], indirect=True)
def test_adalora_schedule_spans_the_whole_run(trained: dict[str, Any]):
    trainer = trained["trainer"]
    # 0.2 epochs of 144 training pairs in batches of 8: ceil(0.2 × 18) = 4 steps, as the Trainer counted them.
    assert trainer.model.peft_config["default"].total_step == trainer.state.max_steps == 4


def test_every_method_is_either_a_peft_config_or_a_choice_of_trainable_weights():
    assert set(PEFT_CONFIGS).isdisjoint(TRAINABLE_WEIGHTS)
    assert set(PEFT_CONFIGS) | set(TRAINABLE_WEIGHTS) == set(spec.METHODS)
    assert set(METHODS) == set(spec.METHODS) - {"qlora"}  # qlora needs CUDA: its loading is checked below


def test_qlora_loads_the_base_in_4_bit_nf4_on_this_workers_gpu(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    kwargs = loading_kwargs(spec.QLoraSpec(), dtype=torch.bfloat16)
    quantization = kwargs["quantization_config"]
    assert quantization.load_in_4bit and quantization.bnb_4bit_quant_type == "nf4"
    assert quantization.bnb_4bit_compute_dtype == torch.bfloat16 and kwargs["device_map"] == {"": 0}
    assert loading_kwargs(spec.LoraSpec(), dtype=torch.float32) == {}


@pytest.mark.slow
def test_a_freeze_trial_through_ray_saves_a_model_that_samples(tmp_path: Path, tiny_model_dir: Path,
                                                               qa_data_path: Path):
    """The Ray path: the report callback saves the whole model with the Trainer's tokenizer."""
    from sweeps.run.runner import run_sweep

    spec_path = write_tiny_sweep(
        tmp_path / "sweep.yaml", model_dir=tiny_model_dir, data_path=qa_data_path, method=METHODS["freeze"],
        training={"max_steps": 3, "eval_every_steps": 3, "batch_size": 8}, search={"num_trials": 1},
        search_space={"training.learning_rate": {"type": "loguniform", "low": 1e-4, "high": 1e-2}},
        scheduler={"name": "none"}, tracking={"wandb": {"mode": "disabled"}})
    result = run_sweep(load_spec(spec_path))[0]
    assert result.error is None, result.error
    checkpoint = Path(result.metrics["checkpoint_path"])
    assert (checkpoint / "tokenizer.json").is_file() and (checkpoint / "model.safetensors").is_file()
    base, saved = AutoModelForCausalLM.from_pretrained(tiny_model_dir), AutoModelForCausalLM.from_pretrained(checkpoint)
    top = len(base.model.layers) - 1  # k=1: the top layer (and the LM head) trained, the rest stayed frozen
    for name, param in saved.named_parameters():
        trained_part = name.startswith((f"model.layers.{top}.", "lm_head."))
        assert torch.equal(param, base.get_parameter(name)) != trained_part, name
    model, tokenizer = load_checkpoint(checkpoint)
    expected = generate_answers(model, prompts=["what is 2 plus 3?"], tokenizer=tokenizer, max_new_tokens=3)[0]
    assert generate(checkpoint, prompt="what is 2 plus 3?", max_new_tokens=3) == expected.strip()
