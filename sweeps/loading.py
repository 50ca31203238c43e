"""Read a sweep file, apply ``key.sub=value`` overrides, and validate everything before anything starts.

Every problem is collected and raised once as :class:`SpecError`, each line naming the file, the field,
the value and what is allowed, so a user fixes the whole file in one pass.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from search_spaces.presets import preset_space
from search_spaces.space import SearchSpace
from sweeps.errors import SpecError
from sweeps.spec import SweepSpec

# Sections whose scalar fields a search space may set, and the metrics each task reports.
SEARCHABLE_SECTIONS = ("training", "method")
TASK_METRICS = {"causal_lm": {"eval_loss": "min", "perplexity": "min"}}
DISTRIBUTION_TAGS = ("loguniform", "uniform", "int", "choice", "tied")
DATA_SUFFIXES = (".jsonl", ".json", ".csv", ".parquet")


def load_spec(path: Path | str, overrides: Sequence[str] = (), *, check_files: bool = True) -> SweepSpec:
    """The validated spec of the sweep file at ``path`` with ``overrides`` applied; relative paths in it
    are resolved against the file's folder. Raises :class:`SpecError` listing every problem.

    ``check_files=False`` skips checking that the model and data exist here (replay, or a spec whose
    paths exist only on the cluster)."""
    path = Path(path)
    source = str(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise SpecError(source, ["file not found"]) from None
    except yaml.YAMLError as error:
        raise SpecError(source, [f"not valid YAML: {error}"]) from None
    if not isinstance(raw, dict):
        raise SpecError(source, [f"must be a mapping of sections, but got {type(raw).__name__}"])
    problems = apply_overrides(raw, overrides)
    raw = _with_paths_resolved(raw, base_dir=path.resolve().parent)
    spec = None
    try:
        spec = SweepSpec.model_validate(raw)
    except ValidationError as error:
        problems += [_describe(item, raw) for item in error.errors()]
    if spec is not None:
        problems += cross_check(spec, check_files=check_files)
    if problems:
        raise SpecError(source, problems)
    return spec


def apply_overrides(raw: dict[str, Any], overrides: Sequence[str]) -> list[str]:
    """Set each ``a.b.c=value`` (value parsed as YAML) in ``raw``; returns the malformed ones."""
    problems = []
    for override in overrides:
        dotted, sep, text = override.partition("=")
        if not sep or not dotted:
            problems.append(f"override {override!r}: expected KEY=VALUE, e.g. search.num_trials=8")
            continue
        *parents, leaf = dotted.split(".")
        section = raw
        for key in parents:
            if not isinstance(section.get(key), dict):
                section[key] = {}
            section = section[key]
        section[leaf] = yaml.safe_load(text) if text else ""
    return problems


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


def _describe(item: dict[str, Any], raw: dict[str, Any]) -> str:
    location = list(item["loc"])
    if location[0] == "search_space" and len(location) > 2 and location[2] in DISTRIBUTION_TAGS:
        del location[2]  # pydantic names the union member: search_space.<param>.<tag>.low
    field = ".".join(str(part) for part in location)
    if item["type"] == "extra_forbidden":
        allowed = _allowed_keys(location[:-1])
        close = difflib.get_close_matches(str(location[-1]), allowed, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"{field}: unknown key{hint} (allowed: {', '.join(allowed)})"
    message = item["msg"].removeprefix("Value error, ")
    if item["type"] == "missing":
        return f"{field}: required field is missing"
    return f"{field}: {message} (got {_value_at(raw, location)!r})"


def _value_at(raw: Any, location: Sequence[Any]) -> Any:
    for key in location:
        try:
            raw = raw[key]
        except (KeyError, IndexError, TypeError):
            return None
    return raw


def _allowed_keys(location: Sequence[Any]) -> list[str]:
    model: type[BaseModel] | None = SweepSpec
    for key in location:
        annotation = model.model_fields[str(key)].annotation if model and str(key) in model.model_fields else None
        model = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
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


def cross_check(spec: SweepSpec, *, check_files: bool = True) -> list[str]:
    """Rules that span sections: files exist, the metric fits the task, the space fits the spec."""
    from search_spaces.optuna_space import check_space
    from search_spaces.searcher import check_initial_points

    problems = _file_problems(spec) if check_files else []
    metrics = TASK_METRICS[spec.task.type]
    if spec.search.metric not in metrics:
        problems.append(f"search.metric: {spec.task.type} reports {', '.join(metrics)}, but got {spec.search.metric!r}")
    if spec.scheduler.max_t is not None and spec.scheduler.grace_period > spec.scheduler.max_t:
        problems.append(f"scheduler.grace_period: `grace_period <= max_t` must hold, but got "
                        f"(grace_period={spec.scheduler.grace_period}, max_t={spec.scheduler.max_t})")
    try:
        space = effective_space(spec)
    except ValueError as error:
        return [*problems, f"search.preset: {error}"]
    problems += [f"{field}: {message}" for field, message in check_space(space, searchable=searchable_paths())]
    points = check_initial_points(spec.search.initial_points, space=space, algorithm=spec.search.algorithm)
    problems += [f"{field}: {message}" for field, message in points]
    if not space:
        problems.append("search_space: empty; give at least one parameter or a search.preset (see `finesweep presets`)")
    return problems


def _file_problems(spec: SweepSpec) -> list[str]:
    problems = []
    if not (spec.model.path / "config.json").is_file():
        problems.append(f"model.path: no Hugging Face model (config.json) in {str(spec.model.path)!r}")
    if not spec.dataset.path.is_file():
        problems.append(f"dataset.path: file not found: {str(spec.dataset.path)!r}")
    elif spec.dataset.path.suffix not in DATA_SUFFIXES:
        problems.append(f"dataset.path: must end in {', '.join(DATA_SUFFIXES)}, but got {spec.dataset.path.name!r}")
    return problems
