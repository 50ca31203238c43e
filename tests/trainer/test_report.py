"""What reaches Ray from an evaluation: every metric the task computed, under the name search.metric uses."""

from __future__ import annotations

import math

from trainer.report import RayReportCallback
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
