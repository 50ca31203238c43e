"""Trials from outside a sweep as Optuna trials of its study (``search.warm_start``): a recorded run, or another
sweep's trial, restricted to this sweep's search space. A run whose parameters the space cannot take is left out,
never bent to fit: the sampler must not learn from a config it could not have proposed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import optuna
from optuna.trial import FrozenTrial, TrialState

from search_spaces.optuna_space import active_names, distributions
from search_spaces.searcher import fits, optuna_params
from search_spaces.space import SearchSpace

IMPORTED_FROM = "imported_from"  # the user attribute of a trial imported by search.warm_start: its source


def recorded_trial(*, params: Mapping[str, Any], curve: Sequence[tuple[int, float]], space: SearchSpace,
                   state: Literal["complete", "pruned"], source: str) -> FrozenTrial | None:
    """A recorded run (spec-path ``params``, ``(step, value)`` reports) as a finished trial: complete with its
    last value, or pruned with its reports; None when the space cannot take its parameters."""
    point = {key: value for key, value in params.items() if key in space or key.removesuffix(".factor") in space}
    if not fits(point, space=space) or (state == "complete" and not curve):
        return None
    wanted = distributions(space, names=active_names(space, point))
    chosen = optuna_params(point, space=space)
    return optuna.trial.create_trial(
        state=TrialState.COMPLETE if state == "complete" else TrialState.PRUNED,
        value=curve[-1][1] if state == "complete" else None,
        params={name: chosen[name] for name in wanted}, distributions=wanted,
        intermediate_values={int(step): float(value) for step, value in curve},
        user_attrs={IMPORTED_FROM: source})


def copied_trial(trial: FrozenTrial, *, space: SearchSpace, source: str) -> FrozenTrial | None:
    """Another sweep's finished trial, restricted to ``space``; None when the space cannot take its parameters."""
    every = distributions(space)
    point = {name: value for name, value in trial.params.items() if name in every}
    if trial.state not in (TrialState.COMPLETE, TrialState.PRUNED) or not fits(point, space=space):
        return None
    wanted = {name: distribution for name, distribution in every.items() if name in point}
    return optuna.trial.create_trial(
        state=trial.state, value=trial.value if trial.state == TrialState.COMPLETE else None,
        params=point, distributions=wanted, intermediate_values=dict(trial.intermediate_values),
        user_attrs={**trial.user_attrs, IMPORTED_FROM: source})
