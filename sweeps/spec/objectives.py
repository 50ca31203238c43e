"""What a sweep optimises besides its metric, and what it may spend: quality against cost (``search.objectives``)
and a compute budget (``search.budget``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from sweeps.spec.section import Section

# What every trial reports about its cost, each better when lower: usable as an objective beside the task's metric.
COST_METRICS: dict[str, Literal["min", "max"]] = {
    "train_tokens": "min",  # tokens trained on (HF Trainer's num_input_tokens_seen)
    "time_total_s": "min",  # the trial's wall seconds (Ray Tune's own)
    "peak_memory_mb": "min",  # the worker's peak memory: CUDA's max allocated, else the process's peak RSS
    "trainable_params": "min",  # parameters that train: the adapter's size, or the whole model's
}


class Objective(Section):
    metric: str = Field(description="A metric the task reports (eval_loss, accuracy, ...) or a cost every trial "
                        "reports: train_tokens, time_total_s, peak_memory_mb, trainable_params.")
    mode: Literal["min", "max"] = Field(description="Minimise or maximise it.")


class Budget(Section):
    """Give exactly one."""

    gpu_hours: float | None = Field(default=None, gt=0, description="GPU-hours: each trial's wall time × the "
                                    "GPUs it holds (resources.workers with use_gpu).")
    cpu_hours: float | None = Field(default=None, gt=0, description="CPU-hours: each trial's wall time × the "
                                    "CPUs it holds (resources.workers × cpus_per_worker).")
    train_tokens: float | None = Field(default=None, gt=0, description="Tokens trained on, over all trials.")
    train_examples: float | None = Field(default=None, gt=0, description="Training examples seen (steps × batch), "
                                         "over all trials; the unit of a replayed curves file counted in examples.")

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
