"""The search space of a spec: its preset with the file's own entries on top, each method field conditioned on
the methods that have it when ``method.name`` is searched, and which spec paths a space may set."""

from __future__ import annotations

from collections.abc import Sequence
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

from pydantic.fields import FieldInfo

from search_spaces.presets import preset_space
from search_spaces.space import Choice, SearchSpace
from sweeps.spec import METHODS, TAGGED_SECTIONS, SweepSpec

# Sections whose scalar fields a search space may set.
SEARCHABLE_SECTIONS = ("training", "method", "task")


# Paths that pick what a trial is, rather than tune it: the method (its own fields then sampled only for it,
# see effective_space) and the base model folder.
CHOICE_PATHS = {"method.name": "str", "model.path": "str"}


def searchable_paths(*, method: str = "lora", task: str = "causal_lm", methods: Sequence[str] = ()) -> dict[str, str]:
    """Dotted spec paths a search space may set when ``method.name`` is ``method`` (or any of ``methods``, when it
    is searched) and ``task.type`` is ``task``, with their kind (float, int or str): those methods' and that
    task's own numeric fields, the training ones, and the method and the model themselves."""
    fields = searchable_fields(method=method, task=task, methods=methods)
    return {**CHOICE_PATHS, **{path: _scalar_kind(field.annotation) for path, field in fields.items()}}


def searchable_fields(*, method: str = "lora", task: str = "causal_lm",
                      methods: Sequence[str] = ()) -> dict[str, FieldInfo]:
    """The spec fields behind :func:`searchable_paths` (the method and model choices aside), by dotted path:
    their types and bounds are the rules every value a search space gives them must keep."""
    fields: dict[str, FieldInfo] = {}
    for section in SEARCHABLE_SECTIONS:
        tagged = TAGGED_SECTIONS.get(section)
        if section == "method":
            models = [METHODS[name] for name in (methods or [method]) if name in METHODS]
        else:
            models = [tagged[1][task] if tagged else SweepSpec.model_fields[section].annotation]
        for model in models:
            for name, field in model.model_fields.items():
                if _scalar_kind(field.annotation):
                    fields.setdefault(f"{section}.{name}", field)
    return fields


def candidate_methods(spec: SweepSpec, space: SearchSpace) -> list[str]:
    """The methods a trial can have: the searched ``method.name``'s choices, else the spec's own."""
    searched = space.get("method.name")
    if isinstance(searched, Choice):
        return [value for value in searched.values if isinstance(value, str)]
    return [spec.method.name]


def _scalar_kind(annotation: Any) -> str | None:
    options = [option for option in get_args(annotation) if option is not type(None)]
    option = options[0] if get_origin(annotation) in (Union, UnionType) and len(options) == 1 else annotation
    if option in (float, int):
        return option.__name__
    # A Literal of several names (lr_scheduler) is a choice; a one-name Literal is a tag, not a knob.
    if get_origin(option) is Literal and len(get_args(option)) > 1:
        return "str"
    return None


def effective_space(spec: SweepSpec) -> SearchSpace:
    """The preset's space (if any) with the file's own entries on top. With ``method.name`` searched it comes
    first, and each ``method.<field>`` is sampled only ``when`` the chosen method has that field."""
    space = {**(preset_space(spec.search.preset) if spec.search.preset else {}), **spec.search_space}
    if not isinstance(space.get("method.name"), Choice):
        return space
    methods = candidate_methods(spec, space)
    ordered = {"method.name": space["method.name"], **{path: param for path, param in space.items()
                                                        if path != "method.name"}}
    for path, param in ordered.items():
        field = path.removeprefix("method.")
        if path.startswith("method.") and path != "method.name" and param.when is None:
            owners = [name for name in methods if name in METHODS and field in METHODS[name].model_fields]
            ordered[path] = param.model_copy(update={"when": {"method.name": owners}})
    return ordered


