"""Pydantic's validation errors as one sentence per field of the sweep file: the field as the user wrote it,
what is allowed, the value given, and "did you mean" for near misses."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from search_spaces.space import Choice, IntRange, LogUniform, Tied, Uniform
from sweeps.config.method_checks import other_method_hint
from sweeps.core.words import did_you_mean
from sweeps.spec import METHODS, TAGGED_SECTIONS, SweepSpec

DISTRIBUTIONS: dict[str, type[BaseModel]] = {
    get_args(model.model_fields["type"].annotation)[0]: model for model in (LogUniform, Uniform, IntRange, Choice, Tied)
}
DISTRIBUTION_TAGS = tuple(DISTRIBUTIONS)
# The key that picks the member of each tagged union in the file.
_DISCRIMINATORS = {"search_space": "type", **{section: tag for section, (tag, _) in TAGGED_SECTIONS.items()}}
# What a pydantic error type allows, as a noun phrase filled from the error's ``ctx``.
_ALLOWED = {
    "int_parsing": "an integer", "int_type": "an integer", "int_from_float": "a whole number",
    "float_parsing": "a number", "float_type": "a number", "bool_parsing": "true or false",
    "bool_type": "true or false", "string_type": "a string", "finite_number": "a finite number",
    "list_type": "a list", "dict_type": "a mapping",
    "model_type": "a mapping of keys", "model_attributes_type": "a mapping of keys",
    "greater_than": "> {gt}", "greater_than_equal": ">= {ge}", "less_than": "< {lt}", "less_than_equal": "<= {le}",
    "literal_error": "one of {expected}", "union_tag_invalid": "one of {expected_tags}",
    "too_short": "a list of at least {min_length} item(s)",
}


def validation_problems(error: ValidationError, raw: dict[str, Any]) -> list[str]:
    """One line per field: the alternatives of a union (``[q_proj] or all-linear``) are joined by "or"."""
    allowed: dict[tuple[str, str], list[str]] = {}
    for item in error.errors():
        field, rule, got = _describe(item, raw)
        rules = allowed.setdefault((field, got), [])
        if rule not in rules:  # a union's int and float members both want a finite number
            rules.append(rule)
    return [f"{field}: {_either(rules)}{got}" for (field, got), rules in allowed.items()]


def _either(requirements: list[str]) -> str:
    return " or ".join([requirements[0], *(text.removeprefix("must be ") for text in requirements[1:])])


def _describe(item: dict[str, Any], raw: dict[str, Any]) -> tuple[str, str, str]:
    """``(field, what is allowed, ", but got <value>")`` for one pydantic error."""
    location, value = _locate(item, raw)
    field = ".".join(str(part) for part in location)
    if item["type"] == "extra_forbidden":
        allowed = _allowed_keys(location[:-1], raw)
        hint = did_you_mean(str(location[-1]), options=allowed)
        method = _value_at(raw, ["method", "name"]) if location[:1] == ["method"] else None
        hint += other_method_hint(field, method=method) if isinstance(method, str) and method in METHODS else ""
        return field, f"unknown key{hint} (allowed: {', '.join(allowed) or 'none'})", ""
    if item["type"] in ("missing", "union_tag_not_found"):
        return field, _missing_message(location, raw), ""
    if item["type"] not in _ALLOWED:
        message = item["msg"].removeprefix("Value error, ")
        return field, message, "" if "but got" in message else f", but got {value!r}"
    options = _options(item)
    return field, requirement(item), f", but got {value!r}{did_you_mean(str(value), options=options)}"


def requirement(item: dict[str, Any]) -> str:
    """What a pydantic error of a type in :data:`_ALLOWED` says is allowed: ``must be >= 1``."""
    allowed = _ALLOWED[item["type"]].format(**item.get("ctx", {}))
    return f"must be {allowed.removeprefix('one of ') if len(_options(item)) == 1 else allowed}"


def _options(item: dict[str, Any]) -> list[str]:
    """The names a literal or tagged-union error allows."""
    context = item.get("ctx", {})
    return re.findall(r"'([^']*)'", str(context.get("expected", context.get("expected_tags", ""))))


def _locate(item: dict[str, Any], raw: dict[str, Any]) -> tuple[list[Any], Any]:
    """The error's location in the sweep file, and the value there. Pydantic puts the name of a union's
    member in the location (``search_space.<param>.loguniform.low``, ``target_modules.list[str]``): those
    parts are not in the file and are dropped."""
    location = list(item["loc"])
    if item["type"] in ("union_tag_invalid", "union_tag_not_found"):
        location.append(_DISCRIMINATORS.get(str(location[0]), "type"))
    kept, node = [], raw
    for index, part in enumerate(location):
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            # A field the file leaves out is still named: it is missing, or its default broke a rule.
            if index == len(location) - 1 and (item["type"] in ("missing", "union_tag_not_found")
                                               or str(part) in getattr(_model_at(kept, raw), "model_fields", {})):
                kept.append(part)
            continue
        kept.append(part)
    return kept, node


def _missing_message(location: Sequence[Any], raw: dict[str, Any]) -> str:
    if location[:1] == ["search_space"] and location[-1] == "type":
        return f"required field is missing (one of {', '.join(DISTRIBUTION_TAGS)})"
    section = _model_at(location, raw)
    if section is not None:
        needed = [name for name, field in section.model_fields.items() if field.is_required()]
        dotted = ".".join(str(part) for part in location)
        return f"required section is missing; give at least {', '.join(f'{dotted}.{name}' for name in needed)}"
    model = _model_at(location[:-1], raw)
    field = model.model_fields.get(str(location[-1])) if model else None
    help_text = f" ({field.description})" if field and field.description else ""
    return f"required field is missing{help_text}"


def _model_at(location: Sequence[Any], raw: dict[str, Any]) -> type[BaseModel] | None:
    """The model that validates the mapping at ``location``, if one does."""
    model: type[BaseModel] | None = SweepSpec
    parts = list(location)
    if parts[:1] == ["search_space"]:
        if len(parts) < 2:
            return None
        model = DISTRIBUTIONS.get(str(_value_at(raw, [*parts[:2], "type"])))
        parts = parts[2:]
    for index, key in enumerate(parts):
        if model is SweepSpec and key in TAGGED_SECTIONS:
            # A tagged union: the section is the model of the member the file names (method.name, task.type).
            tag, members = TAGGED_SECTIONS[key]
            model = members.get(str(_value_at(raw, [*parts[:index + 1], tag]) or next(iter(members))))
            continue
        annotation = model.model_fields[str(key)].annotation if model and str(key) in model.model_fields else None
        model = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    return model


def _value_at(raw: Any, location: Sequence[Any]) -> Any:
    for key in location:
        try:
            raw = raw[key]
        except (KeyError, IndexError, TypeError):
            return None
    return raw


def _allowed_keys(location: Sequence[Any], raw: dict[str, Any]) -> list[str]:
    model = _model_at(location, raw)
    return sorted(model.model_fields) if model else []
