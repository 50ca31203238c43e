"""What a sweep optimises besides its metric, and what it may spend: quality against cost (``search.objectives``)
and a compute budget (``search.budget``), with the arithmetic of what a trial has spent (Ray-free: the runner's
budget gate, the results' summary and the dashboard all read spend the same way)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, model_validator

from sweeps.spec.resources import ResourcesSpec
from sweeps.spec.section import Section

# What every trial reports about its cost, each better when lower: usable as an objective beside the task's metric.
COST_METRICS: dict[str, Literal["min", "max"]] = {
    "train_tokens": "min",  # tokens trained on (HF Trainer's num_input_tokens_seen, padding left out)
    "time_total_s": "min",  # the trial's wall seconds so far (Ray Tune's own)
    "peak_memory_mb": "min",  # the worker's peak memory: CUDA's max allocated, else the process's peak RSS
    "trainable_params": "min",  # parameters that train: the adapter's size, or the whole model's
}
# The budget units counted as a trial's wall time × the devices it holds.
DEVICE_HOURS = ("gpu_hours", "cpu_hours")


class Objective(Section):
    metric: str = Field(description="A metric the task reports (eval_loss, accuracy, ...) or a cost every trial "
                        "reports: train_tokens, time_total_s, peak_memory_mb, trainable_params.")
    mode: Literal["min", "max"] = Field(description="Minimise or maximise it.")


class Budget(Section):
    """Give exactly one unit."""

    gpu_hours: float | None = Field(default=None, gt=0, description="GPU-hours: each trial's wall time × the "
                                    "GPUs it holds (resources.workers with use_gpu).")
    cpu_hours: float | None = Field(default=None, gt=0, description="CPU-hours: each trial's wall time × the "
                                    "CPUs it holds (resources.workers × cpus_per_worker).")
    train_tokens: float | None = Field(default=None, gt=0, description="Tokens trained on, over all trials "
                                       "(padding left out).")
    train_examples: float | None = Field(default=None, gt=0, description="Training examples seen (steps × batch), "
                                         "over all trials; also the unit of a replayed curves file counted in "
                                         "examples.")

    @model_validator(mode="after")
    def _exactly_one(self) -> Budget:
        given = [name for name in type(self).model_fields if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of {', '.join(type(self).model_fields)}, but got "
                             f"{', '.join(given) or 'none'}")
        return self

    @property
    def unit(self) -> str:
        """The one unit given: gpu_hours, cpu_hours, train_tokens or train_examples."""
        return next(name for name in type(self).model_fields if getattr(self, name) is not None)

    @property
    def amount(self) -> float:
        return float(getattr(self, self.unit))


def devices_held(resources: ResourcesSpec, *, unit: str) -> float:
    """The GPUs (gpu_hours) or CPUs (cpu_hours) one trial holds; 1 for the units that are not device time."""
    if unit == "gpu_hours":
        return float(resources.workers if resources.use_gpu else 0)
    if unit == "cpu_hours":
        return resources.workers * resources.cpus_per_worker
    return 1.0


def spent_in(result: Mapping[str, Any], *, unit: str, devices: float) -> float:
    """What the trial behind ``result`` (its latest report) has spent so far, in ``unit``; ``devices`` as
    :func:`devices_held` says. A replayed report carries its simulated spend under the unit's own name."""
    if unit in result:
        return float(result[unit])
    if unit in DEVICE_HOURS:
        return float(result.get("time_total_s") or 0.0) * devices / 3600
    return float(result.get("examples" if unit == "train_examples" else unit) or 0.0)
