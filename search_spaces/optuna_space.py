"""A search space as Optuna sees it: a define-by-run function, cross-parameter checks, a finite grid.

Optuna is imported for type checking only, so ``check_space`` stays cheap for ``finesweep validate``.

A tied parameter (``method.alpha`` tied to ``method.r``) is searched through its own categorical
parameter ``<name>.factor``; its value ``factor * <to>`` is computed, not sampled. An integer ``to``
times a factor that comes out whole stays an ``int`` (r=8, factor 2.0 → 16) so integer fields get
integers; anything else is a ``float``. Ray leaves the ``<name>.factor`` entries in a trial's
config: they are not spec fields, so apply only the space's keys to the spec.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from search_spaces.space import Choice, IntRange, LogUniform, ParamSpec, SearchSpace, Tied, Uniform
from sweeps.core.values import is_number
from sweeps.core.words import did_you_mean

if TYPE_CHECKING:
    import optuna

# Past this many, listing every searchable path buries the message.
_MAX_LISTED_PATHS = 25


def factor_name(name: str) -> str:
    """The Optuna parameter that carries a tied parameter's factor."""
    return f"{name}.factor"


def define_by_run(space: SearchSpace) -> Callable[[optuna.Trial], dict[str, Any]]:
    """A define-by-run function for Ray's ``OptunaSearch``: it suggests every parameter and returns
    the value of every key of ``space`` (tied ones computed from their factor)."""
    return _DefineByRun(space)


class _DefineByRun:
    # A class, not a closure: Tune checkpoints the searcher, and so this function, with plain pickle.
    def __init__(self, space: SearchSpace) -> None:
        for name, param in space.items():
            if isinstance(param, Tied) and (message := _tie_error(name, param, space)):
                raise ValueError(f"search_space.{name}: {message}")
        self._space = dict(space)

    def __call__(self, trial: optuna.Trial) -> dict[str, Any]:
        # Ray merges the returned dict over the suggested values, so returning the suggested ones too
        # is harmless there and makes the return value a complete config outside Ray.
        values: dict[str, Any] = {}
        for name, param in self._space.items():
            if not isinstance(param, Tied) and is_active(param, values):
                values[name] = _suggest(trial, name=name, param=param)
        for name, param in self._space.items():
            if isinstance(param, Tied) and is_active(param, values) and param.to in values:
                factor = trial.suggest_categorical(factor_name(name), param.factors)
                values[name] = tied_value(factor=factor, base=values[param.to])
        return values


def is_active(param: ParamSpec, values: Mapping[str, Any]) -> bool:
    """Whether ``param``'s ``when`` holds for the values sampled so far (always, without one)."""
    return param.when is None or all(name in values and values[name] in allowed
                                     for name, allowed in param.when.items())


def active_names(space: SearchSpace, point: Mapping[str, Any]) -> list[str]:
    """The parameters of ``space`` a trial with the values ``point`` samples (tied ones with their base)."""
    names = [name for name, param in space.items() if not isinstance(param, Tied) and is_active(param, point)]
    return names + [name for name, param in space.items()
                    if isinstance(param, Tied) and is_active(param, point) and param.to in names]


def tied_value(*, factor: float, base: float) -> int | float:
    """``factor * base``, as an int when ``base`` is an int and the product is whole."""
    value = factor * base
    return int(value) if _is_int(base) and float(value).is_integer() else value


def _suggest(trial: optuna.Trial, *, name: str, param: ParamSpec) -> Any:
    if isinstance(param, LogUniform):
        return trial.suggest_float(name, param.low, param.high, log=True)
    if isinstance(param, Uniform):
        return trial.suggest_float(name, param.low, param.high, step=param.step)
    if isinstance(param, IntRange):
        return trial.suggest_int(name, param.low, param.high, step=param.step, log=param.log)
    if isinstance(param, Choice):
        return trial.suggest_categorical(name, param.values)
    raise TypeError(f"cannot suggest a {param.type} parameter directly: {name}")


