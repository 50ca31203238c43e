"""The sweep file, as typed models. Each field's description is its documentation (README's reference
is generated from it), and every default carries a one-line rule of thumb.

One ``SweepSpec`` flows from the YAML file to each Train worker: a trial's sampled values are applied
onto it with :meth:`SweepSpec.with_params`, which validates again, so the trainer reads typed fields only.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import Field, ValidationInfo, field_validator

from search_spaces.space import SearchSpace
from sweeps.method_spec import METHODS, LoraSpec, MethodSpec
from sweeps.section import Section


class ModelSpec(Section):
    path: Path = Field(description="Local Hugging Face model directory (config.json + weights), loaded with "
                       "`from_pretrained`. Relative paths are relative to the sweep file.")
    dtype: Literal["float32", "bfloat16", "float16"] = Field(
        default="float32", description="Weights dtype. float32 on CPU; bfloat16 on recent GPUs halves memory.")


class _TaskSection(Section):
    # Declared here so that `type` comes first in every task's section (and in the reference).
    type: str

    def columns(self, dataset: DatasetSpec) -> dict[str, str]:
        """The data file's columns this task reads: the spec field naming each (``task.label_column``) → the
        column's name. The field's name without ``_column`` is the column's name after loading."""
        raise NotImplementedError


class CausalLmTaskSpec(_TaskSection):
    type: Literal["causal_lm"] = Field(
        default="causal_lm", description="`causal_lm`: supervised fine-tuning of a causal LM on prompt → "
        "response pairs (dataset.prompt_column, dataset.response_column), loss on the response tokens only.")

    rouge_samples: int = Field(default=0, ge=0, description="Eval prompts answered greedily at every "
                               "evaluation and scored against their responses with ROUGE-L F1, reported as "
                               "`rouge_l` (0 = off). 16–32 gives a usable signal; each costs max_new_tokens "
                               "forward passes per evaluation.")
    max_new_tokens: int = Field(default=32, ge=1, description="Longest generated answer for rouge_l, in tokens; "
                                "about the length of a typical response.")

    def columns(self, dataset: DatasetSpec) -> dict[str, str]:
        return {"dataset.prompt_column": dataset.prompt_column, "dataset.response_column": dataset.response_column}


class ClassificationTaskSpec(_TaskSection):
    type: Literal["classification"] = Field(
        default="classification", description="`classification`: sequence classification of a text column "
        "into the labels found in a label column (a score head on the model); reports accuracy and f1_macro.")
    text_column: str = Field(default="text", description="Column holding the text to classify.")
    label_column: str = Field(default="label", description="Column holding each row's class; the classes are "
                              "its distinct values, sorted, saved in the checkpoint's config (id2label).")
    balance: bool = Field(default=False, description="Downsample every class of the train split to the "
                          "smallest one's count (seeded; eval untouched). Try it when the largest class is "
                          "several times the smallest and f1_macro lags accuracy.")

    def columns(self, dataset: DatasetSpec) -> dict[str, str]:
        return {"task.text_column": self.text_column, "task.label_column": self.label_column}


class DpoTaskSpec(_TaskSection):
    type: Literal["dpo"] = Field(
        default="dpo", description="`dpo`: direct preference optimisation (TRL's DPOTrainer) of a causal LM on "
        "prompt → chosen / rejected pairs (dataset.prompt_column, task.chosen_column, task.rejected_column); "
        "reports the DPO eval_loss, reward_accuracy (share of pairs whose chosen reply gets the higher implicit "
        "reward) and reward_margin. method.name lora (the reference model is the base with the adapter off) "
        "or full (a frozen copy of the base is the reference, twice the weights' memory).")
    chosen_column: str = Field(default="chosen", description="Column holding the preferred reply to the prompt.")
    rejected_column: str = Field(default="rejected", description="Column holding the dispreferred reply to the "
                                 "same prompt.")
    beta: float = Field(default=0.1, gt=0, description="DPO temperature: how far the policy may move from the "
                        "reference model (lower = further); 0.1 is typical, 0.01–0.5 the usual search range.")
    loss_type: Literal["sigmoid", "hinge", "ipo"] = Field(
        default="sigmoid", description="`sigmoid` (the DPO paper's loss, the usual choice), `hinge` (SLiC: no "
        "gain past a margin of 1/beta) or `ipo` (IPO: regresses the margin to 1/(2·beta), steadier when the "
        "preferences are near-deterministic; beta is then IPO's tau).")

    def columns(self, dataset: DatasetSpec) -> dict[str, str]:
        return {"dataset.prompt_column": dataset.prompt_column, "task.chosen_column": self.chosen_column,
                "task.rejected_column": self.rejected_column}


