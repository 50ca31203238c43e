"""The search space of a spec: its preset with the file's own entries on top, and which spec paths a space
may set for the chosen method and task."""

from __future__ import annotations

from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

from pydantic.fields import FieldInfo

from search_spaces.presets import preset_space
from search_spaces.space import SearchSpace
from sweeps.spec import TAGGED_SECTIONS, SweepSpec

# Sections whose scalar fields a search space may set.
SEARCHABLE_SECTIONS = ("training", "method", "task")


def searchable_paths(*, method: str = "lora", task: str = "causal_lm") -> dict[str, str]:
    """Dotted spec paths a search space may set when ``method.name`` is ``method`` and ``task.type`` is
    ``task``, with their kind (float, int or str): that method's and that task's own numeric fields, and the
    training ones."""
    return {path: _scalar_kind(field.annotation) for path, field in searchable_fields(method=method, task=task).items()}


def searchable_fields(*, method: str = "lora", task: str = "causal_lm") -> dict[str, FieldInfo]:
    """The spec fields behind :func:`searchable_paths`, by dotted path: their types and bounds are the rules
    every value a search space gives them must keep."""
    fields = {}
    tags = {"method": method, "task": task}
    for section in SEARCHABLE_SECTIONS:
        tagged = TAGGED_SECTIONS.get(section)
        model = tagged[1][tags[section]] if tagged else SweepSpec.model_fields[section].annotation
        fields.update({f"{section}.{name}": field for name, field in model.model_fields.items()
                       if _scalar_kind(field.annotation)})
    return fields


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
    """The preset's space (if any) with the file's own entries on top."""
    return {**(preset_space(spec.search.preset) if spec.search.preset else {}), **spec.search_space}


