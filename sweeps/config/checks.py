"""Rules that span the sections of a spec: files exist, the metric fits the task, the space fits the spec,
the method fits the task and the resources. Part of :func:`sweeps.config.loading.load_spec`."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from itertools import islice
from pathlib import Path

from search_spaces.optuna_space import check_space, grid_of
from search_spaces.searcher import check_initial_points
from search_spaces.space import Choice, IntRange, SearchSpace
from sweeps.config.method_checks import method_problems, other_method_hint
from sweeps.config.space import effective_space, searchable_paths
from sweeps.spec import SweepSpec

DATA_SUFFIXES = (".jsonl", ".json", ".csv", ".parquet")


def cross_check(spec: SweepSpec, *, check_files: bool = True, metrics: Mapping[str, str] | None = None) -> list[str]:
    """Rules that span sections: files exist, the metric fits the task, the space fits the spec."""
    problems = _file_problems(spec) if check_files else []
    reporter = "the replayed curves file" if metrics else f"the {spec.task.type} task"
    metrics = metrics or spec.task.metrics
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
