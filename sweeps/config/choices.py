"""Checks of the method and the base model a sweep trains, each one fixed or searched (``method.name`` and
``model.path`` as choices): every method the space can pick must suit the rest of the spec, a method field may be
sampled only for methods that have it, and every model it can pick must exist. (``check_space`` refuses a method
field that none of the methods has.)"""

from __future__ import annotations

from search_spaces.space import Choice, SearchSpace
from sweeps.config.method_checks import method_problems
from sweeps.config.model_checks import model_problems
from sweeps.core.words import did_you_mean
from sweeps.spec import METHODS, SweepSpec


def choice_problems(spec: SweepSpec, *, space: SearchSpace, check_machine: bool) -> list[str]:
    """Every problem of the method (each method a searched ``method.name`` can pick) and of a searched
    ``model.path``; ``check_machine`` as for :func:`method_problems`."""
    return _method_choice_problems(spec, space=space, check_machine=check_machine) + _model_problems(
        spec, space=space, check_machine=check_machine)


def _method_choice_problems(spec: SweepSpec, *, space: SearchSpace, check_machine: bool) -> list[str]:
    searched = space.get("method.name")
    if not isinstance(searched, Choice):  # not searched, or not a choice (check_space says so)
        return method_problems(spec, space=space, check_machine=check_machine)
    unknown = [value for value in searched.values if value not in METHODS]
    if unknown:
        hint = did_you_mean(str(unknown[0]), options=METHODS)
        return [f"search_space.method.name: every value must be one of {', '.join(METHODS)}, but got "
                f"{', '.join(map(repr, unknown))}{hint}"]
    problems = []
    for name in searched.values:
        variant = spec.with_params({"method.name": name})
        problems += [f"{problem} (when search_space.method.name is {name!r})"
                     for problem in method_problems(variant, space=space, check_machine=check_machine)]
    return problems + _condition_problems(space)


def _condition_problems(space: SearchSpace) -> list[str]:
    """A method field's ``when`` must pick only methods that have the field."""
    problems = []
    for path, param in space.items():
        field = path.removeprefix("method.")
        allowed = (param.when or {}).get("method.name", []) if path.startswith("method.") else []
        lacking = [name for name in allowed if name in METHODS and field not in METHODS[name].model_fields]
        if lacking:
            problems.append(f"search_space.{path}.when: method.name {', '.join(map(repr, lacking))} has no field "
                            f"{field!r}, so {path} cannot be sampled for it; keep only methods that have it")
    return problems


def _model_problems(spec: SweepSpec, *, space: SearchSpace, check_machine: bool) -> list[str]:
    """The pre-flight of :func:`model_problems` for each model folder a searched ``model.path`` can pick."""
    models = space.get("model.path")
    if not check_machine or not isinstance(models, Choice):
        return []
    problems = []
    for value in models.values:
        variant = spec.with_params({"model.path": value})
        problems += [f"search_space.{problem} (when search_space.model.path is {str(value)!r})"
                     for problem in model_problems(variant)]
    return problems
