"""Distribution bounds, cross-parameter checks, the define-by-run function and the grid."""

import itertools
import math
import pickle
import re

import optuna
import pytest
from pydantic import TypeAdapter, ValidationError

from search_spaces.optuna_space import check_space, define_by_run, grid_of, tied_value
from search_spaces.space import SearchSpace

SEARCHABLE = {
    "training.learning_rate": "float",
    "training.batch_size": "int",
    "training.epochs": "float",
    "training.lr_scheduler": "str",
    "method.r": "int",
    "method.alpha": "float",
    "method.dropout": "float",
}

MIXED = {
    "training.learning_rate": {"type": "loguniform", "low": 1e-5, "high": 1e-3},
    "method.dropout": {"type": "uniform", "low": 0.0, "high": 0.1, "step": 0.02},
    "training.epochs": {"type": "int", "low": 1, "high": 7, "step": 3},
    "method.r": {"type": "choice", "values": [4, 8, 16]},
    "method.alpha": {"type": "tied", "to": "method.r", "factors": [1, 2]},
    "training.lr_scheduler": {"type": "choice", "values": ["linear", "cosine"]},
}


def space(raw: dict) -> SearchSpace:
    return TypeAdapter(SearchSpace).validate_python(raw)


def first_configs(raw: dict, *, sampler: optuna.samplers.BaseSampler, n: int = 5) -> list[dict]:
    study = optuna.create_study(sampler=sampler)
    sample = define_by_run(space(raw))
    configs = []
    for _ in range(n):
        trial = study.ask()
        configs.append(sample(trial))
        study.tell(trial, float(len(configs)))
    return configs


@pytest.mark.parametrize(
    ("param", "message"),
    [
        ({"type": "loguniform", "low": 1e-3, "high": 1e-5},
         "`low < high` must hold, but got (low=0.001, high=1e-05)"),
        ({"type": "loguniform", "low": 0, "high": 1},
         "`low > 0` must hold for loguniform, but got (low=0.0)"),
        ({"type": "uniform", "low": 1, "high": 1}, "`low < high` must hold, but got (low=1.0, high=1.0)"),
        ({"type": "uniform", "low": 0, "high": 1, "step": 0}, "`step > 0` must hold, but got (step=0.0)"),
        ({"type": "int", "low": 3, "high": 1}, "`low <= high` must hold, but got (low=3, high=1)"),
        ({"type": "int", "low": 1, "high": 9, "step": 0}, "`step >= 1` must hold, but got (step=0)"),
        ({"type": "int", "low": 0, "high": 9, "log": True},
         "log=true needs `low >= 1` and `step == 1`, but got (low=0, step=1)"),
        ({"type": "choice", "values": [4, 8, 4]}, "values must be distinct, but got [4, 8, 4]"),
        ({"type": "tied", "to": "method.r", "factors": [0, 2]},
         "every factor must be > 0, but got [0.0, 2.0]"),
        # Empty lists are caught by pydantic's min_length before the Optuna-style validators run.
        ({"type": "choice", "values": []}, "List should have at least 1 item"),
        ({"type": "tied", "to": "method.r", "factors": []}, "List should have at least 1 item"),
    ],
)
def test_invalid_distribution_is_rejected_with_its_invariant(param: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)) as caught:
        space({"method.r": param})
    assert caught.value.errors()[0]["loc"][0] == "method.r"


def test_valid_space_has_no_cross_parameter_errors() -> None:
    assert check_space(space(MIXED), searchable=SEARCHABLE) == []


def test_unknown_path_suggests_the_close_one_and_lists_the_searchable() -> None:
    typo = space({"training.learnig_rate": MIXED["training.learning_rate"]})
    [(field, message)] = check_space(typo, searchable=SEARCHABLE)
    assert field == "search_space.training.learnig_rate"
    assert message.startswith("must be a searchable spec path, but got 'training.learnig_rate'; "
                              "did you mean 'training.learning_rate'?")
    assert "searchable: method.alpha, method.dropout, method.r, training.batch_size" in message


