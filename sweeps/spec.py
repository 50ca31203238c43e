"""The sweep file, as typed models. Each field's description is its documentation (README's reference
is generated from it), and every default carries a one-line rule of thumb.

One ``SweepSpec`` flows from the YAML file to each Train worker: a trial's sampled values are applied
onto it with :meth:`SweepSpec.with_params`, which validates again, so the trainer reads typed fields only.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

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


class _MethodSection(_Section):
    # Declared here so that `name` comes first in every method's section (and in the reference).
    name: str


class _LowRankSection(_MethodSection):
    alpha: float = Field(default=16, gt=0, description="LoRA scaling numerator (scale = alpha / rank); 2·rank is "
                         "common.")
    dropout: float = Field(default=0.05, ge=0, lt=1, description="Dropout on the LoRA input; 0–0.1.")
    target_modules: list[str] | Literal["all-linear"] = Field(
        default="all-linear", description="Module names to adapt (e.g. [q_proj, v_proj]) or `all-linear`.")


class LoraSpec(_LowRankSection):
    name: Literal["lora"] = Field(default="lora", description="`lora`: PEFT LoRA adapters, low-rank updates of "
                                  "the target modules; the usual first choice.")
    r: int = Field(default=8, ge=1, description="LoRA rank: 4–64; the adapter size grows linearly with it.")


class QLoraSpec(LoraSpec):
    name: Literal["qlora"] = Field(
        default="qlora", description="`qlora`: LoRA on a 4-bit (NF4, bitsandbytes) base model, about 1/4 of the "
        "base weights' memory, computing in model.dtype (bfloat16 is the usual); needs a CUDA GPU, bitsandbytes "
        "and resources.use_gpu.")


class AdaLoraSpec(_LowRankSection):
    name: Literal["adalora"] = Field(default="adalora", description="`adalora`: LoRA whose rank budget moves "
                                     "during training to the modules that matter most (PEFT AdaLoRA).")
    init_r: int = Field(default=12, ge=1, description="Rank every module starts with; about 1.5× target_r.")
    target_r: int = Field(default=8, ge=1, validate_default=True, description="Average rank left at the end of "
                          "training; 4–16. The budget shrinks from init_r to it over the whole run (its length "
                          "comes from training).")

    @field_validator("target_r")
    @classmethod
    def _target_below_init(cls, target_r: int, info: ValidationInfo) -> int:
        init_r = info.data.get("init_r")
        if init_r is not None and target_r > init_r:
            raise ValueError(f"`target_r <= init_r` must hold, but got (target_r={target_r}, init_r={init_r})")
        return target_r


class IA3Spec(_MethodSection):
    name: Literal["ia3"] = Field(default="ia3", description="`ia3`: (IA)³, learned vectors that rescale "
                                 "activations; ~10× fewer weights than LoRA, likes higher learning rates (1e-3–1e-2).")
    target_modules: list[str] | None = Field(
        default=None, description="Modules whose activations are rescaled; None = PEFT's choice for the "
        "architecture (k_proj, v_proj, down_proj for Llama).")
    feedforward_modules: list[str] | None = Field(
        default=None, description="Which of target_modules are feed-forward (their input is rescaled, not "
        "their output); None = PEFT's choice (down_proj for Llama). Needs target_modules when given.")

    @field_validator("feedforward_modules")
    @classmethod
    def _feedforward_among_targets(cls, modules: list[str] | None, info: ValidationInfo) -> list[str] | None:
        targets = info.data.get("target_modules")
        if modules is not None and (targets is None or not set(modules) <= set(targets)):
            raise ValueError(f"`feedforward_modules ⊆ target_modules` must hold, but got (feedforward_modules="
                             f"{modules}, target_modules={targets})")
        return modules


class PromptTuningSpec(_MethodSection):
    name: Literal["prompt_tuning"] = Field(
        default="prompt_tuning", description="`prompt_tuning`: trainable embeddings of virtual tokens put before "
        "every input; the smallest adapter, weakest on small models.")
    num_virtual_tokens: int = Field(default=20, ge=1, description="Virtual tokens prepended to every input: "
                                    "8–32; each adds one token to every sequence's cost.")
    init_text: str | None = Field(default=None, description="Text whose token embeddings start the virtual "
                                  "tokens (e.g. a task description; repeated or cut to num_virtual_tokens); "
                                  "None = random start. Text usually converges faster.")


class PrefixTuningSpec(_MethodSection):
    name: Literal["prefix_tuning"] = Field(
        default="prefix_tuning", description="`prefix_tuning`: trainable keys and values of virtual tokens in "
        "every attention layer; more capacity than prompt_tuning.")
    num_virtual_tokens: int = Field(default=20, ge=1, description="Virtual tokens per layer: 8–32; each adds "
                                    "one key/value to every layer's attention.")


class FullSpec(_MethodSection):
    name: Literal["full"] = Field(default="full", description="`full`: every weight trains, no PEFT; about 4× "
                                  "the model's size in memory with AdamW, wants ~10× lower learning rates "
                                  "(1e-5–1e-4). Checkpoints hold the whole model.")


class FreezeSpec(_MethodSection):
    name: Literal["freeze"] = Field(default="freeze", description="`freeze`: only the top k transformer layers "
                                    "and the LM head train, the rest stays frozen. Checkpoints hold the whole "
                                    "model (loadable on its own).")
    k: int = Field(default=2, ge=1, description="Top transformer layers that train: 1–4 of the model's "
                   "num_hidden_layers (at most all of them). With tied embeddings the LM head is the input "
                   "embedding too.")


MethodSpec = Annotated[LoraSpec | QLoraSpec | AdaLoraSpec | IA3Spec | PromptTuningSpec | PrefixTuningSpec | FullSpec
                       | FreezeSpec, Field(discriminator="name")]
# method.name → its section; the first is the default, and the method of a file that gives no name.
METHODS: dict[str, type[_MethodSection]] = {
    model.model_fields["name"].default: model for model in get_args(get_args(MethodSpec)[0])}


class TrainingSpec(_Section):
    learning_rate: float = Field(default=2e-4, gt=0, description="Peak learning rate; LoRA likes 1e-4–1e-3, "
                                 "full fine-tuning 1e-5–1e-4.")
    batch_size: int = Field(default=8, ge=1, description="Examples per optimizer step over all workers (the "
                            "global batch): each of the resources.workers takes batch_size / workers, so it must "
                            "be a multiple of workers, and 1 or N workers train on the same batches.")
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
    shared: bool = Field(default=False, description="Declare that `path` is a mount every node sees (NFS, a "
                         "shared disk). `finesweep submit` refuses a local path on a multi-node cluster unless "
                         "it is declared shared; s3:// and gs:// paths are shared already.")


class SweepSpec(_Section):
    name: str = Field(description="Sweep name: letters, digits, `-`, `_`, `.`; the sweep directory's name.")
    model: ModelSpec
    task: TaskSpec = Field(default_factory=TaskSpec)
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

    @field_validator("method", mode="before")
    @classmethod
    def _lora_unless_named(cls, method: Any) -> Any:
        # A method section without a name is LoRA, as it was before there were other methods.
        if isinstance(method, dict) and "name" not in method:
            return {"name": next(iter(METHODS)), **method}
        return method

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
