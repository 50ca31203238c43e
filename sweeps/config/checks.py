"""Rules that span the sections of a spec: files exist, the metric fits the task, the space fits the spec,
the method fits the task and the resources. Part of :func:`sweeps.config.loading.load_spec`."""

from __future__ import annotations

from collections.abc import Mapping
from itertools import islice

from search_spaces.optuna_space import check_space, grid_of
from search_spaces.searcher import check_initial_points
from search_spaces.space import Choice, IntRange, SearchSpace
from sweeps.config.choices import choice_problems
from sweeps.config.data_checks import data_problems
from sweeps.config.method_checks import other_method_hint
from sweeps.config.model_checks import model_problems
from sweeps.config.space import candidate_methods, effective_space, searchable_fields, searchable_paths
from sweeps.config.space_bounds import space_bound_problems
from sweeps.config.storage_checks import storage_problems
from sweeps.core.words import did_you_mean
from sweeps.spec import SweepSpec
from sweeps.spec.objectives import COST_METRICS


def cross_check(spec: SweepSpec, *, check_files: bool = True, metrics: Mapping[str, str] | None = None) -> list[str]:
    """Rules that span sections: files exist, the metric fits the task, the space fits the spec."""
    problems = _file_problems(spec) if check_files else []
    problems += _metric_problems(spec, metrics=metrics)
    problems += _objective_problems(spec, metrics=metrics)
    problems += _budget_problems(spec) if metrics is None else []  # a replay checks its budget against its curves
    problems += _rouge_problems(spec)
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
    problems += _scheduler_problems(spec, space=space, replay=metrics is not None)
    method, methods = spec.method.name, candidate_methods(spec, space)
    searchable = searchable_paths(method=method, task=spec.task.type, methods=methods)
    problems += [f"{field}: {message}"
                 f"{other_method_hint(field.removeprefix('search_space.'), method=method, methods=methods)}"
                 for field, message in check_space(space, searchable=searchable)]
    problems += space_bound_problems(space, fields=searchable_fields(method=method, task=spec.task.type,
                                                                     methods=methods))
    problems += choice_problems(spec, space=space, check_machine=check_files)
    problems += _searched_batch_size_problems(space, workers=workers)
    return problems + _sampler_problems(spec, space=space)


def _metric_problems(spec: SweepSpec, *, metrics: Mapping[str, str] | None) -> list[str]:
    """``search.metric`` must be one the task (or the replayed curves file) reports, in its direction."""
    reporter = "the replayed curves file" if metrics else f"the {spec.task.type} task"
    metrics = metrics or spec.task.metrics
    if spec.search.metric not in metrics:
        return [f"search.metric: must be a metric {reporter} reports ({' or '.join(metrics)}), "
                f"but got {spec.search.metric!r}"]
    if spec.search.mode != metrics[spec.search.metric]:
        return [f"search.mode: must be {metrics[spec.search.metric]!r} for {spec.search.metric}, "
                f"but got {spec.search.mode!r}"]
    return []