def distributions(space: SearchSpace, *, names: Collection[str] | None = None,
                  ) -> dict[str, optuna.distributions.BaseDistribution]:
    """The Optuna distribution of every parameter :func:`define_by_run` suggests (a tied one's factor under
    ``<name>.factor``), or of those in ``names``, for trials made outside a study (warm start)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    result: dict[str, optuna.distributions.BaseDistribution] = {}
    for name, param in space.items():
        if names is not None and name not in names:
            continue
        if isinstance(param, LogUniform):
            result[name] = FloatDistribution(param.low, param.high, log=True)
        elif isinstance(param, Uniform):
            result[name] = FloatDistribution(param.low, param.high, step=param.step)
        elif isinstance(param, IntRange):
            result[name] = IntDistribution(param.low, param.high, step=param.step, log=param.log)
        elif isinstance(param, Choice):
            result[name] = CategoricalDistribution(param.values)
        else:
            result[factor_name(name)] = CategoricalDistribution(param.factors)
    return result


def check_space(space: SearchSpace, *, searchable: Mapping[str, str]) -> list[tuple[str, str]]:
    """Every cross-parameter error in ``space`` as ``(field path, message)`` pairs.

    ``searchable`` maps each searchable spec path to its kind: ``float``, ``int`` or ``str``.
    """
    errors = []
    for name, param in space.items():
        fit = _fit_error(name, param, searchable=searchable, space=space)
        tie = _tie_error(name, param, space) if isinstance(param, Tied) else None
        errors += [(f"search_space.{name}", message) for message in (fit, tie) if message]
        errors += [(f"search_space.{name}.when", message) for message in _when_errors(name, param, space)]
    return errors


def _when_errors(name: str, param: ParamSpec, space: SearchSpace) -> list[str]:
    """A condition names an earlier choice parameter and values it can take."""
    earlier = list(space)[: list(space).index(name)]
    errors = []
    for other, allowed in (param.when or {}).items():
        target = space.get(other)
        if other not in earlier or not isinstance(target, Choice):
            choices = [key for key in earlier if isinstance(space[key], Choice)]
            errors.append(f"must name a `choice` parameter given before this one, but got {other!r}; earlier "
                          f"choices: {', '.join(choices) or 'none'}")
        elif unknown := [value for value in allowed if value not in target.values]:
            errors.append(f"{other}: every value must be one of {target.values}, but got {unknown}")
    return errors


def _unknown_path_message(name: str, searchable: Mapping[str, str]) -> str:
    message = f"must be a searchable spec path, but got {name!r}{did_you_mean(name, options=searchable)}"
    if len(searchable) <= _MAX_LISTED_PATHS:
        message += f"; searchable: {', '.join(sorted(searchable))}"
    return message


def _fit_error(
    name: str, param: ParamSpec, *, searchable: Mapping[str, str], space: SearchSpace
) -> str | None:
    kind = searchable.get(name)
    if kind is None:
        return _unknown_path_message(name, searchable)
    if kind == "int":
        if isinstance(param, (LogUniform, Uniform)):
            return f"an integer field takes int, choice or tied, but got {param.type}"
        if isinstance(param, Choice) and not all(map(_is_int, param.values)):
            return f"an integer field's choice values must be integers, but got {param.values}"
        if isinstance(param, Tied) and not _ties_to_whole_numbers(param, space):
            return (
                "an integer field must be tied to an integer parameter by whole factors, "
                f"but got factors {param.factors} for {param.to!r}"
            )
    if kind == "str" and not (isinstance(param, Choice) and all(isinstance(v, str) for v in param.values)):
        return f"a text field takes a choice of strings, but got {describe_values(param)}"
    if kind == "float" and isinstance(param, Choice) and not all(map(is_number, param.values)):
        return f"a numeric field's choice values must be numbers, but got {param.values}"
    return None


def _ties_to_whole_numbers(param: Tied, space: SearchSpace) -> bool:
    target = space.get(param.to)
    if target is None or isinstance(target, Tied):
        return True  # a broken `to` is reported once, by _tie_error
    integer_target = isinstance(target, IntRange) or (
        isinstance(target, Choice) and all(map(_is_int, target.values))
    )
    return integer_target and all(float(factor).is_integer() for factor in param.factors)


def _tie_error(name: str, param: Tied, space: SearchSpace) -> str | None:
    target = space.get(param.to)
    if target is None:
        reason = f"but got {param.to!r}"
    elif isinstance(target, Tied):
        reason = f"but {param.to!r} is itself tied"
    elif not _is_numeric(target):
        reason = f"but {param.to!r} takes {describe_values(target)}"
    else:
        return None
    searched = sorted(other for other, spec in space.items() if other != name and _is_numeric(spec))
    listing = ", ".join(searched) or "none"
    return f"`to` must name another searched numeric parameter, {reason}; searched: {listing}"


def _is_numeric(param: ParamSpec) -> bool:
    if isinstance(param, Choice):
        return all(map(is_number, param.values))
    return isinstance(param, (LogUniform, Uniform, IntRange))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def grid_of(space: SearchSpace) -> dict[str, list[Any]]:
    """The finite grid for Optuna's ``GridSampler``: choice values, int ranges, stepped uniforms, and
    each tied parameter's factors under ``<name>.factor``."""
    grid: dict[str, list[Any]] = {}
    infinite = []
    conditional = [name for name, param in space.items() if param.when is not None]
    if conditional:
        raise ValueError(f"grid search needs every parameter in every trial, but these are conditional (when): "
                         f"{', '.join(conditional)}; use tpe or random")
    for name, param in space.items():
        if isinstance(param, Tied):
            grid[factor_name(name)] = list(param.factors)
        elif isinstance(param, Choice):
            grid[name] = list(param.values)
        elif isinstance(param, IntRange):
            grid[name] = list(range(param.low, param.high + 1, param.step))
        elif isinstance(param, Uniform) and param.step is not None:
            grid[name] = _stepped(low=param.low, high=param.high, step=param.step)
        else:
            infinite.append(name)
    if infinite:
        raise ValueError(
            f"grid search needs finite parameters (choice, int, tied, or uniform with step), "
            f"but these are continuous: {', '.join(infinite)}"
        )
    return grid


