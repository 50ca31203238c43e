"""Whether a trial fits where it is to run: each Train worker (``resources.cpus_per_worker`` CPUs, a GPU with
``resources.use_gpu``) on one node, all ``resources.workers`` of them at once, beside the trial's own sliver
of a CPU. A trial that cannot fit would wait for resources forever (or until Train's start-up timeout), so it
is refused before the first one starts: on this machine before Ray starts, on a cluster once connected.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence

from sweeps.spec import SweepSpec

# The trial function only waits on its Train workers; a sliver of a CPU leaves them the cores.
TRIAL_DRIVER_CPUS = 0.01
# Ray counts resources in units of 1/10,000.
RAY_RESOURCE_UNIT = 1e-4


def worker_bundle(spec: SweepSpec) -> dict[str, float]:
    """What one Train worker of a trial reserves, in Ray's resource names. The trial function's sliver comes
    out of its workers' CPUs, so a trial holds workers × cpus_per_worker CPUs in all: two 1-CPU trials fit on
    2 cores, as a user reading ``max_concurrent_trials: 2`` expects (with a whole CPU per worker, 2 × 1.01 did not,
    and the second trial silently waited for the first)."""
    resources = spec.resources
    cpus = resources.cpus_per_worker - TRIAL_DRIVER_CPUS / resources.workers
    cpus = math.floor(cpus / RAY_RESOURCE_UNIT) * RAY_RESOURCE_UNIT
    return {"CPU": round(cpus, 4), **({"GPU": 1.0} if resources.use_gpu else {})}


def this_machine(spec: SweepSpec) -> dict[str, float]:
    """The resources an embedded Ray finds here: the CPUs this process may use, and with ``use_gpu`` the
    CUDA GPUs torch sees (torch is imported only then: it costs seconds)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if not spec.resources.use_gpu:
        return {"CPU": float(cpus)}
    import torch

    return {"CPU": float(cpus), "GPU": float(torch.cuda.device_count())}


def fit_problems(spec: SweepSpec, *, nodes: Sequence[Mapping[str, float]], where: str) -> list[str]:
    """Why a trial of ``spec`` can never run on ``nodes`` (each node's total resources; every node that may
    ever join, for an autoscaling cluster), one sentence, or nothing."""
    bundle, workers = worker_bundle(spec), spec.resources.workers
    largest = {name: max((node.get(name, 0.0) for node in nodes), default=0.0) for name in bundle}
    have = " and ".join(f"{_count(largest[name])} {name}s" for name in bundle)
    stated = {**bundle, "CPU": spec.resources.cpus_per_worker}  # the field's value, not less the trial's sliver
    asked = " and ".join(f"{_count(amount)} {name}{'s' if amount != 1 else ''}" for name, amount in stated.items())
    if not any(all(node.get(name, 0.0) >= amount for name, amount in bundle.items()) for node in nodes):
        field = "resources.use_gpu" if largest.get("GPU", 1.0) < 1 else "resources.cpus_per_worker"
        return [f"{field}: each of a trial's {workers} Train worker(s) needs {asked} on one node, but {where} "
                f"offers at most {have} on one node; nothing was started"]
    per_node = [min(math.floor(node.get(name, 0.0) / amount) for name, amount in bundle.items()) for node in nodes]
    # The trial function's sliver of a CPU costs a worker's place unless some node has it to spare.
    spare = any(node.get("CPU", 0.0) - count * bundle["CPU"] >= TRIAL_DRIVER_CPUS
                for node, count in zip(nodes, per_node, strict=True))
    fitting = sum(per_node) - (0 if spare else 1)
    if fitting < workers:
        return [f"resources.workers: a trial needs {workers} Train workers of {asked} each at once (the "
                f"trial's own {TRIAL_DRIVER_CPUS} CPU included), but {where} fits {max(fitting, 0)}; lower "
                f"resources.workers or resources.cpus_per_worker; nothing was started"]
    return []


def _count(amount: float) -> str:
    return str(int(amount)) if float(amount).is_integer() else f"{amount:g}"
