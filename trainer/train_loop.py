"""What each Ray Train worker runs for one trial: data, model, Hugging Face ``Trainer``, reports.

transformers and the tasks load inside the functions: the trial actor imports this module only to hand
:func:`train_loop` to Ray Train, and needs neither torch nor transformers itself."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
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
    train_trial(config, callbacks=callbacks, checkpoints=checkpoints)


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


def train_trial(config: dict[str, Any], *, callbacks: Sequence[TrainerCallback] = (),
                checkpoints: bool = True) -> None:
    """Train the trial, going on from the Train run's latest checkpoint when Ray restored one (weights,
    optimizer, schedule and step; the steps before it are not trained again, their reports are repeated for
    Tune, see :func:`trainer.report.report_again`), with ``callbacks`` before the one that reports to Ray."""
    from trainer.report import report_again, restored_checkpoint

    with restored_checkpoint() as restored:
        folder, info, path = restored or (None, {}, "")
        report_again(info.get("reports", []), checkpoint_path=path)
        if info.get("metrics", {}).get("training_finished"):
            return  # a finished run started again (the sweep resumed from a snapshot taken before it ended)
        report = report_callback(config, resumed=info or None, checkpoints=checkpoints)
        train(config["trial_spec"], callbacks=[*callbacks, report], resume_from=folder)


def report_callback(config: dict[str, Any], *, resumed: dict[str, Any] | None = None,
                    checkpoints: bool = True) -> TrainerCallback:
    """The callback that reports a Train run's evaluations (and its micro-batching) to Ray, counting on from
    the checkpoint ``resumed`` (its finesweep.json) when the run goes on from one."""
    from trainer.arguments import micro_batching
    from trainer.report import RayReportCallback

    spec: SweepSpec = config["trial_spec"]
    micro_batch, accumulation_steps = micro_batching(spec)
    run_info = {"oom_retries": config.get("oom_retries", 0), "micro_batch_size": micro_batch,
                "gradient_accumulation_steps": accumulation_steps,
                "resumed_from_step": (resumed or {}).get("step", 0)}
    return RayReportCallback(metric=spec.search.metric, mode=spec.search.mode, params=config["params"],
                             checkpoints=checkpoints, run_info=run_info, resumed=resumed,
                             examples_per_step=spec.training.batch_size,
                             startup_marks=config.get(startup.STARTUP_KEY))


def train(spec: SweepSpec, *, callbacks: Sequence[TrainerCallback], resume_from: Path | None = None) -> None:
    """Load the data and model of ``spec`` and run the Hugging Face ``Trainer`` with ``callbacks``, from the
    checkpoint folder ``resume_from`` if given; no Ray needed (bench/m1_overhead.py runs it bare, to price
    what the sweep adds)."""
    with tempfile.TemporaryDirectory() as scratch_dir:
        trainer = build_trainer(spec, output_dir=scratch_dir, callbacks=callbacks)
        trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)


def build_trainer(spec: SweepSpec, *, output_dir: str, callbacks: Sequence[TrainerCallback] = ()) -> Trainer:
    """The Hugging Face ``Trainer`` of one trial on this process, data and model loaded, built by the
    ``spec.task.type``'s builder (:data:`trainer.tasks.TASK_BUILDERS`). With ``resources.workers`` > 1 every
    rank of an initialised process group calls it (Ray Train's workers, or a test's processes) and the base
    model is FSDP2-sharded over them (see :mod:`trainer.fsdp`)."""
    from trainer.tasks import TASK_BUILDERS

    return TASK_BUILDERS[spec.task.type](spec, output_dir=output_dir, callbacks=callbacks)