class DatasetSpec(Section):
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
    dedupe: Literal["exact", "normalized", "none"] = Field(
        default="exact", description="Duplicate rows dropped before the split, so none is in both: `exact` "
        "(same text after stripping), `normalized` (also equal ignoring case, punctuation and spacing: catches "
        "scraped near-copies), or `none`.")
    min_chars: int = Field(default=1, ge=1, description="Shortest field kept, in characters after stripping; "
                           "5–10 drops 'ok'-style rows that teach little.")
    max_chars: int | None = Field(default=None, ge=1, description="Longest field kept, "
                                  "in characters (None = no bound). Rows over max_length tokens are cut anyway; "
                                  "this drops outliers instead of training on their first part.")

    @field_validator("max_chars")
    @classmethod
    def _max_above_min(cls, max_chars: int | None, info: ValidationInfo) -> int | None:
        min_chars = info.data.get("min_chars")
        if max_chars is not None and min_chars is not None and max_chars < min_chars:
            raise ValueError(f"`min_chars <= max_chars` must hold, but got (min_chars={min_chars}, "
                             f"max_chars={max_chars})")
        return max_chars


TaskSpec = Annotated[CausalLmTaskSpec | ClassificationTaskSpec | DpoTaskSpec, Field(discriminator="type")]
# task.type → its section; the first is the default, and the task of a file that gives no type.
TASKS: dict[str, type[_TaskSection]] = {
    model.model_fields["type"].default: model for model in get_args(get_args(TaskSpec)[0])}


# The sections that are tagged unions: section → (the key that picks the member, tag → member model).
TAGGED_SECTIONS: dict[str, tuple[str, dict[str, type[Section]]]] = {"method": ("name", METHODS),
                                                                     "task": ("type", TASKS)}


class TrainingSpec(Section):
    learning_rate: float = Field(default=2e-4, gt=0, description="Peak learning rate; LoRA likes 1e-4–1e-3, "
                                 "full fine-tuning 1e-5–1e-4.")
    batch_size: int = Field(default=8, ge=1, description="Examples per optimizer step over all workers (the "
                            "global batch): each of the resources.workers takes batch_size / workers, so it must "
                            "be a multiple of workers, and 1 or N workers train on the same batches.")
    micro_batch_size: int | None = Field(
        default=None, ge=1, description="Most examples a worker puts through one forward/backward pass (None = "
        "its whole share of batch_size). The share is cut into the largest micro-batches that divide it and "
        "are no larger; gradient accumulation makes up the rest, so the effective batch stays batch_size. A "
        "trial that runs out of memory halves it and starts again by itself.")
    epochs: float = Field(default=1, gt=0, description="Passes over the training split (may be fractional).")
    max_steps: int | None = Field(default=None, ge=1, description="Stop after this many optimizer steps "
                                  "(overrides epochs; None = run the epochs).")
    eval_every_steps: int = Field(default=20, ge=1, description="Evaluate and report to Ray every N optimizer "
                                  "steps: one report = one ASHA time unit.")
    optimizer: Literal["adamw", "sgd"] = Field(
        default="adamw", description="`adamw` (torch AdamW, the usual choice) or `sgd` (plain SGD, no momentum: "
        "no optimizer state, so less memory for `full`; wants learning rates ~100× higher).")
    weight_decay: float = Field(default=0.0, ge=0, description="Weight decay; 0–0.1. Decoupled for AdamW, "
                                "L2 for SGD.")
    warmup_ratio: float = Field(default=0.0, ge=0, lt=1, description="Share of steps with linear LR warm-up.")
    lr_scheduler: Literal["linear", "cosine", "constant", "constant_with_warmup"] = Field(
        default="linear", description="Learning-rate schedule after warm-up.")
    max_grad_norm: float = Field(default=1.0, gt=0, description="Gradient clipping norm; 1.0 is the HF default.")
    gradient_checkpointing: bool = Field(default=False, description="Recompute activations in backward "
                                         "(use_reentrant=False): less memory, ~30% slower.")
    seed: int = Field(default=42, description="Seed for model init of adapters and data order.")


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


