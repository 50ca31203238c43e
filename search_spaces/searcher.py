"""The Ray Tune searcher of a sweep: an Optuna study in a journal file, seeded, with initial points.

Initial points are written in spec paths, like the space, and may be partial: Ray's ``OptunaSearch``
enqueues each one (``study.enqueue_trial``) and Optuna samples the parameters a point leaves out
(except under grid search, whose sampler needs every parameter). A tied parameter may be given by
value, next to its ``to`` (``{method.r: 8, method.alpha: 16}``), or by factor
(``{method.alpha.factor: 2}``); left out, its factor is sampled. Under grid search an initial point
runs in addition to the grid: Optuna's ``GridSampler`` does not count enqueued trials as grid cells.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from search_spaces.optuna_space import (
    active_names,
    contains,
    define_by_run,
    describe_values,
    factor_name,
    grid_of,
    tied_value,
)
from search_spaces.space import SearchSpace, Tied
from sweeps.core.values import is_number
from sweeps.core.words import did_you_mean

if TYPE_CHECKING:
    import optuna

    from search_spaces.study import BudgetGate, SweepSearch


def build_searcher(
    *,
    space: SearchSpace,
    metric: str | list[str],
    mode: str | list[str],
    algorithm: str,
    seed: int,
    journal_path: Path | None,
    study_name: str,
    initial_points: list[dict[str, Any]],
    prior_weight: float = 10.0,
    random_fraction: float = 0.0,
    past_trials: Sequence[optuna.trial.FrozenTrial] = (),
    budget: BudgetGate | None = None,
) -> SweepSearch:
    """A :class:`search_spaces.study.SweepSearch` (Ray's ``OptunaSearch``) over ``space`` whose study lives in
    ``journal_path``, so it survives a crash and optuna-dashboard can attach to it (None: in memory, for
    simulations). A ``random_fraction`` of the trials is drawn at random, and parameters with a ``prior`` from
    it with the decaying ``prior_weight`` (see :mod:`search_spaces.priors`). ``past_trials`` (warm start) enter a
    new study before its first sample. With lists of metrics and modes, the study has several objectives; with
    a ``budget``, it suggests no trial the budget cannot pay for. Raises ``ValueError`` for an invalid space or
    point."""
    import optuna

    from search_spaces.study import SweepSearch

    # Optuna logs every study and trial at INFO; finesweep's live table and summary already say it.
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    search_space = define_by_run(space)
    from search_spaces.priors import with_mixtures

    priors = {name: param.prior for name, param in space.items() if getattr(param, "prior", None) is not None}
    sampler = with_mixtures(_sampler(algorithm=algorithm, seed=seed, space=space), priors=priors, seed=seed,
                            prior_weight=prior_weight, random_fraction=random_fraction if algorithm == "tpe" else 0.0)
    errors = check_initial_points(initial_points, space=space, algorithm=algorithm)
    if errors:
        raise ValueError("\n".join(f"{field}: {message}" for field, message in errors))
    storage = None
    if journal_path is not None:
        journal_path.parent.mkdir(parents=True, exist_ok=True)
        storage = journal_storage(journal_path)
    # A resumed study already holds its initial points (run or still queued): enqueueing them again
    # would run them twice.
    resumed = storage is not None and _has_study(storage, study_name=study_name)
    points = [] if resumed else [optuna_params(point, space=space) for point in initial_points]
    searcher = SweepSearch(space=search_space, metric=metric, mode=mode, points_to_evaluate=points, sampler=sampler,
                           study_name=study_name, storage=storage, budget=budget)
    if not resumed:  # a resumed study holds them already
        searcher.add_trials(list(past_trials))
    return searcher


def journal_storage(journal_path: Path) -> optuna.storages.JournalStorage:
    """The Optuna storage of a sweep's study journal (created if absent: check first when only reading)."""
    import optuna

    return optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(journal_path)))


def _sampler(*, algorithm: str, seed: int, space: SearchSpace) -> optuna.samplers.BaseSampler:
    import optuna

    if algorithm == "tpe":
        # Optuna 5's defaults, pinned: joint (multivariate) TPE ended closer to the best than per-parameter TPE on
        # AlexNet and level on DeBERTa (BENCHMARKS.md, M2); the constant liar counts running trials as bad ones so
        # that concurrent trials are not all proposed the model's favourite point (no effect measured in replay).
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, constant_liar=True)
    if algorithm == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if algorithm == "grid":
        return optuna.samplers.GridSampler(grid_of(space), seed=seed)
    if algorithm == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed)
    raise ValueError(f"algorithm must be one of tpe, random, grid, nsga2, but got {algorithm!r}")


