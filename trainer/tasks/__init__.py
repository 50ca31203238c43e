"""``task.type`` → the function that builds its Hugging Face ``Trainer`` (data, model, metrics) for one
trial, one module per task; :func:`trainer.train_loop.build_trainer` dispatches on it. A new task is its
spec section (:mod:`sweeps.spec.tasks`: fields, metrics, limits) and one module and entry here."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from trainer.tasks.causal_lm import build_causal_lm_trainer
from trainer.tasks.classification import build_classification_trainer
from trainer.tasks.dpo import build_dpo_trainer

if TYPE_CHECKING:
    from transformers import Trainer

# Each is called as builder(spec, output_dir=..., callbacks=...) and puts the task's own callbacks before
# ``callbacks``: they may add metrics (eval_<name>) to an evaluation's before the report to Ray reads them.
TASK_BUILDERS: dict[str, Callable[..., Trainer]] = {
    "causal_lm": build_causal_lm_trainer,
    "classification": build_classification_trainer,
    "dpo": build_dpo_trainer,
}
