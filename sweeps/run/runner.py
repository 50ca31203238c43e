"""Run a sweep: Ray Tune ``Tuner`` with Optuna search, an early-stopping scheduler and one Ray Train run per trial."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from sweeps.config.loading import read_spec
from sweeps.config.space import effective_space
from sweeps.core.layout import JOURNAL_FILE, SPEC_FILE, TRAIN_DIR, TUNE_DIR
from sweeps.core.net import free_loopback_port
from sweeps.run.warm_start import past_trials, reference_curves
from trainer.trainable import run_trial

if TYPE_CHECKING:
    from ray.tune import Callback, ResultGrid

    from sweeps.spec import SweepSpec

# The trial function only waits on its Train workers; a sliver of a CPU leaves them the cores.
TRIAL_DRIVER_CPUS = 0.01
# ASHA's top rung in reports when the training length is not known before the data is loaded (Ray's default).
DEFAULT_MAX_REPORTS = 100


def run_sweep(spec: SweepSpec, *, address: str | None = None, callbacks: Sequence[Callback] = (),
              trainable: Callable[[dict[str, Any]], None] | None = None, reuse_actors: bool = False) -> ResultGrid:
    """Run every trial of ``spec`` and return Tune's results; a failed trial is recorded, the sweep goes on.

    ``trainable`` replaces the Ray Train trial (``finesweep replay`` plays recorded curves through the same
    searcher, scheduler and bookkeeping); it receives the trial's sampled spec paths as its config.
    ``reuse_actors=True`` suits only a trainable that owns no Ray Train workers (replay): a Train trial's
    workers would go stale in a reused actor, but a fresh Python worker per trial dominates a replay's cost.
    """
    sweep_dir = prepare_sweep_dir(spec)
    init_ray(address)
    return build_tuner(spec, sweep_dir=sweep_dir, callbacks=callbacks, trainable=trainable,
                       reuse_actors=reuse_actors).fit()


def resume_sweep(sweep_dir: Path, *, address: str | None = None) -> ResultGrid:
    """Continue an interrupted sweep: finished trials are kept, unfinished and failed ones run again, and
    the searcher continues from its saved state and the study journal."""
    from ray import tune

    spec = read_spec(sweep_dir)
    init_ray(address)
    tuner = tune.Tuner.restore(str(Path(sweep_dir).resolve() / TUNE_DIR), trainable=trial_trainable(spec),
                               resume_unfinished=True, resume_errored=False, restart_errored=True)
    return tuner.fit()


def init_ray(address: str | None) -> None:
    """Connect to ``address`` or RAY_ADDRESS (set inside a submitted job), else start an embedded Ray."""
    import ray

    # Tune's newer console output prints banners even at verbose=0; the live table is finesweep's.
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    address = address or os.environ.get("RAY_ADDRESS")
    if address:
        ray.init(address=address, ignore_reinit_error=True, log_to_driver=False, configure_logging=False)
        return
    # Embedded, on a GCS port chosen here so that RAY_ADDRESS reaches every Ray process. Without it,
    # Train V2's placement-group cleaner auto-detects the cluster, fails as soon as a second Ray runs on
    # the machine (another sweep, a test), and the CPUs of ASHA-stopped trials are never freed: the next
    # trial then waits for workers until WorkerGroupStartupTimeoutError. (Ray listens on all interfaces
    # whatever ray.init is told; Ray 2.60's default token authentication guards it.)
    port = free_loopback_port()
    os.environ["RAY_GCS_SERVER_PORT"] = str(port)
    os.environ["RAY_ADDRESS"] = f"127.0.0.1:{port}"
    # The dashboard stays on: Train V2 needs its State API to clean up after stopped trials.
    ray.init(address="local", ignore_reinit_error=True, log_to_driver=False, configure_logging=False)


def trial_trainable(spec: SweepSpec, trainable: Callable[[dict[str, Any]], None] | None = None):
    """The Tune trainable with its resources: the Ray Train trial, or ``trainable`` if given."""
    from ray import tune

    function = trainable or tune.with_parameters(run_trial, spec=spec, searched=tuple(effective_space(spec)))
    return tune.with_resources(function, {"cpu": TRIAL_DRIVER_CPUS})


def build_tuner(spec: SweepSpec, *, sweep_dir: Path, callbacks: Sequence[Callback] = (),
                trainable: Callable[[dict[str, Any]], None] | None = None, reuse_actors: bool = False):
    from ray import tune

    return tune.Tuner(
        trial_trainable(spec, trainable),
        tune_config=tune.TuneConfig(
            metric=spec.search.metric,
            mode=spec.search.mode,
            search_alg=build_search(spec, journal_path=sweep_dir / JOURNAL_FILE),
            scheduler=build_scheduler(spec),
            num_samples=spec.search.num_trials,
            max_concurrent_trials=spec.search.max_concurrent_trials,
            reuse_actors=reuse_actors,  # see run_sweep
            trial_name_creator=_trial_id,
            trial_dirname_creator=_trial_id,
        ),
        run_config=tune.RunConfig(
            name=TUNE_DIR,
            storage_path=str(sweep_dir),
            callbacks=[*tracking_callbacks(spec), *callbacks],
            failure_config=tune.FailureConfig(max_failures=0),
            verbose=0,
        ),
    )


def _trial_id(trial) -> str:
    # Module-level (not a lambda) so Tune can pickle it into the experiment state for resume.
    return trial.trial_id


def prepare_sweep_dir(spec: SweepSpec) -> Path:
    """Create the sweep directory and save the resolved spec in it, so results are read without the original."""
    sweep_dir = Path(spec.sweep_dir)
    sweep_dir.mkdir(parents=True, exist_ok=True)
    (sweep_dir / TRAIN_DIR).mkdir(exist_ok=True)
    (sweep_dir / SPEC_FILE).write_text(yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False))
    return sweep_dir


def build_search(spec: SweepSpec, *, journal_path: Path | None):
    """The sweep's searcher; its study lives in ``journal_path`` (None: in memory, for simulations)."""
    from search_spaces.searcher import build_searcher

    return build_searcher(
        space=effective_space(spec),
        metric=spec.search.metric,
        mode=spec.search.mode,
        algorithm=spec.search.algorithm,
        seed=spec.search.seed,
        journal_path=journal_path,
        study_name=spec.name,
        initial_points=spec.search.initial_points,
        prior_weight=spec.search.prior_weight,
        random_fraction=spec.search.random_fraction,
        past_trials=past_trials(spec),
    )


