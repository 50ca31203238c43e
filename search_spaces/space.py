"""The distributions a sweep file can give a hyperparameter, checked the way Optuna checks its own.

A space maps a dotted path into the sweep spec (``training.learning_rate``, ``method.r``) to one of
these. Keys are spec paths so that any numeric training or method field is searchable without a
per-parameter list, and a trial's values are applied back onto the same typed spec.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Scalar = bool | int | float | str


class _Distribution(BaseModel):
    # YAML reads `.inf` and `.nan` as floats; no bound, value or factor may be either.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    when: dict[str, list[Scalar]] | None = Field(
        default=None, description="Sample this parameter only when the named earlier `choice` parameters took one "
        "of the listed values (a conditional space: e.g. a method's own fields under a searched method.name).")


class Prior(BaseModel):
    """A belief about where good values lie (πBO, PriorBand): the sampler draws from it early and forgets it
    as trials report (see ``search.prior_weight``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: float = Field(description="The most likely good value; inside [low, high].")
    spread: float = Field(gt=0, description="One standard deviation of the belief: a factor > 1 for a log-scale "
                          "parameter (2 = half to double the mode), a width in the parameter's units otherwise.")
    source: str | None = Field(default=None, description="Where the belief comes from (a paper, a past sweep).")


def _prior_inside(prior: Prior | None, *, low: float, high: float, log: bool) -> None:
    if prior is None:
        return
    if not low <= prior.mode <= high:
        raise ValueError(f"`low <= prior.mode <= high` must hold, but got (low={low}, prior.mode={prior.mode}, "
                         f"high={high})")
    if log and prior.spread <= 1:
        raise ValueError(f"a log-scale parameter's prior.spread is a factor, so `spread > 1` must hold, but got "
                         f"(spread={prior.spread}); e.g. 2 for half to double the mode")


class LogUniform(_Distribution):
    """A float sampled uniformly in log space: the right prior for learning rates."""

    type: Literal["loguniform"]
    low: float = Field(description="Smallest value; must be > 0.")
    high: float = Field(description="Largest value; must be > low.")
    prior: Prior | None = Field(default=None, description="Where good values likely lie (optional).")

    @model_validator(mode="after")
    def _bounds(self) -> LogUniform:
        if self.low <= 0:
            raise ValueError(f"`low > 0` must hold for loguniform, but got (low={self.low}); use uniform instead")
        if not self.low < self.high:
            raise ValueError(f"`low < high` must hold, but got (low={self.low}, high={self.high})")
        _prior_inside(self.prior, low=self.low, high=self.high, log=True)
        return self


class Uniform(_Distribution):
    """A float sampled uniformly between low and high, optionally on a grid of ``step``."""

    type: Literal["uniform"]
    low: float = Field(description="Smallest value.")
    high: float = Field(description="Largest value; must be > low.")
    step: float | None = Field(default=None, description="Grid spacing (optional, > 0).")
    prior: Prior | None = Field(default=None, description="Where good values likely lie (optional).")

    @model_validator(mode="after")
    def _bounds(self) -> Uniform:
        if not self.low < self.high:
            raise ValueError(f"`low < high` must hold, but got (low={self.low}, high={self.high})")
        if self.step is not None and self.step <= 0:
            raise ValueError(f"`step > 0` must hold, but got (step={self.step})")
        _prior_inside(self.prior, low=self.low, high=self.high, log=False)
        return self


class IntRange(_Distribution):
    """An integer in [low, high] (both included), optionally log-spaced."""

    type: Literal["int"]
    low: int = Field(description="Smallest value (included).")
    high: int = Field(description="Largest value (included); must be >= low.")
    step: int = Field(default=1, description="Spacing between values (>= 1; must be 1 when log is true).")
    log: bool = Field(default=False, description="Sample in log space (needs low >= 1).")
    prior: Prior | None = Field(default=None, description="Where good values likely lie (optional).")

    @model_validator(mode="after")
    def _bounds(self) -> IntRange:
        if not self.low <= self.high:
            raise ValueError(f"`low <= high` must hold, but got (low={self.low}, high={self.high})")
        if self.step < 1:
            raise ValueError(f"`step >= 1` must hold, but got (step={self.step})")
        if self.log and (self.low < 1 or self.step != 1):
            raise ValueError(
                f"log=true needs `low >= 1` and `step == 1`, but got (low={self.low}, step={self.step})"
            )
        _prior_inside(self.prior, low=self.low, high=self.high, log=self.log)
        return self


class Choice(_Distribution):
    """One of a list of values (categorical): batch sizes, ranks, scheduler names."""

    type: Literal["choice"]
    values: list[Scalar] = Field(min_length=1, description="The values to choose from (non-empty, distinct).")

    @model_validator(mode="after")
    def _distinct(self) -> Choice:
        if len(set(map(repr, self.values))) != len(self.values):
            raise ValueError(f"values must be distinct, but got {self.values}")
        return self


class Tied(_Distribution):
    """A value tied to another searched parameter: ``value = factor * <to>``, the factor chosen from
    ``factors``. The usual use is LoRA alpha as a multiple of the rank (alpha = k·r)."""

    type: Literal["tied"]
    to: str = Field(description="The searched parameter this one is a multiple of, e.g. method.r.")
    factors: list[float] = Field(min_length=1, description="Multipliers to choose from (each > 0).")

    @model_validator(mode="after")
    def _positive(self) -> Tied:
        if any(factor <= 0 for factor in self.factors):
            raise ValueError(f"every factor must be > 0, but got {self.factors}")
        return self


ParamSpec = Annotated[LogUniform | Uniform | IntRange | Choice | Tied, Field(discriminator="type")]
SearchSpace = dict[str, ParamSpec]
