"""Priors a user states on search-space parameters (``prior: {mode, spread}``), as an Optuna sampler around the
sweep's own: trial n draws its prior-carrying parameters from their priors with probability w / (w + n), n
the trials finished so far, and from the sweep's sampler otherwise. Early trials follow the belief; as
evidence arrives the sampler's own model takes over (the mixture PriorBand uses; πBO's decaying weight).
A belief is a normal in the parameter's sampling scale (log for log-scale parameters), cut to its bounds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, FloatDistribution, IntDistribution
from optuna.trial import FrozenTrial, TrialState

from search_spaces.space import Prior

_FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
_DRAWS = 100  # tries at a draw inside the bounds before the belief is clipped to them


class PriorSampler(optuna.samplers.BaseSampler):
    """``base`` with ``priors`` (parameter name → belief) mixed in with weight ``weight``."""

    def __init__(self, base: optuna.samplers.BaseSampler, *, priors: Mapping[str, Prior], weight: float,
                 seed: int | None) -> None:
        self._base = base
        self._priors = dict(priors)
        self._weight = weight
        self._rng = np.random.RandomState(seed)
        self._from_prior: dict[int, bool] = {}  # trial number → its prior-carrying parameters come from the priors

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        space = self._base.infer_relative_search_space(study, trial)
        if not self._uses_priors(study, trial):
            return space
        return {name: distribution for name, distribution in space.items() if name not in self._priors}

    def sample_relative(self, study: optuna.Study, trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        return self._base.sample_relative(study, trial, search_space)

    def sample_independent(self, study: optuna.Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        if param_name in self._priors and self._uses_priors(study, trial):
            return draw(self._priors[param_name], param_distribution, rng=self._rng)
        return self._base.sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self._base.before_trial(study, trial)

    def after_trial(self, study: optuna.Study, trial: FrozenTrial, state: TrialState, values: Any) -> None:
        self._base.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self._base.reseed_rng()
        self._rng.seed()

    def _uses_priors(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        if trial.number not in self._from_prior:
            finished = len(study.get_trials(deepcopy=False, states=_FINISHED))
            self._from_prior[trial.number] = bool(self._rng.random_sample() < self._weight / (self._weight + finished))
        return self._from_prior[trial.number]


def draw(prior: Prior, distribution: BaseDistribution, *, rng: np.random.RandomState) -> float | int:
    """One value of ``prior`` inside ``distribution``'s bounds, on its step grid."""
    if not isinstance(distribution, (FloatDistribution, IntDistribution)):
        raise TypeError(f"a prior needs a numeric distribution, but got {type(distribution).__name__}")
    log = distribution.log
    centre, width = (math.log(prior.mode), math.log(prior.spread)) if log else (prior.mode, prior.spread)
    low, high = distribution.low, distribution.high
    for _ in range(_DRAWS):
        value = rng.normal(centre, width)
        value = math.exp(value) if log else value
        if low <= value <= high:
            break
    value = min(max(value, low), high)
    step = distribution.step
    if step is not None:
        value = low + round((value - low) / step) * step
        value = min(value, high)
    return round(value) if isinstance(distribution, IntDistribution) else float(value)
