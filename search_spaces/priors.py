"""Samplers mixed into the sweep's own: a trial is drawn by another sampler with some chance, by the sweep's
sampler otherwise. Two mixtures use it:

- priors a user states on search-space parameters (``prior: {mode, spread}``): trial n draws its prior-carrying
  parameters from their priors with chance w / (w + n), n the trials finished so far, so early trials follow the
  belief and, as evidence arrives, the model takes over (PriorBand's mixture, πBO's decaying weight); a belief is
  a normal in the parameter's sampling scale (log for log-scale parameters), cut to its bounds;
- ``search.random_fraction``: a fixed share of trials drawn at random, a hedge against a model that locks onto
  the wrong region (ε-greedy Bayesian optimisation, De Ath et al. 2021).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, FloatDistribution, IntDistribution
from optuna.trial import FrozenTrial, TrialState

from search_spaces.space import Prior

_FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
_DRAWS = 100  # tries at a draw inside the bounds before the belief is clipped to them


class Mixture(optuna.samplers.BaseSampler):
    """Trial n's parameters in ``names`` (all when None) come from ``other`` with chance ``chance(n)`` (n: the
    trials finished so far), the rest, and every other trial's, from ``base``."""

    def __init__(self, base: optuna.samplers.BaseSampler, *, other: optuna.samplers.BaseSampler,
                 chance: Callable[[int], float], names: Collection[str] | None = None, seed: int | None) -> None:
        self._base, self._other, self._chance = base, other, chance
        self._names = None if names is None else frozenset(names)
        self._rng = np.random.RandomState(seed)
        self._by_other: dict[int, bool] = {}  # trial number → drawn (in part) by ``other``

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        space = self._base.infer_relative_search_space(study, trial)
        if not self._drawn_by_other(study, trial):
            return space
        return {} if self._names is None else {name: dist for name, dist in space.items() if name not in self._names}

    def sample_relative(self, study: optuna.Study, trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        return self._base.sample_relative(study, trial, search_space)

    def sample_independent(self, study: optuna.Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        mine = self._names is None or param_name in self._names
        sampler = self._other if mine and self._drawn_by_other(study, trial) else self._base
        return sampler.sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self._base.before_trial(study, trial)

    def after_trial(self, study: optuna.Study, trial: FrozenTrial, state: TrialState, values: Any) -> None:
        self._base.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self._base.reseed_rng()
        self._other.reseed_rng()
        self._rng.seed()

    def _drawn_by_other(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        if trial.number not in self._by_other:
            finished = len(study.get_trials(deepcopy=False, states=_FINISHED))
            self._by_other[trial.number] = bool(self._rng.random_sample() < self._chance(finished))
        return self._by_other[trial.number]


class PriorDraws(optuna.samplers.BaseSampler):
    """Draws each parameter from its prior (the ``other`` of a prior mixture)."""

    def __init__(self, priors: Mapping[str, Prior], *, seed: int | None) -> None:
        self._priors = dict(priors)
        self._rng = np.random.RandomState(seed)

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return {}

    def sample_relative(self, study: optuna.Study, trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        return {}

    def sample_independent(self, study: optuna.Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        return draw(self._priors[param_name], param_distribution, rng=self._rng)

    def reseed_rng(self) -> None:
        self._rng.seed()


class _Constant:
    # Classes, not lambdas: Tune pickles the searcher, and its sampler, into the experiment's checkpoint.
    def __init__(self, chance: float) -> None:
        self.chance = chance

    def __call__(self, finished: int) -> float:
        return self.chance


class _Decaying:
    def __init__(self, weight: float) -> None:
        self.weight = weight

    def __call__(self, finished: int) -> float:
        return self.weight / (self.weight + finished)


def with_mixtures(base: optuna.samplers.BaseSampler, *, priors: Mapping[str, Prior], prior_weight: float,
                  random_fraction: float, seed: int | None) -> optuna.samplers.BaseSampler:
    """``base`` with the random share and the priors mixed in (either may be absent)."""
    sampler = base
    if random_fraction > 0:
        sampler = Mixture(sampler, other=optuna.samplers.RandomSampler(seed=_stream(seed, 1)),
                          chance=_Constant(random_fraction), seed=_stream(seed, 2))
    if priors:
        sampler = Mixture(sampler, other=PriorDraws(priors, seed=_stream(seed, 3)), names=priors,
                          chance=_Decaying(prior_weight), seed=_stream(seed, 4))
    return sampler


def _stream(seed: int | None, number: int) -> int | None:
    # Each mixture draws from its own stream: seeded with the sweep's seed itself, the random share's
    # RandomSampler replayed TPE's own start-up draws (TPE's is seeded with it too), so half the early trials
    # re-ran configs already tried.
    return None if seed is None else int(np.random.SeedSequence([seed, number]).generate_state(1)[0])


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
        value = min(low + round((value - low) / step) * step, high)
    return round(value) if isinstance(distribution, IntDistribution) else float(value)
