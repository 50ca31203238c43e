"""Rules that tie ``method`` to the rest of a sweep: what the chosen method can run on, and which method a
misplaced search-space path belongs to. Part of :func:`sweeps.config.checks.cross_check`."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Sequence

from search_spaces.space import Choice, IntRange, SearchSpace
from sweeps.spec import METHODS, SweepSpec


def method_problems(spec: SweepSpec, *, space: SearchSpace, check_machine: bool) -> list[str]:
    """Every problem of ``spec.method`` with the resources, the model and ``space``. ``check_machine``:
    also what this machine must have (CUDA for qlora), which a spec bound for a cluster skips."""
    method = spec.method.name
    problems = []
    if spec.resources.workers > 1 and not spec.method.shardable:
        shardable = [name for name, model in METHODS.items() if model.shardable]
        problems.append(f"resources.workers: more than 1 worker (FSDP2 sharding) is supported for method.name "
                        f"{' or '.join(map(repr, shardable))} only, but got {spec.resources.workers} with "
                        f"method.name={method!r}; use resources.workers: 1")
    if method == "prefix_tuning" and spec.training.gradient_checkpointing:
        problems.append("training.gradient_checkpointing: must be false for method.name 'prefix_tuning' (PEFT's "
                        "prefix tuning does not work with it), but got true")
    if method == "qlora":
        problems += _qlora_problems(spec, check_machine=check_machine)
    if method == "freeze" and check_machine:
        problems += _freeze_depth_problems(spec, space=space)
    return problems + _task_problems(spec)


def _task_problems(spec: SweepSpec) -> list[str]:
    """The method and the workers must suit the task (its ``methods`` and ``one_worker_because``)."""
    task, methods = spec.task, spec.task.methods
    problems = []
    if spec.method.name not in methods:
        allowed = " or ".join(filter(None, [", ".join(map(repr, methods[:-1])), repr(methods[-1])]))
        problems.append(f"method.name: must be {allowed} for task.type {task.type!r}, but got {spec.method.name!r}")
    if spec.resources.workers > 1 and task.one_worker_because:
        problems.append(f"resources.workers: must be 1 for task.type {task.type!r} ({task.one_worker_because}), "
                        f"but got {spec.resources.workers}")
    return problems


def _qlora_problems(spec: SweepSpec, *, check_machine: bool) -> list[str]:
    problems = []
    if not spec.resources.use_gpu:
        problems.append("resources.use_gpu: must be true for method.name 'qlora' (4-bit weights run on CUDA "
                        "only), but got false")
    if check_machine and (missing := _missing_for_qlora()):
        problems.append(f"method.name: 'qlora' needs a CUDA GPU and bitsandbytes, but got 'qlora' on a machine "
                        f"with {missing}; use 'lora' here, or submit the sweep to a GPU cluster")
    return problems


def _missing_for_qlora() -> str | None:
    """What this machine lacks for 4-bit training, or None."""
    import torch  # only for a qlora spec: importing torch costs `validate` a second or two

    if not torch.cuda.is_available():
        return "no CUDA GPU (torch.cuda.is_available() is False)"
    if importlib.util.find_spec("bitsandbytes") is None:
        return "no bitsandbytes installed"
    return None


def _freeze_depth_problems(spec: SweepSpec, *, space: SearchSpace) -> list[str]:
    """``method.k`` (fixed or searched) must not exceed the layers the model has."""
    layers = _num_hidden_layers(spec)
    if layers is None:
        return []  # no readable config: the model check reports it
    problems = []
    if spec.method.k > layers:
        problems.append(f"method.k: `k <= num_hidden_layers` must hold, but got (k={spec.method.k}, "
                        f"num_hidden_layers={layers})")
    searched = space.get("method.k")
    largest = max(searched.values) if isinstance(searched, Choice) else getattr(searched, "high", None)
    if isinstance(searched, (Choice, IntRange)) and isinstance(largest, int) and largest > layers:
        problems.append(f"search_space.method.k: `k <= num_hidden_layers` must hold for every value, but it can "
                        f"sample k={largest} and the model has num_hidden_layers={layers}")
    return problems


def _num_hidden_layers(spec: SweepSpec) -> int | None:
    try:
        layers = json.loads((spec.model.path / "config.json").read_text()).get("num_hidden_layers")
    except (OSError, ValueError, AttributeError):
        return None
    return layers if isinstance(layers, int) else None


def other_method_hint(path: str, *, method: str, methods: Sequence[str] = ()) -> str:
    """For a ``method.<field>`` path the chosen method (or every one of a searched ``methods``) lacks: which
    methods have it (``""`` otherwise)."""
    section, _, field = path.partition(".")
    chosen = [name for name in (methods or [method]) if name in METHODS]
    if section != "method" or any(field in METHODS[name].model_fields for name in chosen):
        return ""
    owners = [name for name, model in METHODS.items() if field in model.model_fields]
    listed = ", ".join(map(repr, chosen))
    return f"; {path} is a field of method.name {', '.join(owners)}, not of {listed}" if owners else ""