def _objective_problems(spec: SweepSpec, *, metrics: Mapping[str, str] | None) -> list[str]:
    """Objectives: two or more, distinct, the first the sweep's metric, each one the trials report, in its
    direction; NSGA-II needs them and grid search cannot take them."""
    objectives, search = spec.search.objectives, spec.search
    if not objectives:
        return ["search.algorithm: nsga2 is a multi-objective sampler, so it needs search.objectives (two or more "
                "metrics), but got none"] if search.algorithm == "nsga2" else []
    problems = []
    if len(objectives) < 2:
        problems.append(f"search.objectives: give two or more (a quality and a cost), but got {len(objectives)}; "
                        f"for one metric use search.metric")
    if (objectives[0].metric, objectives[0].mode) != (search.metric, search.mode):
        problems.append(f"search.objectives.0: the first objective is search.metric, so it must be {search.metric} "
                        f"({search.mode}), but got {objectives[0].metric} ({objectives[0].mode})")
    names = [objective.metric for objective in objectives]
    if repeated := sorted({name for name in names if names.count(name) > 1}):
        problems.append(f"search.objectives: each metric may appear once, but got {', '.join(repeated)} twice")
    # A replay reports its simulated compute as time_total_s; a real trial reports every cost metric.
    costs = {"time_total_s": "min"} if metrics else COST_METRICS
    known = {**(metrics or spec.task.metrics), **costs}
    for index, objective in enumerate(objectives):
        if objective.metric not in known:
            problems.append(f"search.objectives.{index}.metric: must be one of {', '.join(known)}, but got "
                            f"{objective.metric!r}{did_you_mean(objective.metric, options=known)}")
        elif objective.mode != known[objective.metric]:
            problems.append(f"search.objectives.{index}.mode: must be {known[objective.metric]!r} for "
                            f"{objective.metric}, but got {objective.mode!r}")
    if search.algorithm == "grid":
        problems.append("search.algorithm: grid search has no multi-objective form, so with search.objectives "
                        "it must be tpe, random or nsga2, but got 'grid'")
    if search.warm_start:
        problems.append(f"search.warm_start: past trials carry one value each, which a study of {len(objectives)} "
                        f"objectives cannot take, but got {len(search.warm_start)} source(s); drop warm_start or "
                        f"search.objectives")
    return problems


def _budget_problems(spec: SweepSpec) -> list[str]:
    """A GPU-hours budget needs trials that hold GPUs, or it would never be spent."""
    budget = spec.search.budget
    if budget is not None and budget.unit == "gpu_hours" and not spec.resources.use_gpu:
        return [f"search.budget.gpu_hours: the trials hold no GPU (resources.use_gpu is false), so a GPU-hours "
                f"budget would never be spent, but got gpu_hours={budget.amount:g}; use cpu_hours, train_tokens "
                f"or train_examples"]
    return []


def _scheduler_problems(spec: SweepSpec, *, space: SearchSpace, replay: bool) -> list[str]:
    """The scheduler's rungs must be known before the data is loaded (a replay knows them from its curves)."""
    scheduler, problems = spec.scheduler, []
    if scheduler.max_t is not None and scheduler.grace_period is not None and scheduler.grace_period > scheduler.max_t:
        problems.append(f"scheduler.grace_period: `grace_period <= max_t` must hold, but got "
                        f"(grace_period={scheduler.grace_period}, max_t={scheduler.max_t})")
    if scheduler.time_unit == "progress" and scheduler.max_t is not None and scheduler.max_t > 1:
        problems.append(f"scheduler.max_t: progress runs from 0 to 1, so `max_t <= 1` must hold, but got "
                        f"{scheduler.max_t}")
    fixed_length = spec.training.max_steps is not None and "training.max_steps" not in space
    if (scheduler.name != "none" and scheduler.time_unit in ("steps", "examples") and scheduler.max_t is None
            and not fixed_length and not replay):
        problems.append(f"scheduler.time_unit: {scheduler.time_unit!r} needs the longest trial's length before "
                        f"the data is read: give scheduler.max_t (in {scheduler.time_unit}) or a fixed "
                        f"training.max_steps, or use time_unit 'progress' (the share of each trial's own schedule)")
    return problems


def _sampler_problems(spec: SweepSpec, *, space: SearchSpace) -> list[str]:
    """Grid search needs a finite space and takes no priors; initial points must lie in the space."""
    problems = []
    if spec.search.algorithm == "grid":
        try:
            grid_of(space)
        except ValueError as error:
            problems.append(f"search.algorithm: {error}")
        problems += [f"search_space.{name}.prior: grid search tries every value, so a prior has nothing to "
                     f"guide; use search.algorithm tpe or random, or drop the prior"
                     for name, param in space.items() if getattr(param, "prior", None) is not None]
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
    """What must hold on this machine before anything starts: the model folder, the data, the storage path."""
    return model_problems(spec) + data_problems(spec) + storage_problems(spec)
