"""How the sweep searches: the metric, the sampler and the number of trials, and the early-stopping scheduler."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from sweeps.spec.objectives import Budget, Objective
from sweeps.spec.section import Section

DEFAULT_NUM_TRIALS = 8  # a sweep without num_trials or a budget
# A budget sweep with no search.num_trials runs until the budget is spent; this only bounds Tune's trial count.
BUDGET_TRIAL_LIMIT = 10_000


class SearchSpec(Section):
    metric: str = Field(default="eval_loss", description="Metric to optimise, one the task reports: eval_loss, "
                        "perplexity or rouge_l (with task.rouge_samples) for causal_lm; eval_loss, accuracy or "
                        "f1_macro for classification; eval_loss, reward_accuracy or reward_margin for dpo.")
    mode: Literal["min", "max"] = Field(default="min", description="Minimise or maximise the metric.")
    algorithm: Literal["tpe", "random", "grid", "nsga2"] = Field(
        default="tpe", description="Optuna sampler: tpe (default; multi-objective too), random, grid (choice/int "
        "params only), or nsga2 (Optuna's NSGA-II, for search.objectives).")
    num_trials: int | None = Field(default=None, ge=1, description="Trials to run (for grid: at most this many). "
                                   "None = 8, or with a search.budget as many as the budget pays for.")
    objectives: list[Objective] = Field(
        default_factory=list, description="Quality against cost: two or more metrics to optimise at once, e.g. "
        "[{metric: eval_loss, mode: min}, {metric: train_tokens, mode: min}], with Optuna's multi-objective "
        "samplers (tpe, random or nsga2). The first is search.metric (given or not): early stopping and the "
        "checkpoints kept judge it alone. `finesweep best` and the dashboard show the Pareto front; `export "
        "--trial` takes any point of it.")
    budget: Budget | None = Field(
        default=None, description="Stop at a compute budget instead of (or before) num_trials: no trial starts "
        "that the remaining budget cannot pay for to its first rung, and once it is spent running trials stop at "
        "their next rung; failed and stopped trials count. e.g. {cpu_hours: 2}.")
    max_concurrent_trials: int = Field(default=1, ge=1, description="Trials running at once; each takes "
                                       "resources.workers × resources.cpus_per_worker CPUs.")
    seed: int = Field(default=0, description="Sampler seed: the same seed proposes the same first configs.")
    preset: str | None = Field(default=None, description="Named search space to start from "
                               "(see `finesweep presets`); search_space entries override it.")
    initial_points: list[dict[str, Any]] = Field(
        default_factory=list, description="Configs to try first (Optuna enqueue), e.g. a known-good baseline.")
    warm_start: list[Path] = Field(
        default_factory=list, description="Earlier sweeps (their directories) or curves files (see `finesweep "
        "curves`) whose trials enter this sweep's study before it samples: re-tuning the same model after a data "
        "refresh starts from what the last sweep learnt. They must optimise the same metric and mode; trials the "
        "search space cannot take are left out. Relative paths are relative to the sweep file.")
    # 0: TPE alone (BENCHMARKS.md, M2, 20 seeds × 12 cells); 0.2–0.5 only for a space TPE is known to mislead.
    random_fraction: float = Field(
        default=0, ge=0, lt=1, description="(tpe) Share of trials drawn at random instead of from TPE's model: a "
        "hedge against a model fitted on few trials locking onto the wrong region (ε-greedy Bayesian optimisation, "
        "De Ath et al. 2021). Default 0: TPE's own first 10 trials are random already; on the AlexNet curves a "
        "random half ended further from the best (mean regret 1.85 against 1.19 pp) and behind random search in "
        "more seeds (35–75 % against 10–55 %), on DeBERTa it changed neither budget nor regret (BENCHMARKS.md, M2).")
    prior_weight: float = Field(
        default=10, gt=0, description="How long the search space's priors (`prior: {mode, spread}` on a "
        "parameter) guide the sampler: trial n draws its prior-carrying parameters from their priors with "
        "probability prior_weight / (prior_weight + n), n = trials finished so far. 10: mostly the priors for the "
        "first ~10 trials, mostly the sampler's own model after ~30.")

    @model_validator(mode="before")
    @classmethod
    def _metric_from_objectives(cls, data: Any) -> Any:
        # The first objective is the metric early stopping judges; writing it twice is not required.
        if isinstance(data, dict) and isinstance(data.get("objectives"), list) and data["objectives"]:
            first = data["objectives"][0]
            if isinstance(first, dict):
                data = {**{key: first[key] for key in ("metric", "mode") if key in first}, **data}
        return data

    def trial_limit(self) -> int:
        """The trials Tune may start: num_trials, else 8, or the budget alone bounds the sweep."""
        if self.num_trials is not None:
            return self.num_trials
        return BUDGET_TRIAL_LIMIT if self.budget is not None else DEFAULT_NUM_TRIALS

    def extent(self) -> str:
        """How long the sweep runs, in words: ``8 trials``, ``up to 8 trials within 2 cpu_hours``, ``as many
        trials as 2 cpu_hours pay for``."""
        if self.budget is None:
            return f"{self.trial_limit()} trials"
        budget = f"{self.budget.amount:g} {self.budget.unit}"
        if self.num_trials is None:
            return f"as many trials as {budget} pay for"
        return f"up to {self.num_trials} trials within {budget}"


# The most rungs the derived grace period puts below the top one (see SchedulerSpec.grace_period).
MAX_EXTRA_RUNGS = 2


class SchedulerSpec(Section):
    name: Literal["asha", "curve", "median", "none"] = Field(
        default="asha", description="Early stopping: `asha` (default; asynchronous successive halving), `curve` "
        "(stops a trial whose predicted final value is unlikely to reach the top_k finals: a line from its value "
        "now to the finals, fitted on the curves of this sweep's finished trials and of search.warm_start; ASHA "
        "decides until enough curves are in), `median` (median stopping rule) or `none`.")
    time_unit: Literal["progress", "steps", "examples", "reports"] = Field(
        default="progress", description="What the scheduler counts a trial's training in, to compare trials at "
        "equal amounts of it: `progress` (the share of the trial's own schedule done, 0–1: a run is never ranked "
        "early in its schedule against one near its end, even when training length is searched), `steps` "
        "(optimizer steps), `examples` (training examples seen: steps × batch size) or `reports` (evaluations).")
    grace_period: float | None = Field(
        default=None, gt=0, description="Training (in time_unit) every trial gets before it can be stopped: "
        "ASHA's first rung. None = from the sweep itself: max_t / reduction_factor^k, k = the rungs below the "
        "top that still let about top_rung_trials of search.num_trials reach it (at most 2: earlier than 1/9 of "
        "a schedule, a run's rank says little about its end; BENCHMARKS.md, M2).")
    max_t: float | None = Field(
        default=None, gt=0, description="ASHA's top rung, in time_unit. None = 1 for progress, the number of "
        "evaluations training.max_steps makes for reports, training.max_steps for steps (times the batch for "
        "examples); steps and examples without a fixed max_steps need it given.")
    reduction_factor: float = Field(default=3, gt=1, description="ASHA keeps the top 1/reduction_factor of the "
                                    "trials at each rung; 2–4 (3 is the usual compromise).")
    top_rung_trials: float = Field(
        default=2, ge=1, description="How many of the sweep's trials the derived rungs let reach the top rung "
        "(used when grace_period is None): fewer rungs for small sweeps, so that enough trials train to the end.")
    top_k: int = Field(default=3, ge=1, description="(curve) A trial must look able to end among the top_k "
                       "finals of the reference curves; 3 keeps a few contenders, 1 chases the single best.")
    stop_chance: float = Field(default=0.1, gt=0, lt=0.5, description="(curve) A trial stops when its chance of "
                               "reaching the top_k, under the fit's residual spread, is below this; 0.05–0.2.")
    brackets: int = Field(default=1, ge=1, description="ASHA brackets (asynchronous Hyperband): each trial is "
                          "drawn into one, bracket k starting at grace_period × reduction_factor^k; more than 1 "
                          "hedges against a grace period that is too short.")

    def rungs(self, *, num_trials: int, max_t: float) -> tuple[float, float]:
        """``(grace_period, max_t)`` of ASHA for a sweep of ``num_trials`` whose longest trial is ``max_t``."""
        max_t = self.max_t or max_t
        if self.grace_period is not None:
            return min(self.grace_period, max_t), max_t
        extra_rungs = math.floor(math.log(num_trials / self.top_rung_trials, self.reduction_factor))
        return max_t / self.reduction_factor ** min(max(extra_rungs, 0), MAX_EXTRA_RUNGS), max_t
