"""Checks of a searched ``method.name`` or ``model.path``: every method it can pick must suit the rest of the
spec, and every model it can pick must exist (check_space refuses a method field none of the methods has)."""

from __future__ import annotations

from pathlib import Path

from search_spaces.space import Choice, SearchSpace
from sweeps.config.method_checks import method_problems
from sweeps.config.space import candidate_methods
from sweeps.spec import METHODS, SweepSpec


def choice_problems(spec: SweepSpec, *, space: SearchSpace, check_machine: bool) -> list[str]:
    """Every problem of the searched choices of ``space`` (none when neither is searched)."""
    problems = _method_problems(spec, space=space, check_machine=check_machine) if "method.name" in space else []
    models = space.get("model.path")
    if check_machine and isinstance(models, Choice):
        problems += [f"search_space.model.path: every value must be a Hugging Face model directory (with "
                     f"config.json), but {value!r} is not" for value in models.values
                     if not (Path(str(value)) / "config.json").is_file()]
    return problems


def _method_problems(spec: SweepSpec, *, space: SearchSpace, check_machine: bool) -> list[str]:
    methods = candidate_methods(spec, space)
    unknown = [name for name in methods if name not in METHODS]
    if unknown or not isinstance(space["method.name"], Choice):
        return [f"search_space.method.name: must be a choice of {', '.join(METHODS)}, but got {unknown or 'no choice'}"]
    problems = []
    for name in methods:
        variant = spec.with_params({"method.name": name})
        problems += [f"{problem} (when search_space.method.name is {name!r})"
                     for problem in method_problems(variant, space=space, check_machine=check_machine)]
    return problems
