"""Read a sweep file, apply ``key.sub=value`` overrides, and validate everything before anything starts.

Every problem is collected and raised once as :class:`SpecError`, each line naming the file, the field,
the value and what is allowed, so a user fixes the whole file in one pass.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from itertools import islice
from pathlib import Path
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from search_spaces.optuna_space import grid_of
from search_spaces.presets import preset_space
from search_spaces.space import Choice, IntRange, LogUniform, SearchSpace, Tied, Uniform
from sweeps.errors import SpecError
from sweeps.spec import SweepSpec

# Sections whose scalar fields a search space may set, and the metrics each task reports.
SEARCHABLE_SECTIONS = ("training", "method")
TASK_METRICS = {"causal_lm": {"eval_loss": "min", "perplexity": "min"}}
DATA_SUFFIXES = (".jsonl", ".json", ".csv", ".parquet")
DISTRIBUTIONS: dict[str, type[BaseModel]] = {
    get_args(model.model_fields["type"].annotation)[0]: model for model in (LogUniform, Uniform, IntRange, Choice, Tied)
}
DISTRIBUTION_TAGS = tuple(DISTRIBUTIONS)
# What a pydantic error type allows, as a noun phrase filled from the error's ``ctx``.
_ALLOWED = {
    "int_parsing": "an integer", "int_type": "an integer", "int_from_float": "a whole number",
    "float_parsing": "a number", "float_type": "a number", "bool_parsing": "true or false",
    "bool_type": "true or false", "string_type": "a string", "list_type": "a list", "dict_type": "a mapping",
    "model_type": "a mapping of keys", "model_attributes_type": "a mapping of keys",
    "greater_than": "> {gt}", "greater_than_equal": ">= {ge}", "less_than": "< {lt}", "less_than_equal": "<= {le}",
    "literal_error": "one of {expected}", "union_tag_invalid": "one of {expected_tags}",
    "too_short": "a list of at least {min_length} item(s)",
}


class _YamlLoader(yaml.SafeLoader):
    """PyYAML's safe loader, but ``1e-4`` is a float as in YAML 1.2 (YAML 1.1 reads it as a string unless
    written ``1.0e-4``): a learning rate in an initial point or a choice must not silently become text."""


_YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"), list("-+0123456789")
)


def load_spec(path: Path | str, overrides: Sequence[str] = (), *, check_files: bool = True,
              metrics: Mapping[str, str] | None = None) -> SweepSpec:
    """The validated spec of the sweep file at ``path`` with ``overrides`` applied; relative paths in it
    are resolved against the file's folder. Raises :class:`SpecError` listing every problem.

    ``check_files=False`` skips checking that the model and data exist here (replay, or a spec whose
    paths exist only on the cluster). ``metrics`` (name → mode) replaces the task's metrics when the
    trials report others: a replayed curves file's."""
    path = Path(path)
    source = str(path)
    raw = _read_mapping(path)
    problems = apply_overrides(raw, overrides)
    raw = _with_paths_resolved(raw, base_dir=path.resolve().parent)
    spec = None
    try:
        spec = SweepSpec.model_validate(raw)
    except ValidationError as error:
        problems += _validation_problems(error, raw)
    if spec is not None:
        problems += cross_check(spec, check_files=check_files, metrics=metrics)
    if problems:
        raise SpecError(source, problems)
    return spec


def _read_mapping(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_YamlLoader)
    except FileNotFoundError:
        raise SpecError(str(path), ["file not found"]) from None
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise SpecError(str(path), [f"cannot be read: {reason}"]) from None
    except yaml.YAMLError as error:
        raise SpecError(str(path), [f"not valid YAML: {_yaml_problem(error)}"]) from None
    if not isinstance(raw, dict):
        got = "an empty file" if raw is None else f"a {type(raw).__name__}"
        raise SpecError(str(path), [f"must be a mapping of sections (name:, model:, dataset:, ...), but got {got}"])
    return raw


def _yaml_problem(error: yaml.YAMLError) -> str:
    # PyYAML's own text spans several lines and names the stream "<unicode string>", not the file.
    if not isinstance(error, yaml.MarkedYAMLError) or error.problem_mark is None:
        return str(error).replace("\n", " ")
    mark = error.problem_mark
    where = f"{error.problem} at line {mark.line + 1}, column {mark.column + 1}"
    if error.context and error.context_mark is not None:
        where += f" ({error.context} from line {error.context_mark.line + 1}, column {error.context_mark.column + 1})"
    return where


