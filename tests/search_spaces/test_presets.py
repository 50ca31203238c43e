"""Presets validate, fit the real sweep spec, and unknown names get a suggestion."""

import re

import optuna
import pytest

from search_spaces.optuna_space import check_space, define_by_run
from search_spaces.presets import PRESET_HELP, PRESETS, preset_space
from search_spaces.space import Choice, LogUniform, Tied
from sweeps.config.space import searchable_paths
from sweeps.spec import SweepSpec


@pytest.mark.parametrize("method", ["lora", "qlora"])
@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_fits_the_methods_it_is_for(name: str, method: str) -> None:
    assert check_space(preset_space(name), searchable=searchable_paths(method=method)) == []


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_sampled_preset_configs_apply_onto_a_sweep_spec(name: str) -> None:
    space = preset_space(name)
    base = SweepSpec(name="t", model={"path": "model"}, dataset={"path": "data.jsonl"})
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    sample = define_by_run(space)
    for _ in range(20):
        config = sample(study.ask())
        spec = base.with_params({path: value for path, value in config.items() if path in space})
        for path in space:
            section, field = path.split(".")
            assert getattr(getattr(spec, section), field) == config[path]


def test_lora_small_is_the_documented_space() -> None:
    space = preset_space("lora-small")
    assert list(space) == ["training.learning_rate", "method.r", "method.alpha", "training.batch_size",
                           "training.epochs"]
    assert space["training.learning_rate"] == LogUniform(type="loguniform", low=1e-5, high=1e-3, prior={
        "mode": 2e-4, "spread": 2.0, "source": "LoRA (Hu et al. 2021), QLoRA (Dettmers et al. 2023)"})
    assert space["method.r"] == Choice(type="choice", values=[4, 8, 16])
    assert space["method.alpha"] == Tied(type="tied", to="method.r", factors=[1.0, 2.0])


def test_lora_wide_extends_lora_small() -> None:
    small, wide = preset_space("lora-small"), preset_space("lora-wide")
    assert {name: wide[name] for name in small} == small
    assert set(wide) - set(small) == {"training.weight_decay", "training.warmup_ratio", "method.dropout",
                                      "training.lr_scheduler"}


def test_every_preset_has_one_line_of_help() -> None:
    assert set(PRESET_HELP) == set(PRESETS)
    assert all(text and "\n" not in text for text in PRESET_HELP.values())


def test_preset_space_returns_a_fresh_space_each_time() -> None:
    first = preset_space("lora-small")
    first.pop("method.r")
    assert "method.r" in preset_space("lora-small")


def test_unknown_preset_suggests_the_close_one() -> None:
    expected = ("preset must be one of lora-small, lora-wide, full-small, but got 'lora-smal'; "
                "did you mean 'lora-small'?")
    with pytest.raises(ValueError, match=f"^{re.escape(expected)}$"):
        preset_space("lora-smal")


def test_unrelated_preset_name_gets_no_suggestion() -> None:
    with pytest.raises(ValueError, match=r"but got 'xgboost'$"):
        preset_space("xgboost")


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_learning_rate_prior_says_where_it_comes_from_and_lies_in_its_range(name: str) -> None:
    learning_rate = preset_space(name)["training.learning_rate"]
    assert learning_rate.prior is not None and learning_rate.prior.source
    assert learning_rate.low < learning_rate.prior.mode < learning_rate.high