def _has_study(storage: optuna.storages.BaseStorage, *, study_name: str) -> bool:
    try:
        storage.get_study_id_from_name(study_name)
    except KeyError:
        return False
    return True


def check_initial_points(
    points: list[dict[str, Any]], *, space: SearchSpace, algorithm: str
) -> list[tuple[str, str]]:
    """Every error in ``points`` as ``(field path, message)`` pairs, under ``search.initial_points``.
    Unchecked, Optuna would ignore unknown keys and only warn about out-of-range values."""
    errors = []
    for index, point in enumerate(points):
        field = f"search.initial_points.{index}"
        errors += [(f"{field}.{key}", message) for key, message in _point_errors(point, space=space)]
        missing = [name for name in space if name not in point and factor_name(name) not in point]
        if algorithm == "grid" and missing:
            message = f"grid search needs every searched parameter, but got none for {', '.join(missing)}"
            errors.append((field, message))
    return errors


def _point_errors(point: Mapping[str, Any], *, space: SearchSpace) -> list[tuple[str, str]]:
    factor_keys = {factor_name(name): param for name, param in space.items() if isinstance(param, Tied)}
    errors = []
    for key, value in point.items():
        param = space.get(key, factor_keys.get(key))
        if param is None:
            message = _unknown_key_message(key, known=[*space, *factor_keys])
        elif key in factor_keys:
            is_factor = not isinstance(value, bool) and value in param.factors
            message = None if is_factor else f"must be one of {param.factors}, but got {value!r}"
        elif isinstance(param, Tied):
            message = _tied_point_error(key, param, point=point, space=space)
        elif not contains(param, value):
            message = f"must be {describe_values(param)}, but got {value!r}"
        else:
            message = None
        if message:
            errors.append((key, message))
    return errors


def _unknown_key_message(key: str, *, known: list[str]) -> str:
    hint = did_you_mean(key, options=known)
    return f"must be a searched parameter, but got {key!r}{hint}; searched: {', '.join(known)}"


def _tied_point_error(name: str, param: Tied, *, point: Mapping[str, Any], space: SearchSpace) -> str | None:
    if param.to not in point:
        return f"a tied value needs {param.to!r} in the same point (or give {factor_name(name)!r} instead)"
    target, base = space.get(param.to), point[param.to]
    if target is None or isinstance(target, Tied) or not contains(target, base):
        return None  # a broken `to`, or its value, is reported on its own
    factor = _factor_of(point[name], base=base, factors=param.factors)
    if factor is None:
        return f"must be {describe_values(param)}, but got {point[name]!r} with {param.to}={base!r}"
    given = point.get(factor_name(name), factor)
    if given != factor:
        return f"must agree with {factor_name(name)}={given!r}, but got {point[name]!r} (factor {factor})"
    return None


def _factor_of(value: Any, *, base: Any, factors: list[float]) -> float | None:
    if not is_number(value):
        return None
    # Compare products, not value / base: the base may be 0, and a quotient rarely lands on a factor.
    return next((f for f in factors if math.isclose(tied_value(factor=f, base=base), value)), None)


def fits(point: Mapping[str, Any], *, space: SearchSpace) -> bool:
    """Whether ``point`` (spec paths) gives every parameter it would sample (see ``when``) a value the space can
    take, and none it would not sample."""
    active = active_names(space, point)
    restricted = {key: value for key, value in point.items() if key in space or key.removesuffix(".factor") in space}
    given = all(name in point or factor_name(name) in point for name in active)
    extra = [key for key in restricted if key.removesuffix(".factor") not in active]
    return given and not extra and not _point_errors(restricted, space=space)


def optuna_params(point: Mapping[str, Any], *, space: SearchSpace) -> dict[str, Any]:
    """``point`` (spec paths, a tied parameter by value or by factor) as the Optuna study's parameters."""
    # Optuna knows a tied parameter only through its factor: a value under the tied name itself would
    # be silently ignored.
    params = {key: value for key, value in point.items() if not isinstance(space.get(key), Tied)}
    for name, param in space.items():
        if isinstance(param, Tied) and name in point:
            params[factor_name(name)] = _factor_of(point[name], base=point[param.to], factors=param.factors)
    return params
