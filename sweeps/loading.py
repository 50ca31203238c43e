"""Read a sweep file, apply ``key.sub=value`` overrides, and validate everything before anything starts.

Every problem is collected and raised once as :class:`SpecError`, each line naming the file, the field,
the value and what is allowed, so a user fixes the whole file in one pass.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Mapping, Sequence
from itertools import islice
from pathlib import Path
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import ValidationError

from search_spaces.optuna_space import grid_of
from search_spaces.presets import preset_space
from search_spaces.space import Choice, IntRange, SearchSpace
from sweeps.errors import SpecError
from sweeps.method_checks import method_problems, other_method_hint
from sweeps.spec import TAGGED_SECTIONS, SweepSpec
from sweeps.spec_errors import validation_problems

# Sections whose scalar fields a search space may set, and the metrics each task reports.
SEARCHABLE_SECTIONS = ("training", "method", "task")
TASK_METRICS = {
    "causal_lm": {"eval_loss": "min", "perplexity": "min", "rouge_l": "max"},
    "classification": {"eval_loss": "min", "accuracy": "max", "f1_macro": "max"},
    # TRL's eval_rewards/accuracies and eval_rewards/margins, renamed by trainer.dpo.RewardMetrics
    "dpo": {"eval_loss": "min", "reward_accuracy": "max", "reward_margin": "max"},
}
DATA_SUFFIXES = (".jsonl", ".json", ".csv", ".parquet")
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

    ``check_files=False`` skips checking what must exist on this machine: the model and data (replay, or
    a spec whose paths exist only on the cluster), and a CUDA GPU for qlora. ``metrics`` (name → mode)
    replaces the task's metrics when the trials report others: a replayed curves file's."""
    path = Path(path)
    source = str(path)
    raw = _read_mapping(path)
    problems = apply_overrides(raw, overrides)
    raw = _with_paths_resolved(raw, base_dir=path.resolve().parent)
    spec = None
    try:
        spec = SweepSpec.model_validate(raw)
    except ValidationError as error:
        problems += validation_problems(error, raw)
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


def searchable_paths(*, method: str = "lora", task: str = "causal_lm") -> dict[str, str]:
    """Dotted spec paths a search space may set when ``method.name`` is ``method`` and ``task.type`` is
    ``task``, with their kind (float, int or str): that method's and that task's own numeric fields, and the
    training ones."""
    kinds = {}
    tags = {"method": method, "task": task}
    for section in SEARCHABLE_SECTIONS:
        tagged = TAGGED_SECTIONS.get(section)
        model = tagged[1][tags[section]] if tagged else SweepSpec.model_fields[section].annotation
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
    problems += _rouge_problems(spec)
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
    method = spec.method.name
    searchable = searchable_paths(method=method, task=spec.task.type)
    problems += [f"{field}: {message}{other_method_hint(field.removeprefix('search_space.'), method=method)}"
                 for field, message in check_space(space, searchable=searchable)]
    problems += method_problems(spec, space=space, check_machine=check_files)
    problems += _searched_batch_size_problems(space, workers=workers)
    if spec.search.algorithm == "grid":
        try:
            grid_of(space)
        except ValueError as error:
            problems.append(f"search.algorithm: {error}")
    points = check_initial_points(spec.search.initial_points, space=space, algorithm=spec.search.algorithm)
    return problems + [f"{field}: {message}" for field, message in points]


def _rouge_problems(spec: SweepSpec) -> list[str]:
    if spec.task.type != "causal_lm":
        return []
    if spec.search.metric == "rouge_l" and not spec.task.rouge_samples:
        return ["task.rouge_samples: search.metric 'rouge_l' needs generations to score, so `rouge_samples >= 1` "
                "must hold, but got 0; 16 is a good start"]
    if spec.task.rouge_samples and spec.resources.workers > 1:
        # Every rank would have to run the same generation steps through the sharded model: untested.
        return [f"task.rouge_samples: generating under FSDP is not supported, so rouge_samples needs "
                f"resources.workers: 1, but got {spec.resources.workers} workers; set rouge_samples: 0"]
    return []


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
    elif (present := _data_columns(spec.dataset.path)) is not None:
        problems += [f"{field}: must name a column of {spec.dataset.path.name} (its first row has "
                     f"{', '.join(present)}), but got {column!r}"
                     for field, column in spec.task.columns(spec.dataset).items() if column not in present]
    return problems


def _data_columns(path: Path) -> list[str] | None:
    """The columns of a .jsonl file's first row or a .csv file's header, read without loading the file;
    None for the other formats (a trial's loading checks them) and for rows the data loader will report."""
    if path.suffix not in (".jsonl", ".csv"):
        return None
    try:
        with path.open(encoding="utf-8", newline="") as lines:
            first = next((line for line in lines if line.strip()), "")
        row = json.loads(first) if path.suffix == ".jsonl" else dict.fromkeys(next(csv.reader([first]), []))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return list(row) if isinstance(row, dict) else None