def apply_overrides(raw: dict[str, Any], overrides: Sequence[str]) -> list[str]:
    """Set each ``a.b.c=value`` (value parsed as YAML) in ``raw``; returns the malformed ones. A search-space
    parameter is addressed by its full name: ``search_space.training.learning_rate.high=1e-3``."""
    problems = []
    for override in overrides:
        dotted, sep, text = override.partition("=")
        if not sep or not dotted:
            problems.append(f"override {override!r}: expected KEY=VALUE, e.g. search.num_trials=8")
            continue
        try:
            value = yaml.load(text, Loader=_YamlLoader) if text else ""
        except yaml.YAMLError as error:
            problems.append(f"override {override!r}: value is not valid YAML: {_yaml_problem(error)}")
            continue
        *parents, leaf = _override_keys(dotted)
        section = raw
        for key in parents:
            if not isinstance(section.get(key), dict):
                section[key] = {}
            section = section[key]
        section[leaf] = value
    return problems


def _override_keys(dotted: str) -> list[str]:
    # A search-space parameter's name holds a dot itself: search_space.training.learning_rate.low.
    keys = dotted.split(".")
    if keys[0] == "search_space" and len(keys) >= 3:
        return [keys[0], ".".join(keys[1:3]), *keys[3:]]
    return keys


def _with_paths_resolved(raw: dict[str, Any], *, base_dir: Path) -> dict[str, Any]:
    # The file is the user's frame of reference, not the shell's working directory.
    for section in ("model", "dataset"):
        block = raw.get(section)
        if isinstance(block, dict) and isinstance(block.get("path"), str):
            block["path"] = str((base_dir / Path(block["path"]).expanduser()).resolve())
    storage = raw.get("storage")
    if isinstance(storage, dict) and isinstance(storage.get("path"), str) and "://" not in storage["path"]:
        storage["path"] = str((base_dir / Path(storage["path"]).expanduser()).resolve())
    return raw


def _validation_problems(error: ValidationError, raw: dict[str, Any]) -> list[str]:
    """One line per field: the alternatives of a union (``[q_proj] or all-linear``) are joined by "or"."""
    allowed: dict[tuple[str, str], list[str]] = {}
    for item in error.errors():
        field, requirement, got = _describe(item, raw)
        allowed.setdefault((field, got), []).append(requirement)
    return [f"{field}: {_either(requirements)}{got}" for (field, got), requirements in allowed.items()]


def _either(requirements: list[str]) -> str:
    return " or ".join([requirements[0], *(text.removeprefix("must be ") for text in requirements[1:])])


