"""ROUGE-L of a causal LM's own answers: greedy generations for a few eval prompts, scored against the
eval responses with Google's ``rouge_score`` (the reference implementation of ROUGE-1.5.5's ROUGE-L)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from transformers import TrainerCallback

from trainer.inference import generate_answers

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase


class RougeOnSample(TrainerCallback):
    """Adds ``eval_rouge_l`` (mean ROUGE-L F1 of greedy generations for ``prompts`` against ``references``) to
    each evaluation's metrics, for the report to Ray after it. Put it before the report callback."""

    def __init__(self, *, prompts: Sequence[str], references: Sequence[str], tokenizer: PreTrainedTokenizerBase,
                 max_new_tokens: int):
        from rouge_score import rouge_scorer

        self.prompts = list(prompts)
        self.references = list(references)
        self.tokenizer = tokenizer
        self.max_new_tokens = max_new_tokens
        self.scorer = rouge_scorer.RougeScorer(["rougeL"])

    def on_evaluate(self, args, state, control, metrics=None, model=None, **kwargs):
        answers = generate_answers(model, prompts=self.prompts, tokenizer=self.tokenizer,
                                   max_new_tokens=self.max_new_tokens)
        scores = [self.scorer.score(reference, answer)["rougeL"].fmeasure
                  for reference, answer in zip(self.references, answers, strict=True)]
        metrics["eval_rouge_l"] = sum(scores) / len(scores)