def test_unknown_path_among_many_does_not_list_them_all() -> None:
    many = {f"training.field_{i}": "float" for i in range(40)}
    [(_, message)] = check_space(space({"training.nothing_like_it": MIXED["method.r"]}), searchable=many)
    assert "searchable:" not in message
    assert "did you mean" not in message


@pytest.mark.parametrize(
    ("to", "reason"),
    [
        ("method.rank", "but got 'method.rank'"),
        ("method.alpha", "but 'method.alpha' is itself tied"),
        ("method.dropout", "but 'method.dropout' is itself tied"),
        ("training.lr_scheduler", "but 'training.lr_scheduler' takes one of ['linear', 'cosine']"),
    ],
)
def test_tied_to_must_name_another_searched_numeric_parameter(to: str, reason: str) -> None:
    raw = {
        "method.r": MIXED["method.r"],
        "training.lr_scheduler": MIXED["training.lr_scheduler"],
        "method.dropout": {"type": "tied", "to": "method.r", "factors": [0.001]},
        "method.alpha": {"type": "tied", "to": to, "factors": [2]},
    }
    errors = check_space(space(raw), searchable=SEARCHABLE)
    assert errors == [(
        "search_space.method.alpha",
        f"`to` must name another searched numeric parameter, {reason}; searched: method.r",
    )]


@pytest.mark.parametrize(
    ("name", "param", "message"),
    [
        ("training.batch_size", {"type": "uniform", "low": 1, "high": 9},
         "an integer field takes int, choice or tied, but got uniform"),
        ("training.batch_size", {"type": "loguniform", "low": 1, "high": 9},
         "an integer field takes int, choice or tied, but got loguniform"),
        ("training.batch_size", {"type": "choice", "values": [4, 8.5]},
         "an integer field's choice values must be integers, but got [4, 8.5]"),
        ("training.batch_size", {"type": "tied", "to": "method.r", "factors": [1.5]},
         "an integer field must be tied to an integer parameter by whole factors, but got factors [1.5]"),
        ("training.lr_scheduler", {"type": "loguniform", "low": 1, "high": 9},
         "a text field takes a choice of strings, but got a number in [1.0, 9.0]"),
        ("training.lr_scheduler", {"type": "choice", "values": ["linear", 3]},
         "a text field takes a choice of strings, but got one of ['linear', 3]"),
        ("training.learning_rate", {"type": "choice", "values": [1e-4, "fast"]},
         "a numeric field's choice values must be numbers, but got [0.0001, 'fast']"),
    ],
)
def test_distribution_must_fit_the_field_type(name: str, param: dict, message: str) -> None:
    errors = check_space(space({"method.r": MIXED["method.r"], name: param}), searchable=SEARCHABLE)
    assert [(field, text[: len(message)]) for field, text in errors] == [(f"search_space.{name}", message)]


def test_every_error_is_reported_at_once() -> None:
    raw = {
        "training.learnig_rate": MIXED["training.learning_rate"],
        "training.batch_size": {"type": "uniform", "low": 1, "high": 9},
        "method.alpha": {"type": "tied", "to": "method.rank", "factors": [2]},
    }
    fields = [field for field, _ in check_space(space(raw), searchable=SEARCHABLE)]
    assert fields == ["search_space.training.learnig_rate", "search_space.training.batch_size",
                      "search_space.method.alpha"]


def test_define_by_run_samples_inside_bounds_and_ties_alpha_to_r() -> None:
    for config in first_configs(MIXED, sampler=optuna.samplers.RandomSampler(seed=3), n=200):
        assert set(config) == set(MIXED)
        assert 1e-5 <= config["training.learning_rate"] <= 1e-3
        assert config["method.dropout"] in {0.0, 0.02, 0.04, 0.06, 0.08, 0.1}
        assert config["training.epochs"] in {1, 4, 7}
        assert config["method.r"] in {4, 8, 16}
        assert config["training.lr_scheduler"] in {"linear", "cosine"}
        assert config["method.alpha"] in {config["method.r"], 2 * config["method.r"]}
        assert isinstance(config["method.alpha"], int)