def _describe(item: dict[str, Any], raw: dict[str, Any]) -> tuple[str, str, str]:
    """``(field, what is allowed, ", but got <value>")`` for one pydantic error."""
    location, value = _locate(item, raw)
    field = ".".join(str(part) for part in location)
    if item["type"] == "extra_forbidden":
        allowed = _allowed_keys(location[:-1], raw)
        close = difflib.get_close_matches(str(location[-1]), allowed, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return field, f"unknown key{hint} (allowed: {', '.join(allowed) or 'none'})", ""
    if item["type"] in ("missing", "union_tag_not_found"):
        return field, _missing_message(location, raw), ""
    if item["type"] not in _ALLOWED:
        message = item["msg"].removeprefix("Value error, ")
        return field, message, "" if "but got" in message else f", but got {value!r}"
    context = item.get("ctx", {})
    requirement = _ALLOWED[item["type"]].format(**context)
    options = re.findall(r"'([^']*)'", str(context.get("expected", context.get("expected_tags", ""))))
    if len(options) == 1:
        requirement = requirement.removeprefix("one of ")
    close = difflib.get_close_matches(str(value), options, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return field, f"must be {requirement}", f", but got {value!r}{hint}"


def _locate(item: dict[str, Any], raw: dict[str, Any]) -> tuple[list[Any], Any]:
    """The error's location in the sweep file, and the value there. Pydantic puts the name of a union's
    member in the location (``search_space.<param>.loguniform.low``, ``target_modules.list[str]``): those
    parts are not in the file and are dropped."""
    location = list(item["loc"])
    if item["type"] in ("union_tag_invalid", "union_tag_not_found"):
        location.append("type")
    kept, node = [], raw
    for index, part in enumerate(location):
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            if index == len(location) - 1 and item["type"] in ("missing", "union_tag_not_found"):
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
    for key in parts:
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


def searchable_paths() -> dict[str, str]:
    """Dotted spec paths a search space may set, with their kind (float, int or str)."""
    kinds = {}
    for section in SEARCHABLE_SECTIONS:
        model = SweepSpec.model_fields[section].annotation
        for name, field in model.model_fields.items():
            kind = _scalar_kind(field.annotation)
            if kind:
                kinds[f"{section}.{name}"] = kind
    return kinds


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


def cross_check(spec: SweepSpec, *, check_files: bool = True, metrics: Mapping[str, str] | None = None) -> list[str]:
    """Rules that span sections: files exist, the metric fits the task, the space fits the spec."""
    from search_spaces.optuna_space import check_space
    from search_spaces.searcher import check_initial_points

    problems = _file_problems(spec) if check_files else []
    reporter = "the replayed curves file" if metrics else f"the {spec.task.type} task"
    metrics = metrics or TASK_METRICS[spec.task.type]
    if spec.search.metric not in metrics:
        problems.append(f"search.metric: must be a metric {reporter} reports ({' or '.join(metrics)}), "
                        f"but got {spec.search.metric!r}")
    elif spec.search.mode != metrics[spec.search.metric]:
        problems.append(f"search.mode: must be {metrics[spec.search.metric]!r} for {spec.search.metric}, "
                        f"but got {spec.search.mode!r}")
    if spec.scheduler.max_t is not None and spec.scheduler.grace_period > spec.scheduler.max_t:
        problems.append(f"scheduler.grace_period: `grace_period <= max_t` must hold, but got "
                        f"(grace_period={spec.scheduler.grace_period}, max_t={spec.scheduler.max_t})")
    workers = spec.resources.workers
    if spec.training.batch_size % workers:
        problems.append(f"training.batch_size: must be a multiple of resources.workers ({workers}), each worker "
                        f"taking batch_size / workers, but got {spec.training.batch_size}")
    try:
        space = effective_space(spec)
    except ValueError as error:
        return [*problems, f"search.preset: {error}"]
    if not space:  # initial points would only repeat that nothing is searched
        return [*problems, "search_space: empty; give at least one parameter or a search.preset "
                           "(see `finesweep presets`)"]
    problems += [f"{field}: {message}" for field, message in check_space(space, searchable=searchable_paths())]
    problems += _searched_batch_size_problems(space, workers=workers)
    if spec.search.algorithm == "grid":
        try:
            grid_of(space)
        except ValueError as error:
            problems.append(f"search.algorithm: {error}")
    points = check_initial_points(spec.search.initial_points, space=space, algorithm=spec.search.algorithm)
    return problems + [f"{field}: {message}" for field, message in points]


def _searched_batch_size_problems(space: SearchSpace, *, workers: int) -> list[str]:
    """A sampled batch size must split evenly over the workers too, or its trial would fail mid-sweep."""
    searched = space.get("training.batch_size")
    if workers == 1:
        return []
    if isinstance(searched, Choice):
        values = searched.values
    elif isinstance(searched, IntRange):
        values = range(searched.low, searched.high + 1, 1 if searched.log else searched.step)
    else:
        return []
    bad = list(islice((value for value in values if isinstance(value, int) and value % workers), 6))
    if not bad:
        return []
    shown = ", ".join(map(str, bad[:5])) + (", ..." if len(bad) > 5 else "")
    return [f"search_space.training.batch_size: every value must be a multiple of resources.workers ({workers}), "
            f"but it can sample {shown}"]


def _file_problems(spec: SweepSpec) -> list[str]:
    problems = []
    if not (spec.model.path / "config.json").is_file():
        problems.append(f"model.path: must be a Hugging Face model directory (with config.json), "
                        f"but got {str(spec.model.path)!r}")
    if not spec.dataset.path.is_file():
        problems.append(f"dataset.path: must be an existing data file ({', '.join(DATA_SUFFIXES)}), "
                        f"but got {str(spec.dataset.path)!r}, which does not exist")
    elif spec.dataset.path.suffix not in DATA_SUFFIXES:
        problems.append(f"dataset.path: must end in {', '.join(DATA_SUFFIXES)}, but got {spec.dataset.path.name!r}")
    return problems