# scheduler.time_unit → the result key it reads (trainer.report reports them all; replay too).
TIME_ATTRS = {"progress": "progress", "steps": "step", "examples": "examples", "reports": "training_iteration"}


def build_scheduler(spec: SweepSpec, *, max_t: float | None = None):
    """ASHA (default), median stopping or none, counting ``scheduler.time_unit``; ``max_t`` is the longest
    trial's length in that unit when the caller knows it (replay), else it comes from the spec."""
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler, MedianStoppingRule

    scheduler = spec.scheduler
    time_attr = TIME_ATTRS[scheduler.time_unit]
    if scheduler.name in ("asha", "curve"):
        grace, top = scheduler.rungs(num_trials=spec.search.num_trials, max_t=max_t or training_length(spec))
        asha = ASHAScheduler(time_attr=time_attr, max_t=top, grace_period=grace,
                             reduction_factor=scheduler.reduction_factor, brackets=scheduler.brackets)
        return asha if scheduler.name == "asha" else _curve_stopping(spec, fallback=asha, grace=grace / top)
    if scheduler.name == "median":
        grace, _ = scheduler.rungs(num_trials=spec.search.num_trials, max_t=max_t or training_length(spec))
        return MedianStoppingRule(time_attr=time_attr, grace_period=grace)
    return FIFOScheduler()


def _curve_stopping(spec: SweepSpec, *, fallback: Any, grace: float):
    from statistics import NormalDist

    from sweeps.run.curve_stopping import CurveStopping

    scheduler = spec.scheduler
    return CurveStopping(fallback=fallback, references=reference_curves(spec), grace=grace, top_k=scheduler.top_k,
                         z=NormalDist().inv_cdf(1 - scheduler.stop_chance))


def training_length(spec: SweepSpec) -> float:
    """The longest trial's training in ``scheduler.time_unit``, from the spec: 1 for progress; from a fixed
    ``training.max_steps`` for the others (config checks refuse steps and examples without one)."""
    unit, training = spec.scheduler.time_unit, spec.training
    if spec.scheduler.max_t is not None or unit == "progress":
        return spec.scheduler.max_t or 1.0
    steps = training.max_steps if "training.max_steps" not in effective_space(spec) else None
    if unit == "reports":
        return math.ceil(steps / training.eval_every_steps) if steps else DEFAULT_MAX_REPORTS
    return float(steps * (training.batch_size if unit == "examples" else 1))


def tracking_callbacks(spec: SweepSpec) -> list[Callback]:
    """W&B: one group per sweep, one run per trial, files under the sweep directory when offline."""
    if spec.tracking.wandb.mode == "disabled":
        return []
    from sweeps.run.tracking import WandbTrialRuns

    return [WandbTrialRuns(spec)]
