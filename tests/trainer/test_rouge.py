"""ROUGE-L of greedy generations on a sample of eval prompts, reported as rouge_l."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sweeps.config.loading import load_spec
from sweeps.spec import ModelSpec
from trainer.inference import generate_answers
from trainer.model import load_tokenizer
from trainer.rouge import RougeOnSample
from trainer.train_loop import build_trainer

PROMPTS = ["what is the capital of france", "hi", "name a colour that is also a fruit please"]


@pytest.fixture(scope="module")
def tiny_model_and_tokenizer(tiny_model_dir: Path):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(tiny_model_dir), load_tokenizer(ModelSpec(path=tiny_model_dir))


def test_batched_left_padded_answers_equal_one_by_one_answers(tiny_model_and_tokenizer) -> None:
    model, tokenizer = tiny_model_and_tokenizer
    model.train()  # as the Trainer leaves it mid-run: generation must not switch dropout off for good
    batched = generate_answers(model, prompts=PROMPTS, tokenizer=tokenizer, max_new_tokens=6)
    assert model.training
    alone = [generate_answers(model, prompts=[prompt], tokenizer=tokenizer, max_new_tokens=6)[0]
             for prompt in PROMPTS]
    assert batched == alone


def test_rouge_is_one_for_the_models_own_answers_and_lower_for_others(tiny_model_and_tokenizer) -> None:
    model, tokenizer = tiny_model_and_tokenizer
    own = generate_answers(model, prompts=PROMPTS, tokenizer=tokenizer, max_new_tokens=6)
    scored = {}
    for name, references in {"own": own, "other": ["zebra quantum"] * len(PROMPTS)}.items():
        metrics = {"eval_loss": 1.0}
        RougeOnSample(prompts=PROMPTS, references=references, tokenizer=tokenizer, max_new_tokens=6).on_evaluate(
            None, None, None, metrics=metrics, model=model)
        scored[name] = metrics["eval_rouge_l"]
    # A random model may answer with punctuation only, which ROUGE's tokenizer reads as no words: score 0.
    worded = [bool(re.search("[a-z0-9]", answer.lower())) for answer in own]
    assert any(worded)
    assert scored["own"] == pytest.approx(sum(worded) / len(worded)) and scored["other"] < scored["own"]


def test_a_causal_lm_trial_reports_rouge_l_at_each_evaluation(tmp_path: Path, tiny_model_dir: Path,
                                                             qa_data_path: Path) -> None:
    from tests.helpers.sweeps import write_tiny_sweep

    spec = load_spec(write_tiny_sweep(tmp_path / "sweep.yaml", model_dir=tiny_model_dir, data_path=qa_data_path,
                                      task={"type": "causal_lm", "rouge_samples": 4, "max_new_tokens": 4}),
                     overrides=["search.metric=rouge_l", "search.mode=max"])
    metrics = build_trainer(spec, output_dir=str(tmp_path / "out")).evaluate()
    assert 0.0 <= metrics["eval_rouge_l"] <= 1.0