class ResourcesSpec(Section):
    workers: int = Field(default=1, ge=1, description="Ray Train workers per trial. Above 1 the base model "
                         "is FSDP2-sharded over them (each holds about 1/workers of its weights; gloo on CPU, NCCL "
                         "on GPU) and the adapter is replicated, its gradients averaged.")
    cpus_per_worker: float = Field(default=1, gt=0, description="CPUs each Train worker reserves.")
    use_gpu: bool = Field(default=False, description="Give each Train worker one GPU.")


class WandbSpec(Section):
    mode: Literal["online", "offline", "disabled"] = Field(
        default="offline", description="offline writes run files under the sweep directory (`wandb sync` "
        "uploads them later); online needs WANDB_API_KEY in the environment or ~/.netrc.")
    project: str = Field(default="finesweep", description="W&B project; the sweep name is the run group.")
    entity: str | None = Field(default=None, description="W&B entity (team or user); None = your default.")


class TrackingSpec(Section):
    wandb: WandbSpec = Field(default_factory=WandbSpec, description="Weights & Biases reporting.")


class StorageSpec(Section):
    path: str = Field(default="runs", description="Where sweeps are stored; the sweep goes to <path>/<name>. "
                      "A local path on one machine; an NFS path or s3:// bucket for multi-node clusters.")
    keep_checkpoints: int = Field(default=2, ge=1, description="Best adapter checkpoints kept per trial.")
    shared: bool = Field(default=False, description="Declare that `path` is a mount every node sees (NFS, a "
                         "shared disk). `finesweep submit` refuses a local path on a multi-node cluster unless "
                         "it is declared shared; s3:// and gs:// paths are shared already.")


class SweepSpec(Section):
    name: str = Field(description="Sweep name: letters, digits, `-`, `_`, `.`; the sweep directory's name.")
    model: ModelSpec
    task: TaskSpec = Field(default_factory=CausalLmTaskSpec, description="What is trained, chosen by "
                           "`task.type`; each task has its own fields below and reports its own metrics "
                           "(search.metric).")
    dataset: DatasetSpec
    method: MethodSpec = Field(default_factory=LoraSpec, description="Fine-tuning method, chosen by "
                               "`method.name`; each method has its own fields below (and searchable paths). "
                               "More than 1 resources.workers (FSDP2) is supported for lora only.")
    training: TrainingSpec = Field(default_factory=TrainingSpec)
    search: SearchSpec = Field(default_factory=SearchSpec)
    search_space: SearchSpace = Field(default_factory=dict, description="Dotted spec path → distribution.")
    scheduler: SchedulerSpec = Field(default_factory=SchedulerSpec)
    resources: ResourcesSpec = Field(default_factory=ResourcesSpec)
    tracking: TrackingSpec = Field(default_factory=TrackingSpec)
    storage: StorageSpec = Field(default_factory=StorageSpec)

    @field_validator("method", "task", mode="before")
    @classmethod
    def _first_unless_tagged(cls, section: Any, info: ValidationInfo) -> Any:
        # A method without a name is LoRA and a task without a type causal_lm, as before there were others.
        tag, registry = TAGGED_SECTIONS[info.field_name]
        if isinstance(section, dict) and tag not in section:
            return {tag: next(iter(registry)), **section}
        return section

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
