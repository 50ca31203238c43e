"""Every value a search space can produce must keep the rules of the spec field it sets (a LoRA rank >= 1, a
batch size >= 1, a learning rate > 0, a scheduler name the field knows), or its trial fails mid-sweep.

Checked on the space's bounds and choices, not by sampling, against the field's own pydantic constraints:
the rule is written once, on the field. Part of :func:`sweeps.config.checks.cross_check`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from search_spaces.optuna_space import tied_value
from search_spaces.space import Choice, IntRange, ParamSpec, SearchSpace, Tied
from sweeps.config.messages import requirement
from sweeps.core.values import is_number

# The pydantic errors that are a field's own bounds; a value of the wrong type is check_space's to report.
BOUND_ERRORS = frozenset({"greater_than", "greater_than_equal", "less_than", "less_than_equal", "literal_error"})


def space_bound_problems(space: SearchSpace, *, fields: Mapping[str, FieldInfo]) -> list[str]:
    """One sentence per searched parameter that can produce a value its field (``fields``: dotted path →
    the spec's field) refuses, naming the first such value."""
    problems = []
    for name, param in space.items():
        field = fields.get(name)
        if field is None:
            continue  # not a searchable path: check_space says so
        adapter = TypeAdapter(Annotated[field.annotation, field])
        for value in extreme_values(param, space=space):
            broken = _broken_bound(adapter, value)
            if broken:
                problems.append(f"search_space.{name}: every value {broken} (the rule of {name}), but it can "
                                f"sample {value!r}")
                break
    return problems


def extreme_values(param: ParamSpec, *, space: SearchSpace) -> list[Any]:
    """The values of ``param`` that decide whether all of them keep a bound: every choice, a range's ends
    (the highest value on its step grid), a tied parameter's products of its target's extremes and factors."""
    if isinstance(param, Choice):
        return list(param.values)
    if isinstance(param, Tied):
        target = space.get(param.to)
        if target is None or isinstance(target, Tied):
            return []  # a broken tie is check_space's to report
        return [tied_value(factor=factor, base=base) for base in extreme_values(target, space=space)
                if is_number(base) for factor in param.factors]
    if isinstance(param, IntRange):
        return [param.low, param.low + (param.high - param.low) // param.step * param.step]
    return [param.low, param.high]


def _broken_bound(adapter: TypeAdapter, value: Any) -> str | None:
    try:
        adapter.validate_python(value)
    except ValidationError as error:
        return next((requirement(item) for item in error.errors() if item["type"] in BOUND_ERRORS), None)
    return None
