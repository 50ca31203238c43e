"""What reaches Ray from an evaluation: every metric the task computed, under the name search.metric uses."""

from __future__ import annotations

import math

import pytest
from transformers import TrainerState

from trainer.report import NonFiniteLossError, RayReportCallback
from trainer.tasks.causal_lm import Perplexity


def test_every_eval_metric_is_reported_under_its_plain_name_without_the_trainer_timings():
    report = RayReportCallback(metric="accuracy", mode="max", params={})
    evaluation = {"eval_loss": 0.5, "eval_accuracy": 0.75, "eval_f1_macro": 0.5, "eval_rouge_l": 0.25,
                  "eval_runtime": 1.5, "eval_samples_per_second": 16.0, "eval_steps_per_second": 2.0, "epoch": 1.0}
    assert report._metrics(evaluation, step=3, epoch=1.0) == {
        "eval_loss": 0.5, "accuracy": 0.75, "f1_macro": 0.5, "rouge_l": 0.25, "step": 3, "epoch": 1.0,
        "best_accuracy": 0.75}
    assert report._metrics({**evaluation, "eval_accuracy": 0.5}, step=6, epoch=2.0)["best_accuracy"] == 0.75


def test_perplexity_is_the_causal_lm_task_s_own_metric():
    evaluation = {"eval_loss": 2.0}
    Perplexity().on_evaluate(None, None, None, metrics=evaluation)
    reported = RayReportCallback(metric="perplexity", mode="min", params={})._metrics(evaluation, step=1, epoch=None)
    assert reported["perplexity"] == reported["best_perplexity"] == math.exp(2.0)
    # A diverged run's loss is capped, so its perplexity stays a number that ranks it last.
    diverged = {"eval_loss": 1e4}
    Perplexity().on_evaluate(None, None, None, metrics=diverged)
    assert diverged["eval_perplexity"] == math.exp(50.0)
    # Without the task's callback (classification) there is no perplexity to report.
    assert "perplexity" not in RayReportCallback(metric="eval_loss", mode="min", params={})._metrics(
        {"eval_loss": 2.0, "eval_accuracy": 0.5}, step=1, epoch=None)


def test_a_nan_or_infinite_training_loss_fails_the_trial_at_once():
    report = RayReportCallback(metric="eval_loss", mode="min", params={})
    state = TrainerState(global_step=4)
    report.on_log(None, state, None, logs={"loss": 2.0})
    for value in (math.nan, math.inf, -math.inf):
        with pytest.raises(NonFiniteLossError, match=f"the training loss became {value} at step 4"):
            report.on_log(None, state, None, logs={"loss": value})


def test_a_nan_eval_loss_fails_the_trial_before_anything_is_reported():
    report = RayReportCallback(metric="eval_loss", mode="min", params={})
    with pytest.raises(NonFiniteLossError, match="the eval loss became nan at step 6"):
        report.on_evaluate(None, TrainerState(global_step=6), None, metrics={"eval_loss": math.nan})


def test_the_reported_train_loss_is_the_mean_of_the_steps_since_the_last_evaluation():
    report = RayReportCallback(metric="eval_loss", mode="min", params={})
    for step, loss in enumerate((4.0, 2.0, 3.0), start=1):
        report.on_log(None, TrainerState(global_step=step), None, logs={"loss": loss})
    assert report._metrics({"eval_loss": 1.0}, step=3, epoch=None)["train_loss"] == 3.0
    report.on_log(None, TrainerState(global_step=4), None, logs={"loss": 1.0})
    assert report._metrics({"eval_loss": 1.0}, step=4, epoch=None)["train_loss"] == 1.0
    assert report._metrics({"eval_loss": 1.0}, step=5, epoch=None)["train_loss"] == 1.0  # no step since: kept