def _stepped(*, low: float, high: float, step: float) -> list[float]:
    # Decimal, because float division miscounts the steps (0.3 / 0.1 == 2.9999999999999996) and float
    # sums leak noise like 0.30000000000000004 into trial configs. Optuna drops a last partial step too.
    start, span, stride = Decimal(str(low)), Decimal(str(high)) - Decimal(str(low)), Decimal(str(step))
    return [float(start + i * stride) for i in range(int(span // stride) + 1)]


def contains(param: ParamSpec, value: Any) -> bool:
    """Whether ``value`` is one ``param`` can take (tied parameters have no values of their own)."""
    if isinstance(param, Choice):
        # `True == 1` in Python, but a bool is not a choice of ints, nor the reverse.
        return any(
            value == choice and isinstance(value, bool) == isinstance(choice, bool) for choice in param.values
        )
    if isinstance(param, IntRange):
        return _is_int(value) and param.low <= value <= param.high and (value - param.low) % param.step == 0
    if not isinstance(param, (LogUniform, Uniform)) or not is_number(value):
        return False
    if isinstance(param, Uniform) and param.step is not None:
        steps = (value - param.low) / param.step
        # Optuna's own tolerance for "on the step grid".
        return param.low <= value <= param.high and abs(steps - round(steps)) < 1e-8
    return param.low <= value <= param.high


def describe_values(param: ParamSpec) -> str:
    """The values ``param`` can take, for messages such as ``must be <this>, but got 3``."""
    if isinstance(param, Choice):
        return f"one of {param.values}"
    if isinstance(param, Tied):
        return f"{param.to} times one of {param.factors}"
    kind = "an integer" if isinstance(param, IntRange) else "a number"
    step = getattr(param, "step", None)
    steps = f" on steps of {step} from {param.low}" if step not in (None, 1) else ""
    return f"{kind} in [{param.low}, {param.high}]{steps}"
