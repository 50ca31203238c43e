"""The Tune function trainable: one call = one trial, which runs a Ray Train ``TorchTrainer``.

This is Train V2's pattern for Tune + Train (passing a ``TorchTrainer`` to ``Tuner`` is deprecated):
the Train run is named after the trial id, so a restarted trial continues its own run, and
``TuneReportCallback`` forwards rank 0's reports into the Tune trial.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sweeps.spec import SweepSpec


def run_trial(config: dict[str, Any], *, spec: SweepSpec, searched: tuple[str, ...],
              loop: Callable[[dict[str, Any]], None] | None = None) -> None:
    """Train ``spec`` with this trial's sampled ``config`` applied (only the ``searched`` spec paths).

    ``loop`` replaces :func:`trainer.train_loop.train_loop` on each worker (benchmarks add a step timer)."""
    import ray.train
    import ray.tune
    from ray.train.torch import TorchTrainer
    from ray.tune.integration.ray_train import TuneReportCallback

    from sweeps.layout import TRAIN_DIR
    from trainer.train_loop import train_loop

    params = {path: value for path, value in config.items() if path in searched}
    trial_spec = spec.with_params(params)
    resources = spec.resources
    trainer = TorchTrainer(
        loop or train_loop,
        train_loop_config={"trial_spec": trial_spec, "params": config},
        scaling_config=ray.train.ScalingConfig(
            num_workers=resources.workers,
            use_gpu=resources.use_gpu,
            resources_per_worker={"CPU": resources.cpus_per_worker},
        ),
        run_config=ray.train.RunConfig(
            name=ray.tune.get_context().get_trial_id(),
            storage_path=f"{spec.sweep_dir}/{TRAIN_DIR}",
            checkpoint_config=ray.train.CheckpointConfig(
                num_to_keep=spec.storage.keep_checkpoints,
                checkpoint_score_attribute=spec.search.metric,
                checkpoint_score_order=spec.search.mode,
            ),
            callbacks=[TuneReportCallback()],
        ),
    )
    trainer.fit()
