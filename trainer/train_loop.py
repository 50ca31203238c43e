"""What each Ray Train worker runs for one trial: data, model, Hugging Face ``Trainer``, reports.

transformers and the tasks load inside the functions: the trial actor imports this module only to hand
:func:`train_loop` to Ray Train, and needs neither torch nor transformers itself."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from trainer import startup

if TYPE_CHECKING:
    from transformers import Trainer, TrainerCallback

    from sweeps.spec import SweepSpec


def train_loop(config: dict[str, Any], *, callbacks: Sequence[TrainerCallback] = (),
               checkpoints: bool = True) -> None:
    """Train one trial's spec (``config["trial_spec"]``) and report each evaluation to Ray. Benchmarks add
    ``callbacks`` (a step timer) and turn the reports' adapter ``checkpoints`` off (M5's baseline)."""
    startup.mark("worker_start")
    import_training_libraries()
    set_torch_threads(config["trial_spec"])
    train(config["trial_spec"], callbacks=[*callbacks, report_callback(config, checkpoints=checkpoints)])


def import_training_libraries() -> None:
    """Import what every task's trainer runs on, in this process only (the trial actor and Train's controller
    need none of it), and mark the start-up phase it costs."""
    import datasets  # noqa: F401
    import peft  # noqa: F401
    import torch  # noqa: F401
    import transformers  # noqa: F401

    import trainer.tasks  # noqa: F401

    startup.mark("imports")


def set_torch_threads(spec: SweepSpec) -> None:
    """One torch thread per CPU the worker was given: Ray's own default floors the worker's reservation, which
    the trial's sliver makes a little less than ``cpus_per_worker`` (1.995 would give 1 thread)."""
    import torch

    torch.set_num_threads(max(1, round(spec.resources.cpus_per_worker)))


def report_callback(config: dict[str, Any], *, checkpoints: bool = True) -> TrainerCallback:
    """The callback that reports a Train run's evaluations (and its micro-batching) to Ray."""
    from trainer.arguments import micro_batching
    from trainer.report import RayReportCallback, last_reported_step

    spec: SweepSpec = config["trial_spec"]
    micro_batch, accumulation_steps = micro_batching(spec)
    run_info = {"oom_retries": config.get("oom_retries", 0), "micro_batch_size": micro_batch,
                "gradient_accumulation_steps": accumulation_steps}
    # Only a retry inside the same Tune trial has already told Tune the earlier steps; a resumed trial starts
    # Tune's record of it afresh, so it reports every step again.
    reported = last_reported_step() if run_info["oom_retries"] else 0
    return RayReportCallback(metric=spec.search.metric, mode=spec.search.mode, params=config["params"],
                             checkpoints=checkpoints, run_info=run_info, reported_through_step=reported,
                             examples_per_step=spec.training.batch_size,
                             startup_marks=config.get(startup.STARTUP_KEY))


def train(spec: SweepSpec, *, callbacks: Sequence[TrainerCallback]) -> None:
    """Load the data and model of ``spec`` and run the Hugging Face ``Trainer`` with ``callbacks``; no Ray
    needed (bench/m1_overhead.py runs it bare, to price what the sweep adds)."""
    with tempfile.TemporaryDirectory() as scratch_dir:
        build_trainer(spec, output_dir=scratch_dir, callbacks=callbacks).train()


def build_trainer(spec: SweepSpec, *, output_dir: str, callbacks: Sequence[TrainerCallback] = ()) -> Trainer:
    """The Hugging Face ``Trainer`` of one trial on this process, data and model loaded, built by the
    ``spec.task.type``'s builder (:data:`trainer.tasks.TASK_BUILDERS`). With ``resources.workers`` > 1 every
    rank of an initialised process group calls it (Ray Train's workers, or a test's processes) and the base
    model is FSDP2-sharded over them (see :mod:`trainer.fsdp`)."""
    from trainer.tasks import TASK_BUILDERS

    return TASK_BUILDERS[spec.task.type](spec, output_dir=output_dir, callbacks=callbacks)
