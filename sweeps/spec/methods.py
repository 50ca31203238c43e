"""The ``method`` section of a sweep file: one model per ``method.name``, each with its own searchable fields.

Each field's description is its documentation (README's reference is generated from it)."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, get_args

from pydantic import Field, ValidationInfo, field_validator

from sweeps.spec.section import Section


class _MethodSection(Section):
    # Declared here so that `name` comes first in every method's section (and in the reference).
    name: str

    # Whether more than one resources.workers is proven (trainer/fsdp.py: sharded base, replicated adapter,
    # saved whole).
    shardable: ClassVar[bool] = False


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

    shardable: ClassVar[bool] = True


class QLoraSpec(LoraSpec):
    name: Literal["qlora"] = Field(
        default="qlora", description="`qlora`: LoRA on a 4-bit (NF4, bitsandbytes) base model, about 1/4 of the "
        "base weights' memory, computing in model.dtype (bfloat16 is the usual); needs a CUDA GPU, bitsandbytes "
        "and resources.use_gpu.")

    shardable: ClassVar[bool] = False  # 4-bit weights under FSDP2 are untested


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
