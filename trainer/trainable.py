"""The Tune function trainable: one call = one trial, which runs a Ray Train ``TorchTrainer``.

This is Train V2's pattern for Tune + Train (passing a ``TorchTrainer`` to ``Tuner`` is deprecated):
the Train run is named after the trial id, so a restarted trial continues its own run, and
``TuneReportCallback`` forwards rank 0's reports into the Tune trial. Only the Train workers import torch
(:mod:`trainer.torch_backend`); each process of the trial marks its start-up phases (:mod:`trainer.startup`).

A trial whose workers run out of memory starts its Train run again with half the micro-batch and twice the
gradient accumulation (the same effective batch), until the micro-batch is 1. Any other failure (a lost node,
an error in training) fails the trial, and Tune starts it again up to ``resources.max_failures`` times; each
start goes on from the run's latest checkpoint.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sweeps.config.resource_checks import worker_bundle
from trainer import startup

if TYPE_CHECKING:
    from sweeps.spec import SweepSpec

log = logging.getLogger(__name__)

# Train's controller polls its workers every 2 s by default, and a worker's report waits for that poll (Train
# holds one unread result per worker): a trial evaluating more often than every 2 s lost about 1 s per report
# (BENCHMARKS.md, M1). A poll is one small actor call per worker. A value the user set is kept.
TRAIN_POLL_ENV = "RAY_TRAIN_HEALTH_CHECK_INTERVAL_S"
TRAIN_POLL_SECONDS = "0.25"


def run_trial(config: dict[str, Any], *, spec: SweepSpec, searched: tuple[str, ...],
              loop: Callable[[dict[str, Any]], None] | None = None) -> None:
    """Train ``spec`` with this trial's sampled ``config`` applied (only the ``searched`` spec paths).

    ``loop`` replaces :func:`trainer.train_loop.train_loop` on each worker (benchmarks add a step timer,
    tests inject a failure)."""
    from ray.train import TrainingFailedError

    from trainer.arguments import micro_batching

    startup.mark("actor_start")
    params = {path: value for path, value in config.items() if path in searched}
    trial_spec = spec.with_params(params)
    for oom_retries in itertools.count():
        try:
            fit_trial(trial_spec, config=config, loop=loop, oom_retries=oom_retries)
            return
        except TrainingFailedError as error:
            micro_batch = micro_batching(trial_spec)[0]
            if micro_batch == 1 or not out_of_memory(error):
                raise
            log.warning("trial ran out of memory with micro-batch %d; starting again with %d", micro_batch,
                        micro_batch // 2)
            trial_spec = trial_spec.with_params({"training.micro_batch_size": micro_batch // 2})


def fit_trial(trial_spec: SweepSpec, *, config: dict[str, Any], loop: Callable[[dict[str, Any]], None] | None,
              oom_retries: int) -> None:
    """One Train run of the trial: ``ray.train.torch.TorchTrainer``'s run, built from its torch-free parts
    (:mod:`trainer.torch_backend`) so that this process and Train's controller never import torch. Started
    again (same name), Ray restores the run's checkpoints and the workers go on from the latest
    (:func:`trainer.train_loop.train_trial`)."""
    import ray.train
    import ray.tune
    from ray.train.v2.api.data_parallel_trainer import DataParallelTrainer

    from sweeps.core.layout import TRAIN_DIR
    from trainer.torch_backend import TorchBackendConfig
    from trainer.train_loop import train_loop
    from trainer.trial_report import TrialReportCallback

    os.environ.setdefault(TRAIN_POLL_ENV, TRAIN_POLL_SECONDS)  # Train passes it on to its controller
    resources = trial_spec.resources
    loop_config = {"trial_spec": trial_spec, "params": config, "oom_retries": oom_retries,
                   startup.STARTUP_KEY: startup.marks()}
    DataParallelTrainer(
        loop or train_loop,
        train_loop_config=loop_config,
        backend_config=TorchBackendConfig(),
        scaling_config=ray.train.ScalingConfig(
            num_workers=resources.workers,
            use_gpu=resources.use_gpu,
            resources_per_worker={"CPU": worker_bundle(trial_spec)["CPU"]},
        ),
        run_config=ray.train.RunConfig(
            name=ray.tune.get_context().get_trial_id(),
            storage_path=f"{trial_spec.sweep_dir}/{TRAIN_DIR}",
            checkpoint_config=ray.train.CheckpointConfig(
                num_to_keep=trial_spec.storage.keep_checkpoints,
                checkpoint_score_attribute=trial_spec.search.metric,
                checkpoint_score_order=trial_spec.search.mode,
            ),
            callbacks=[TrialReportCallback()],
        ),
    ).fit()


def out_of_memory(error: BaseException) -> bool:
    """Whether a Train run failed because a worker ran out of memory: torch's ``OutOfMemoryError`` (CUDA),
    Ray's memory monitor killing the worker, or the CPU allocator giving up."""
    failures = [error, *getattr(error, "worker_failures", {}).values()]
    return any("OutOfMemoryError" in f"{type(failure).__name__}: {failure}"
               or "can't allocate memory" in str(failure) for failure in failures)

