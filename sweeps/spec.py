"""The sweep file, as typed models. Each field's description is its documentation (README's reference
is generated from it), and every default carries a one-line rule of thumb.

One ``SweepSpec`` flows from the YAML file to each Train worker: a trial's sampled values are applied
onto it with :meth:`SweepSpec.with_params`, which validates again, so the trainer reads typed fields only.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from search_spaces.space import SearchSpace


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ModelSpec(_Section):
    path: Path = Field(description="Local Hugging Face model directory (config.json + weights), loaded with "
                       "`from_pretrained`. Relative paths are relative to the sweep file.")
    dtype: Literal["float32", "bfloat16", "float16"] = Field(
        default="float32", description="Weights dtype. float32 on CPU; bfloat16 on recent GPUs halves memory.")


class TaskSpec(_Section):
    type: Literal["causal_lm"] = Field(
        default="causal_lm", description="What is trained: `causal_lm` = supervised fine-tuning of a causal LM "
        "on prompt → response pairs, loss on the response tokens only.")


class DatasetSpec(_Section):
    path: Path = Field(description="Local data file (.jsonl, .json, .csv or .parquet). Relative to the sweep file.")
    prompt_column: str = Field(default="prompt", description="Column holding the prompt / instruction.")
    response_column: str = Field(default="response", description="Column holding the target response.")
    eval_fraction: float = Field(default=0.2, gt=0, lt=1,
                                 description="Share held out for evaluation (0.2 = the usual 80/20 split).")
    seed: int = Field(default=0, description="Seed of the train/eval split; same seed, same split.")
    max_length: int = Field(default=256, ge=8, description="Tokens per example after truncation "
                            "(prompt + response). Cost grows linearly; 64–512 for chat data.")
    max_eval_examples: int | None = Field(default=None, ge=1, description="Cap on eval examples, to keep "
                                          "frequent evaluations cheap (None = the whole eval split).")


class LoraSpec(_Section):
    name: Literal["lora"] = Field(default="lora", description="Fine-tuning method: `lora` (PEFT LoRA adapters).")
    r: int = Field(default=8, ge=1, description="LoRA rank: 4–64; the adapter size grows linearly with it.")
    alpha: float = Field(default=16, gt=0, description="LoRA scaling numerator (scale = alpha / r); 2·r is common.")
    dropout: float = Field(default=0.05, ge=0, lt=1, description="Dropout on the LoRA input; 0–0.1.")
    target_modules: list[str] | Literal["all-linear"] = Field(
        default="all-linear", description="Module names to adapt (e.g. [q_proj, v_proj]) or `all-linear`.")


class TrainingSpec(_Section):
    learning_rate: float = Field(default=2e-4, gt=0, description="Peak learning rate; LoRA likes 1e-4–1e-3.")
    batch_size: int = Field(default=8, ge=1, description="Examples per optimizer step over all workers (the "
                            "global batch): each of the resources.workers takes batch_size / workers, so it must "
                            "be a multiple of workers, and 1 or N workers train on the same batches.")
    epochs: float = Field(default=1, gt=0, description="Passes over the training split (may be fractional).")
    max_steps: int | None = Field(default=None, ge=1, description="Stop after this many optimizer steps "
                                  "(overrides epochs; None = run the epochs).")
    eval_every_steps: int = Field(default=20, ge=1, description="Evaluate and report to Ray every N optimizer "
                                  "steps: one report = one ASHA time unit.")
    weight_decay: float = Field(default=0.0, ge=0, description="AdamW decoupled weight decay; 0–0.1.")
    warmup_ratio: float = Field(default=0.0, ge=0, lt=1, description="Share of steps with linear LR warm-up.")
    lr_scheduler: Literal["linear", "cosine", "constant", "constant_with_warmup"] = Field(
        default="linear", description="Learning-rate schedule after warm-up.")
    max_grad_norm: float = Field(default=1.0, gt=0, description="Gradient clipping norm; 1.0 is the HF default.")
    gradient_checkpointing: bool = Field(default=False, description="Recompute activations in backward "
                                         "(use_reentrant=False): less memory, ~30% slower.")
    seed: int = Field(default=42, description="Seed for model init of adapters and data order.")


class SearchSpec(_Section):
    metric: str = Field(default="eval_loss", description="Metric to optimise: eval_loss or perplexity.")
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


class SchedulerSpec(_Section):
    name: Literal["asha", "median", "none"] = Field(
        default="asha", description="Early stopping: asha (default), median stopping, or none.")
    grace_period: int = Field(default=1, ge=1, description="Reports (evaluations) every trial gets before it "
                              "can be stopped.")
    max_t: int | None = Field(default=None, ge=1, description="Reports at which ASHA's top rung sits "
                              "(None = derived from training length).")
    reduction_factor: float = Field(default=2, gt=1, description="ASHA keeps the top 1/reduction_factor at each "
                                    "rung; 2–4.")


class ResourcesSpec(_Section):
    workers: int = Field(default=1, ge=1, description="Ray Train workers per trial. Above 1 the base model "
                         "is FSDP2-sharded over them (each holds about 1/workers of its weights; gloo on CPU, NCCL "
                         "on GPU) and the adapter is replicated, its gradients averaged.")
    cpus_per_worker: float = Field(default=1, gt=0, description="CPUs each Train worker reserves.")
    use_gpu: bool = Field(default=False, description="Give each Train worker one GPU.")


class WandbSpec(_Section):
    mode: Literal["online", "offline", "disabled"] = Field(
        default="offline", description="offline writes run files under the sweep directory (`wandb sync` "
        "uploads them later); online needs WANDB_API_KEY in the environment or ~/.netrc.")
    project: str = Field(default="finesweep", description="W&B project; the sweep name is the run group.")
    entity: str | None = Field(default=None, description="W&B entity (team or user); None = your default.")


class TrackingSpec(_Section):
    wandb: WandbSpec = Field(default_factory=WandbSpec, description="Weights & Biases reporting.")


class StorageSpec(_Section):
    path: str = Field(default="runs", description="Where sweeps are stored; the sweep goes to <path>/<name>. "
                      "A local path on one machine; an NFS path or s3:// bucket for multi-node clusters.")
    keep_checkpoints: int = Field(default=2, ge=1, description="Best adapter checkpoints kept per trial.")


class SweepSpec(_Section):
    name: str = Field(description="Sweep name: letters, digits, `-`, `_`, `.`; the sweep directory's name.")
    model: ModelSpec
    task: TaskSpec = Field(default_factory=TaskSpec)
    dataset: DatasetSpec
    method: LoraSpec = Field(default_factory=LoraSpec)
    training: TrainingSpec = Field(default_factory=TrainingSpec)
    search: SearchSpec = Field(default_factory=SearchSpec)
    search_space: SearchSpace = Field(default_factory=dict, description="Dotted spec path → distribution.")
    scheduler: SchedulerSpec = Field(default_factory=SchedulerSpec)
    resources: ResourcesSpec = Field(default_factory=ResourcesSpec)
    tracking: TrackingSpec = Field(default_factory=TrackingSpec)
    storage: StorageSpec = Field(default_factory=StorageSpec)

    @field_validator("name")
    @classmethod
    def _name_is_a_folder_name(cls, name: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", name):
            raise ValueError("must be 1–100 of letters, digits, `-`, `_`, `.`, starting with a letter or digit")
        return name

    def with_params(self, params: dict[str, Any]) -> SweepSpec:
        """This spec with a trial's sampled values set at their dotted paths, validated again."""
        data = self.model_dump()
        for dotted, value in params.items():
            *parents, leaf = dotted.split(".")
            section = data
            for key in parents:
                section = section[key]
            section[leaf] = value
        return SweepSpec.model_validate(data)

    @property
    def sweep_dir(self) -> str:
        """Where this sweep's results, checkpoints, study and W&B files live."""
        return f"{self.storage.path.rstrip('/')}/{self.name}"
