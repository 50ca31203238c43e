"""The ``dpo`` task: direct preference optimisation of a causal LM on prompt → chosen / rejected pairs, by
TRL's ``DPOTrainer`` (a ``transformers.Trainer``, so finesweep's callbacks and reports work unchanged).

The data is loaded, cleaned, deduped and split like causal_lm's (:mod:`trainer.data`); the prompt reaches
the model in the same form as in SFT and in ``finesweep sample`` (:func:`trainer.prompts.prompt_text`). The
model is loaded like causal_lm's (:mod:`trainer.model`) but the PEFT config is handed to TRL, which then
takes the base with the adapter disabled as the reference model (given a ready ``PeftModel`` instead, TRL
1.16 adds a "ref" copy of the adapter, which every checkpoint would carry); with ``full`` TRL loads a frozen
copy of the base as the reference. The metrics are TRL's own; TRL adds its evaluation metrics to the dict
that ``on_evaluate`` callbacks receive, which is how :class:`RewardMetrics` and the report see them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from transformers import TrainerCallback

from trainer import startup
from trainer.arguments import training_arguments

if TYPE_CHECKING:
    from datasets import DatasetDict
    from transformers import PreTrainedTokenizerBase, Trainer

    from sweeps.spec import SweepSpec
    from trainer.data import DataReport

# TRL's evaluation metrics → the names finesweep reports (DpoTaskSpec.metrics).
REWARD_METRICS = {"eval_rewards/accuracies": "eval_reward_accuracy", "eval_rewards/margins": "eval_reward_margin"}


class RewardMetrics(TrainerCallback):
    """Renames TRL's reward metrics of each evaluation (:data:`REWARD_METRICS`) for the callbacks after it
    (the report to Ray), and every other ``/`` in TRL's names (``eval_logps/chosen``) to ``_``: Ray Tune
    reads ``/`` in a metric's name as nesting."""

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        for name in [name for name in metrics if "/" in name]:
            metrics[REWARD_METRICS.get(name, name.replace("/", "_"))] = metrics.pop(name)


def build_dpo_trainer(spec: SweepSpec, *, output_dir: str, callbacks: Sequence[TrainerCallback]) -> Trainer:
    """The ``DPOTrainer`` of a dpo trial: preference splits, the model, and ``spec.task``'s beta and loss."""
    from trl import DPOConfig, DPOTrainer

    from trainer.data_cache import prepared_data
    from trainer.methods import PEFT_CONFIGS, apply_method, peft_config
    from trainer.model import load_base_model, load_tokenizer

    tokenizer = load_tokenizer(spec.model)
    splits, _ = prepared_data(spec, prepare=lambda: (preference_splits(spec, tokenizer=tokenizer)[0], {}))
    startup.mark("data")
    base = load_base_model(model=spec.model, method=spec.method,
                           gradient_checkpointing=spec.training.gradient_checkpointing)
    model_path = str(spec.model.path)
    peft = peft_config(spec.method, model_path=model_path) if spec.method.name in PEFT_CONFIGS else None
    model = base if peft else apply_method(base, method=spec.method, model_path=model_path)
    startup.mark("model")
    args = training_arguments(
        spec, output_dir=output_dir, args_class=DPOConfig, beta=spec.task.beta, loss_type=[spec.task.loss_type],
        max_length=spec.dataset.max_length,
        # TRL defaults both to on; finesweep's model loading does gradient checkpointing itself (non-reentrant)
        # and computes in model.dtype, as in the other tasks.
        gradient_checkpointing=False, bf16=False)
    return DPOTrainer(
        # TRL seeds (training.seed) and wraps the base itself when given the PEFT config.
        model=model,
        args=args, train_dataset=splits["train"], eval_dataset=splits["eval"],
        processing_class=tokenizer,  # for TRL's tokenising, and for full-model checkpoints (trainer.report)
        peft_config=peft, callbacks=[RewardMetrics(), *callbacks])


def preference_splits(spec: SweepSpec, *, tokenizer: PreTrainedTokenizerBase) -> tuple[DatasetDict, DataReport]:
    """Train and eval splits of a dpo ``spec``'s data in the form TRL reads (:func:`trl_rows`), and the counts
    of cleaning and splitting."""
    from trainer.data import clean_and_split, load_pairs

    columns = spec.task.columns(spec.dataset)
    rows = load_pairs(dataset=spec.dataset, base_dir=spec.dataset.path.parent, columns=columns)
    splits, report = clean_and_split(rows, dataset=spec.dataset, columns=columns)
    return splits.map(trl_rows, fn_kwargs={"tokenizer": tokenizer}), report


def trl_rows(row: dict[str, str], *, tokenizer: PreTrainedTokenizerBase) -> dict[str, object]:
    """One prompt/chosen/rejected row as TRL reads it, so that its prompt tokens are exactly
    :func:`trainer.prompts.prompt_ids`: with a chat template, conversational (TRL applies the template, with the
    generation prompt, without adding special tokens again); without one, plain text (``prompt_text`` is then
    the prompt and a newline, and TRL adds the special tokens and EOS as SFT does)."""
    from trainer.prompts import has_chat_template, prompt_text

    if not has_chat_template(tokenizer):
        return {"prompt": prompt_text(row["prompt"], tokenizer=tokenizer)}
    return {"prompt": [{"role": "user", "content": row["prompt"]}],
            **{reply: [{"role": "assistant", "content": row[reply]}] for reply in ("chosen", "rejected")}}