def test_tied_value_is_an_int_only_for_a_whole_product_of_an_int() -> None:
    assert tied_value(factor=2.0, base=8) == 16 and isinstance(tied_value(factor=2.0, base=8), int)
    assert tied_value(factor=0.5, base=3) == 1.5
    assert isinstance(tied_value(factor=2.0, base=0.5), float)


def test_define_by_run_rejects_a_broken_tie() -> None:
    with pytest.raises(ValueError, match=r"^search_space.method.alpha: `to` must .* but got 'method.rank'"):
        define_by_run(space({"method.alpha": {"type": "tied", "to": "method.rank", "factors": [2]}}))


def test_define_by_run_survives_pickle() -> None:
    sample = pickle.loads(pickle.dumps(define_by_run(space(MIXED))))
    trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0)).ask()
    assert set(sample(trial)) == set(MIXED)


@pytest.mark.parametrize("make_sampler", [optuna.samplers.TPESampler, optuna.samplers.RandomSampler])
def test_same_seed_same_first_configs_different_seed_different(make_sampler: type) -> None:
    first = first_configs(MIXED, sampler=make_sampler(seed=7))
    assert first == first_configs(MIXED, sampler=make_sampler(seed=7))
    assert first != first_configs(MIXED, sampler=make_sampler(seed=8))


def test_grid_of_lists_every_finite_value() -> None:
    grid = grid_of(space({name: p for name, p in MIXED.items() if name != "training.learning_rate"}))
    assert grid == {
        "method.dropout": [0.0, 0.02, 0.04, 0.06, 0.08, 0.1],
        "training.epochs": [1, 4, 7],
        "method.r": [4, 8, 16],
        "method.alpha.factor": [1.0, 2.0],
        "training.lr_scheduler": ["linear", "cosine"],
    }


@pytest.mark.parametrize(
    ("high", "values"),
    [
        (0.3, [0.0, 0.1, 0.2, 0.3]),  # in floats, 0.3 / 0.1 < 3 and 3 * 0.1 != 0.3
        (0.25, [0.0, 0.1, 0.2]),  # a last partial step is dropped, as Optuna does
    ],
)
def test_grid_of_steps_a_uniform_exactly(high: float, values: list[float]) -> None:
    grid = grid_of(space({"method.dropout": {"type": "uniform", "low": 0, "high": high, "step": 0.1}}))
    assert grid == {"method.dropout": values}


def test_grid_of_names_every_continuous_parameter() -> None:
    raw = {**MIXED, "method.dropout": {"type": "uniform", "low": 0, "high": 0.1}}
    with pytest.raises(ValueError, match=r"continuous: training.learning_rate, method.dropout$"):
        grid_of(space(raw))


def test_grid_sampler_enumerates_exactly_the_product() -> None:
    raw = {name: p for name, p in MIXED.items() if name not in {"training.learning_rate", "method.dropout"}}
    grid = grid_of(space(raw))
    sample = define_by_run(space(raw))
    seen = []
    study = optuna.create_study(sampler=optuna.samplers.GridSampler(grid, seed=0))
    study.optimize(lambda trial: float(seen.append(sample(trial)) or 0), n_trials=100)
    points = [
        (c["training.epochs"], c["method.r"], c["method.alpha"] / c["method.r"], c["training.lr_scheduler"])
        for c in seen
    ]
    assert len(points) == math.prod(len(values) for values in grid.values()) == 36
    assert set(points) == set(itertools.product([1, 4, 7], [4, 8, 16], [1.0, 2.0], ["linear", "cosine"]))
