"""Conditional spaces: a parameter with ``when`` is sampled only in trials whose earlier choice took one of the
listed values, and a space whose conditions cannot hold is refused."""

from __future__ import annotations

import optuna
import pytest
from pydantic import TypeAdapter

from search_spaces.optuna_space import active_names, check_space, define_by_run, grid_of
from search_spaces.searcher import fits
from search_spaces.space import SearchSpace

SPACE = TypeAdapter(SearchSpace).validate_python({
    "method.name": {"type": "choice", "values": ["lora", "ia3"]},
    "method.r": {"type": "choice", "values": [4, 8], "when": {"method.name": ["lora"]}},
    "method.alpha": {"type": "tied", "to": "method.r", "factors": [1, 2], "when": {"method.name": ["lora"]}},
    "training.learning_rate": {"type": "loguniform", "low": 1e-5, "high": 1e-2},
})
SEARCHABLE = {"method.name": "str", "method.r": "int", "method.alpha": "float", "training.learning_rate": "float"}


def test_a_conditional_parameter_is_sampled_only_when_its_condition_holds():
    sample = define_by_run(SPACE)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    configs = [sample(study.ask()) for _ in range(30)]
    lora = [config for config in configs if config["method.name"] == "lora"]
    ia3 = [config for config in configs if config["method.name"] == "ia3"]
    assert lora and ia3
    assert all({"method.r", "method.alpha"} <= set(config) for config in lora)
    assert all(not {"method.r", "method.alpha"} & set(config) for config in ia3)
    assert all("training.learning_rate" in config for config in configs)


def test_active_names_and_fits_follow_the_conditions():
    assert active_names(SPACE, {"method.name": "ia3"}) == ["method.name", "training.learning_rate"]
    assert fits({"method.name": "ia3", "training.learning_rate": 1e-3}, space=SPACE)
    assert not fits({"method.name": "ia3", "training.learning_rate": 1e-3, "method.r": 4}, space=SPACE)
    assert not fits({"method.name": "lora", "training.learning_rate": 1e-3}, space=SPACE)  # r missing
    assert fits({"method.name": "lora", "training.learning_rate": 1e-3, "method.r": 4, "method.alpha": 8},
                space=SPACE)


@pytest.mark.parametrize(("when", "expected"), [
    ({"training.learning_rate": [1e-3]}, "must name a `choice` parameter given before this one"),
    ({"method.name": ["qlora"]}, "method.name: every value must be one of ['lora', 'ia3'], but got ['qlora']"),
])
def test_a_condition_that_cannot_hold_is_refused(when: dict, expected: str):
    raw = {"method.name": {"type": "choice", "values": ["lora", "ia3"]},
           "training.learning_rate": {"type": "loguniform", "low": 1e-5, "high": 1e-2},
           "method.r": {"type": "choice", "values": [4, 8], "when": when}}
    errors = check_space(TypeAdapter(SearchSpace).validate_python(raw), searchable=SEARCHABLE)
    assert [field for field, _ in errors] == ["search_space.method.r.when"]
    assert expected in errors[0][1]


def test_grid_search_refuses_a_conditional_space():
    with pytest.raises(ValueError, match="these are conditional"):
        grid_of(SPACE)
