"""The ``task`` section: what is trained, one model per ``task.type``, each with the columns it reads, the
metrics it reports and the methods and workers it is proven with. A new task is a section here and a
Trainer builder in :mod:`trainer.tasks`."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, get_args

from pydantic import Field

from sweeps.spec.data import DatasetSpec
from sweeps.spec.methods import METHODS
from sweeps.spec.section import Section


class _TaskSection(Section):
    # Declared here so that `type` comes first in every task's section (and in the reference).
    type: str

    # The metrics the task reports at each evaluation, with the direction that is better.
    metrics: ClassVar[dict[str, Literal["min", "max"]]] = {"eval_loss": "min"}
    # The methods the task is proven to train with.
    methods: ClassVar[tuple[str, ...]] = tuple(METHODS)
    # Why the task runs on one worker only (None: FSDP2 across workers works).
    one_worker_because: ClassVar[str | None] = None

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

    metrics: ClassVar[dict[str, Literal["min", "max"]]] = {"eval_loss": "min", "perplexity": "min",
                                                          "rouge_l": "max"}

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

    metrics: ClassVar[dict[str, Literal["min", "max"]]] = {"eval_loss": "min", "accuracy": "max", "f1_macro": "max"}
    # Proven by tests/trainer/test_classification.py. PEFT's prefix tuning needs the model to take past key
    # values, which Llama's sequence classifier refuses; qlora is untested here (no CUDA).
    methods: ClassVar[tuple[str, ...]] = ("lora", "adalora", "ia3", "prompt_tuning", "full", "freeze")
    one_worker_because: ClassVar[str | None] = "FSDP2 sharding is proven for causal_lm only"

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

    # TRL's eval_rewards/accuracies and eval_rewards/margins, renamed by trainer.tasks.dpo.RewardMetrics.
    metrics: ClassVar[dict[str, Literal["min", "max"]]] = {"eval_loss": "min", "reward_accuracy": "max",
                                                          "reward_margin": "max"}
    # lora: TRL's reference model is the base with the adapter disabled; full: TRL loads a frozen copy.
    methods: ClassVar[tuple[str, ...]] = ("lora", "full")
    one_worker_because: ClassVar[str | None] = "TRL's DPO trainer under FSDP2 sharding is untested"

    def columns(self, dataset: DatasetSpec) -> dict[str, str]:
        return {"dataset.prompt_column": dataset.prompt_column, "task.chosen_column": self.chosen_column,
                "task.rejected_column": self.rejected_column}



TaskSpec = Annotated[CausalLmTaskSpec | ClassificationTaskSpec | DpoTaskSpec, Field(discriminator="type")]
# task.type → its section; the first is the default, and the task of a file that gives no type.
TASKS: dict[str, type[_TaskSection]] = {
    model.model_fields["type"].default: model for model in get_args(get_args(TaskSpec)[0])}
