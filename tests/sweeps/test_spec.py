"""SweepSpec: trial values applied at dotted paths are validated again; every field documents itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from search_spaces.space import Choice, IntRange, LogUniform, Tied, Uniform
from sweeps.spec import SweepSpec


def _sections(model: type[BaseModel]) -> list[type[BaseModel]]:
    """``model`` and every model nested in its fields, depth first."""
    found = [model]
    for field in model.model_fields.values():
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            found += _sections(field.annotation)
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
    assert [".".join(map(str, error["loc"])) for error in caught.value.errors()] == [field]


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
    assert {"ModelSpec", "TaskSpec", "DatasetSpec", "LoraSpec", "TrainingSpec", "SearchSpec", "SchedulerSpec",
            "ResourcesSpec", "TrackingSpec", "WandbSpec", "StorageSpec"} <= names


def test_defaults_are_what_the_docs_say(spec: SweepSpec):
    assert spec.dataset.eval_fraction == 0.2  # "the usual 80/20 split"
    assert spec.training.learning_rate == 2e-4
    assert spec.method.name == "lora" and spec.method.r == 8 and spec.method.alpha == 16  # alpha = 2·r
    assert spec.method.target_modules == "all-linear"
    assert spec.training.max_grad_norm == 1.0  # "1.0 is the HF default"
    assert spec.search.algorithm == "tpe" and spec.search.metric == "eval_loss" and spec.search.mode == "min"
    assert spec.scheduler.name == "asha" and spec.scheduler.grace_period == 1 and spec.scheduler.max_t is None
    assert spec.tracking.wandb.mode == "offline"
    assert spec.storage.path == "runs"
    assert spec.search_space == {} and spec.search.preset is None
    assert spec.sweep_dir == "runs/tiny"


def test_every_section_forbids_unknown_keys():
    for section in [SweepSpec, *SECTIONS]:
        assert section.model_config.get("extra") == "forbid", section.__name__
