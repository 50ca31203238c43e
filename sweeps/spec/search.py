"""How the sweep searches: the metric, the sampler and the number of trials, and the early-stopping scheduler."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from sweeps.spec.section import Section


class SearchSpec(Section):
    metric: str = Field(default="eval_loss", description="Metric to optimise, one the task reports: eval_loss, "
                        "perplexity or rouge_l (with task.rouge_samples) for causal_lm; eval_loss, accuracy or "
                        "f1_macro for classification; eval_loss, reward_accuracy or reward_margin for dpo.")
    mode: Literal["min", "max"] = Field(default="min", description="Minimise or maximise the metric.")
    algorithm: Literal["tpe", "random", "grid"] = Field(
        default="tpe", description="Optuna sampler: tpe (default), random, or grid (choice/int params only).")
    num_trials: int = Field(default=8, ge=1, description="Trials to run (for grid: at most this many).")
    max_concurrent_trials: int = Field(default=1, ge=1, description="Trials running at once; each takes "
                                       "resources.workers × resources.cpus_per_worker CPUs.")
    seed: int = Field(default=0, description="Sampler seed: the same seed proposes the same first configs.")
    preset: str | None = Field(default=None, description="Named search space to start from "
                               "(see `finesweep presets`); search_space entries override it.")
    initial_points: list[dict[str, Any]] = Field(
        default_factory=list, description="Configs to try first (Optuna enqueue), e.g. a known-good baseline.")


class SchedulerSpec(Section):
    name: Literal["asha", "median", "none"] = Field(
        default="asha", description="Early stopping: asha (default), median stopping, or none.")
    grace_period: int = Field(default=1, ge=1, description="Reports (evaluations) every trial gets before it "
                              "can be stopped.")
    max_t: int | None = Field(default=None, ge=1, description="Reports at which ASHA's top rung sits "
                              "(None = derived from training length).")
    reduction_factor: float = Field(default=2, gt=1, description="ASHA keeps the top 1/reduction_factor at each "
                                    "rung; 2–4.")
