"""SweepSpec: trial values applied at dotted paths are validated again; every field documents itself."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest
from pydantic import BaseModel, ValidationError

from search_spaces.space import Choice, IntRange, LogUniform, Tied, Uniform
from sweeps.spec import METHODS, TASKS, SchedulerSpec, SweepSpec


def _sections(model: type[BaseModel]) -> list[type[BaseModel]]:
    """``model`` and every model nested in its fields (each member of a tagged union too), depth first."""
    found = [model]
    for field in model.model_fields.values():
        members = get_args(field.annotation) if field.discriminator else (field.annotation,)
        for member in members:
            if isinstance(member, type) and issubclass(member, BaseModel):
                found += _sections(member)
    return found


SECTIONS = [section for section in _sections(SweepSpec) if section is not SweepSpec]


@pytest.fixture
def spec() -> SweepSpec:
    return SweepSpec.model_validate({"name": "tiny", "model": {"path": "/models/tiny"},
                                     "dataset": {"path": "/data/qa.jsonl"}})


def test_with_params_sets_dotted_paths(spec: SweepSpec):
    trial = spec.with_params({"training.learning_rate": 3e-4, "method.r": 16, "method.alpha": 32,
                              "training.lr_scheduler": "cosine"})
    assert trial.training.learning_rate == 3e-4
    assert trial.method.r == 16
    assert trial.method.alpha == 32
    assert trial.training.lr_scheduler == "cosine"
    assert trial.training.batch_size == spec.training.batch_size
    assert spec.method.r == 8  # the original is unchanged


def test_with_params_returns_typed_values(spec: SweepSpec):
    trial = spec.with_params({"training.batch_size": 4, "training.epochs": 2})
    assert type(trial.training.batch_size) is int
    assert trial.training.epochs == 2.0
    assert isinstance(trial.model.path, Path)


@pytest.mark.parametrize(("params", "field"), [
    ({"training.learning_rate": -1e-4}, "training.learning_rate"),
    ({"method.dropout": 1.0}, "method.dropout"),
    ({"method.r": 0}, "method.r"),
    ({"training.batch_size": 2.5}, "training.batch_size"),
    ({"training.lr_scheduler": "cosin"}, "training.lr_scheduler"),
])
def test_with_params_rejects_an_invalid_sampled_value(spec: SweepSpec, params: dict, field: str):
    with pytest.raises(ValidationError) as caught:
        spec.with_params(params)
    # Pydantic names the method's tag in the location (method.lora.r); the file does not.
    assert [".".join(str(part) for part in error["loc"] if part not in METHODS)
            for error in caught.value.errors()] == [field]


def test_with_params_rejects_an_unknown_path(spec: SweepSpec):
    with pytest.raises(ValidationError, match="learnig_rate"):
        spec.with_params({"training.learnig_rate": 1e-4})


@pytest.mark.parametrize("section", SECTIONS, ids=lambda section: section.__name__)
def test_every_field_of_every_section_is_documented(section: type[BaseModel]):
    undocumented = [name for name, field in section.model_fields.items() if not (field.description or "").strip()]
    assert undocumented == []


@pytest.mark.parametrize("distribution", [LogUniform, Uniform, IntRange, Choice, Tied],
                         ids=lambda model: model.__name__)
def test_every_distribution_field_is_documented(distribution: type[BaseModel]):
    undocumented = [name for name, field in distribution.model_fields.items()
                    if name != "type" and not (field.description or "").strip()]
    assert undocumented == []
    assert (distribution.__doc__ or "").strip()


def test_the_sweep_fields_that_are_not_sections_are_documented():
    for name, field in SweepSpec.model_fields.items():
        is_section = isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
        assert is_section or (field.description or "").strip(), name


def test_sections_cover_the_whole_spec():
    names = {section.__name__ for section in SECTIONS}
    methods = {method.__name__ for method in [*METHODS.values(), *TASKS.values()]}
    assert {"ModelSpec", "DatasetSpec", *methods, "TrainingSpec", "SearchSpec", "SchedulerSpec",
            "ResourcesSpec", "TrackingSpec", "WandbSpec", "StorageSpec"} <= names


def test_defaults_are_what_the_docs_say(spec: SweepSpec):
    assert spec.dataset.eval_fraction == 0.2  # "the usual 80/20 split"
    assert spec.training.learning_rate == 2e-4
    assert spec.method.name == "lora" and spec.method.r == 8 and spec.method.alpha == 16  # alpha = 2·r
    assert spec.method.target_modules == "all-linear"
    assert spec.training.max_grad_norm == 1.0  # "1.0 is the HF default"
    assert spec.training.optimizer == "adamw"
    assert spec.search.algorithm == "tpe" and spec.search.metric == "eval_loss" and spec.search.mode == "min"
    assert spec.search.random_fraction == 0  # TPE alone (BENCHMARKS.md, M2)
    assert spec.scheduler.name == "asha" and spec.scheduler.time_unit == "progress"
    assert spec.scheduler.grace_period is None and spec.scheduler.max_t is None
    assert spec.scheduler.reduction_factor == 3 and spec.scheduler.top_rung_trials == 2
    assert spec.tracking.wandb.mode == "offline"
    assert spec.storage.path == "runs"
    assert spec.search_space == {} and spec.search.preset is None
    assert spec.sweep_dir == "runs/tiny"


def test_every_section_forbids_unknown_keys():
    for section in [SweepSpec, *SECTIONS]:
        assert section.model_config.get("extra") == "forbid", section.__name__


def _with_method(spec: SweepSpec, method: dict) -> SweepSpec:
    return SweepSpec.model_validate({**spec.model_dump(), "method": method})


def test_method_name_picks_the_methods_section(spec: SweepSpec):
    assert list(METHODS) == ["lora", "qlora", "adalora", "ia3", "prompt_tuning", "prefix_tuning", "full", "freeze"]
    for name, section in METHODS.items():
        assert type(_with_method(spec, {"name": name}).method) is section
    assert _with_method(spec, {"r": 4}).method == METHODS["lora"](r=4)  # no name: LoRA, as before other methods


def test_with_params_sets_the_chosen_methods_own_fields(spec: SweepSpec):
    adalora = _with_method(spec, {"name": "adalora"}).with_params({"method.target_r": 4, "method.init_r": 6})
    assert (adalora.method.name, adalora.method.target_r, adalora.method.init_r) == ("adalora", 4, 6)
    freeze = _with_method(spec, {"name": "freeze"}).with_params({"method.k": 1, "training.optimizer": "sgd"})
    assert (freeze.method.k, freeze.training.optimizer) == (1, "sgd")
    with pytest.raises(ValidationError, match=r"method\.freeze\.r"):
        _with_method(spec, {"name": "freeze"}).with_params({"method.r": 4})  # a LoRA field, not freeze's


@pytest.mark.parametrize(("method", "message"), [
    ({"name": "adalora", "init_r": 4, "target_r": 8}, "`target_r <= init_r` must hold, but got (target_r=8, init_r=4)"),
    ({"name": "ia3", "feedforward_modules": ["down_proj"]}, "`feedforward_modules ⊆ target_modules` must hold"),
    ({"name": "ia3", "target_modules": ["k_proj"], "feedforward_modules": ["down_proj"]},
     "but got (feedforward_modules=['down_proj'], target_modules=['k_proj'])"),
])
def test_a_methods_own_rules_are_checked(spec: SweepSpec, method: dict, message: str):
    with pytest.raises(ValidationError) as caught:
        _with_method(spec, method)
    assert message in str(caught.value)


def test_task_type_picks_the_tasks_section(spec: SweepSpec):
    assert next(iter(TASKS)) == "causal_lm"
    for name, section in TASKS.items():
        assert type(SweepSpec.model_validate({**spec.model_dump(), "task": {"type": name}}).task) is section
    assert type(spec.task) is TASKS["causal_lm"]  # no task: causal_lm, as before there were other tasks
    untyped = SweepSpec.model_validate({**spec.model_dump(), "task": {}})
    assert type(untyped.task) is TASKS["causal_lm"]


def test_a_classification_task_keeps_its_fields_through_with_params(spec: SweepSpec):
    task = {"type": "classification", "text_column": "question", "label_column": "topic", "balance": True}
    trial = SweepSpec.model_validate({**spec.model_dump(), "task": task}).with_params({"training.epochs": 2})
    assert trial.task.model_dump() == task
    assert trial.task.columns(trial.dataset) == {"task.text_column": "question", "task.label_column": "topic"}


@pytest.mark.parametrize(("num_trials", "grace"),
                         [(4, 1.0), (6, 1 / 3), (8, 1 / 3), (24, 1 / 9), (64, 1 / 9), (500, 1 / 9)])
def test_derived_rungs_let_about_two_trials_reach_the_top(num_trials: int, grace: float):
    """reduction factor 3: k rungs below the top leave num_trials / 3^k trials at it; k is kept to 2 at most."""
    scheduler = SchedulerSpec()
    assert scheduler.rungs(num_trials=num_trials, max_t=1.0) == (pytest.approx(grace), 1.0)
    assert num_trials * grace >= scheduler.top_rung_trials or grace == 1 / 9


def test_given_rungs_win_over_the_derived_ones():
    scheduler = SchedulerSpec(grace_period=2, max_t=8, time_unit="reports")
    assert scheduler.rungs(num_trials=64, max_t=100) == (2, 8)
    assert SchedulerSpec(grace_period=5, time_unit="reports").rungs(num_trials=64, max_t=4) == (4, 4)
