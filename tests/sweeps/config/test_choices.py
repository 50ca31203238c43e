"""Which method, which base model: ``method.name`` and ``model.path`` searched as choices, each method's own fields
sampled only when that method is chosen, and a trial of a method other than the file's built from that method's
defaults."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from search_spaces.optuna_space import define_by_run
from sweeps.config.loading import load_spec
from sweeps.config.space import effective_space
from sweeps.spec.methods import IA3Spec
from tests.helpers.sweeps import write_tiny_sweep

SPACE = ("search_space={method.r: {type: choice, values: [2, 4]}, method.name: {type: choice, values: [lora, ia3, "
         "freeze]}, method.k: {type: choice, values: [1, 2]}, training.learning_rate: {type: loguniform, "
         "low: 1.0e-5, high: 1.0e-2}}")


@pytest.fixture
def method_search(tmp_path: Path, tiny_model_dir: Path, qa_data_path: Path):
    path = write_tiny_sweep(tmp_path / "sweep.yaml", model_dir=tiny_model_dir, data_path=qa_data_path)
    return load_spec(path, [SPACE, "search.initial_points=[]", "method={name: lora, r: 8, dropout: 0.1}"])


def test_each_method_field_is_conditioned_on_the_methods_that_have_it(method_search):
    space = effective_space(method_search)
    assert next(iter(space)) == "method.name"  # sampled first: the others' conditions read it
    assert space["method.r"].when == {"method.name": ["lora"]}
    assert space["method.k"].when == {"method.name": ["freeze"]}
    assert space["training.learning_rate"].when is None
    sample = define_by_run(space)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    configs = [sample(study.ask()) for _ in range(40)]
    assert {config["method.name"] for config in configs} == {"lora", "ia3", "freeze"}
    for config in configs:
        own = {"lora": {"method.r"}, "ia3": set(), "freeze": {"method.k"}}[config["method.name"]]
        assert set(config) == {"method.name", "training.learning_rate", *own}, config


def test_a_trial_of_another_method_starts_from_that_methods_defaults(method_search):
    lora = method_search.with_params({"method.name": "lora", "method.r": 2})
    assert (lora.method.name, lora.method.r, lora.method.dropout) == ("lora", 2, 0.1)  # the file's section
    ia3 = method_search.with_params({"method.name": "ia3", "training.learning_rate": 1e-3})
    assert ia3.method == IA3Spec() and ia3.training.learning_rate == 1e-3
    freeze = method_search.with_params({"method.name": "freeze", "method.k": 1})
    assert (freeze.method.name, freeze.method.k) == ("freeze", 1)
    # The sweep directory's copy of the spec (every field written out) gives the same trials.
    reread = type(method_search).model_validate(method_search.model_dump(mode="json"))
    assert reread.with_params({"method.name": "ia3"}).method == IA3Spec()


def test_a_searched_base_model_is_applied_to_the_trial(method_search, tiny_model_dir: Path, tmp_path: Path):
    other = tmp_path / "other-model"
    trial = method_search.with_params({"model.path": str(other)})
    assert trial.model.path == other and trial.method == method_search.method
