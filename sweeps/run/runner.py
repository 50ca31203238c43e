"""Run a sweep: Ray Tune ``Tuner`` with Optuna search, an early-stopping scheduler and one Ray Train run per trial."""

from __future__ import annotations

import logging
import os
import pickle
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from sweeps.config.loading import read_spec
from sweeps.config.resource_checks import TRIAL_DRIVER_CPUS, fit_problems, this_machine
from sweeps.config.space import effective_space
from sweeps.config.storage_checks import writable_problems
from sweeps.core.errors import UserError
from sweeps.core.files import cut_torn_line, write_atomically
from sweeps.core.layout import JOURNAL_FILE, SPEC_FILE, TRAIN_DIR, TUNE_DIR
from sweeps.core.net import free_loopback_port
from sweeps.run.driver import claim_sweep, record_ray_session
from sweeps.run.schedulers import build_scheduler, sweep_ledger
from sweeps.run.tune_state import finish_interrupted_copy
from sweeps.run.warm_start import past_trials
from trainer.trainable import run_trial

if TYPE_CHECKING:
    from ray.tune import Callback, ResultGrid

    from sweeps.run.budget import BudgetLedger
    from sweeps.spec import SweepSpec



def run_sweep(spec: SweepSpec, *, address: str | None = None, callbacks: Sequence[Callback] = (),
              trainable: Callable[[dict[str, Any]], None] | None = None, reuse_actors: bool = False) -> ResultGrid:
    """Run every trial of ``spec`` and return Tune's results; a failed trial is recorded, the sweep goes on.

    ``trainable`` replaces the Ray Train trial (``finesweep replay`` plays recorded curves through the same
    searcher, scheduler and bookkeeping); it receives the trial's sampled spec paths as its config.
    ``reuse_actors=True`` suits only a trainable that owns no Ray Train workers (replay): a Train trial's
    workers would go stale in a reused actor, but a fresh Python worker per trial dominates a replay's cost.
    A reused actor lost with its node fails its trial twice at once (its ``reset`` and ``train`` calls), and
    Tune ends a trial that fails while it waits to restart, whatever ``max_failures`` allows.
    """
    check_storage(Path(spec.sweep_dir))
    started_ray = connect(spec, address=address, check_fit=trainable is None)
    sweep_dir = prepare_sweep_dir(spec)
    claim_sweep(sweep_dir)
    if started_ray:
        record_ray_session(sweep_dir)
    return build_tuner(spec, sweep_dir=sweep_dir, callbacks=callbacks, trainable=trainable,
                       reuse_actors=reuse_actors).fit()


def resume_sweep(sweep_dir: Path, *, address: str | None = None) -> ResultGrid:
    """Continue an interrupted sweep: finished trials are kept, unfinished and failed ones go on from their
    latest checkpoints, and the searcher continues from its saved state and the study journal. First, Tune
    state a full disk cut short is copied again from the dead driver's session (:mod:`sweeps.run.tune_state`)
    and the journal's last line, torn if the driver died writing it, is cut; afterwards the study is told what
    became of trials the dead driver had not told it about (:func:`search_spaces.study.settle_study`)."""
    from ray import tune

    from search_spaces.study import reopen_trials, settle_study

    spec = read_spec(sweep_dir)
    experiment_dir = str(Path(sweep_dir).resolve() / TUNE_DIR)
    check_storage(Path(sweep_dir))
    if not tune.Tuner.can_restore(experiment_dir):
        raise UserError(f"{experiment_dir}: holds no state Tune can resume from (no tuner.pkl: the sweep was "
                        f"stopped before its first trial started, or the folder is not Tune's); nothing was started")
    _mend_sweep_dir(Path(sweep_dir))
    if connect(spec, address=address):
        record_ray_session(sweep_dir)
    study = _study(spec, sweep_dir=Path(sweep_dir))
    # A failed trial goes on from its latest checkpoint under its own id (Tune's "restart" would start it anew
    # under another id, unknown to the searcher), as a new attempt in the study.
    reopen_trials(study, tune_trial_ids=[trial.trial_id for trial in _tune_trials(Path(sweep_dir))
                                         if trial.status == "ERROR"])
    try:
        tuner = tune.Tuner.restore(experiment_dir, trainable=trial_trainable(spec), resume_unfinished=True,
                                   resume_errored=True, restart_errored=False)
    except (OSError, EOFError, ValueError, pickle.UnpicklingError) as error:  # a state file cut short or edited
        raise UserError(f"{experiment_dir}: Tune's saved state cannot be read ({type(error).__name__}: {error})"
                        ) from None
    results = tuner.fit()
    settle_study(study, metric=spec.search.metric,
                 trials={trial.trial_id: trial for trial in _tune_trials(Path(sweep_dir))})
    return results


def _mend_sweep_dir(sweep_dir: Path) -> None:
    """What a dead driver left: the sweep claimed for this driver, Tune's state that a full disk cut short
    copied again from the dead driver's Ray session, and the journal's torn last line cut (Optuna skips it on
    reading, but would append to it)."""
    previous = claim_sweep(sweep_dir) or {}
    finish_interrupted_copy(sweep_dir, ray_session=previous.get("ray_session"))
    cut_torn_line(sweep_dir / JOURNAL_FILE)


def _study(spec: SweepSpec, *, sweep_dir: Path):
    import optuna

    from search_spaces.searcher import journal_storage

    return optuna.load_study(study_name=spec.name, storage=journal_storage(sweep_dir / JOURNAL_FILE))


def _tune_trials(sweep_dir: Path) -> list[Any]:
    from ray import tune

    return tune.ExperimentAnalysis(str(sweep_dir.resolve() / TUNE_DIR)).trials


def connect(spec: SweepSpec, *, address: str | None, check_fit: bool = True) -> bool:
    """Start or join Ray for the trials of ``spec`` (see :func:`init_ray`); whether it started one. With
    ``check_fit``, a trial that could never fit is refused (:class:`UserError`) first: before an embedded Ray
    starts, from this machine's resources; on a cluster once connected, from its nodes and the node types its
    autoscaler may add."""
    address = address or os.environ.get("RAY_ADDRESS")
    if check_fit and not address:
        _refuse(fit_problems(spec, nodes=[this_machine(spec)], where="this machine"))
    started = init_ray(address)
    if check_fit and address:
        _refuse(fit_problems(spec, nodes=cluster_nodes(copies=spec.resources.workers),
                             where=f"the cluster at {address} (with the node types its autoscaler may add)"))
    return started


def check_storage(folder: Path) -> None:
    """Storage checked again right before Ray starts (validation may have been long ago, or on a laptop)."""
    _refuse([f"{problem}; nothing was started" for problem in writable_problems(folder)])


def _refuse(problems: list[str]) -> None:
    if problems:
        raise UserError("\n".join(problems))


def cluster_nodes(*, copies: int) -> list[dict[str, float]]:
    """The total resources of each alive node of the connected cluster, and up to ``copies`` of each node type
    its autoscaler may start (Ray's cluster config; none without an autoscaler)."""
    import ray
    from ray._private.state import state

    nodes = [dict(node["Resources"]) for node in ray.nodes() if node["Alive"]]
    config = state.get_cluster_config()
    for group in config.node_group_configs if config else []:
        count = copies if group.max_count < 0 else min(group.max_count, copies)
        nodes += [dict(group.resources)] * count
    return nodes


def init_ray(address: str | None) -> bool:
    """Connect to ``address`` or RAY_ADDRESS (set inside a submitted job), else start an embedded Ray; whether
    it started one."""
    import ray

    # Tune's newer console output prints banners even at verbose=0; the live table is finesweep's.
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    address = address or os.environ.get("RAY_ADDRESS")
    if address:
        with quiet_ray_start():
            ray.init(address=address, ignore_reinit_error=True, log_to_driver=False, configure_logging=False)
        return False
    # Embedded, on a GCS port chosen here so that RAY_ADDRESS reaches every Ray process. Without it,
    # Train V2's placement-group cleaner auto-detects the cluster, fails as soon as a second Ray runs on
    # the machine (another sweep, a test), and the CPUs of ASHA-stopped trials are never freed: the next
    # trial then waits for workers until WorkerGroupStartupTimeoutError. (Ray listens on all interfaces
    # whatever ray.init is told; Ray 2.60's default token authentication guards it.)
    port = free_loopback_port()
    os.environ["RAY_GCS_SERVER_PORT"] = str(port)
    os.environ["RAY_ADDRESS"] = f"127.0.0.1:{port}"
    # The dashboard stays on: Train V2 needs its State API to clean up after stopped trials.
    with quiet_ray_start():
        ray.init(address="local", ignore_reinit_error=True, log_to_driver=False, configure_logging=False)
    return True


@contextmanager
def quiet_ray_start() -> Iterator[None]:
    """Keep Ray's start-up notices out of the sweep's output; what a node logs stays in Ray's own log files
    (/tmp/ray/session_latest/logs). The user's own Ray settings win.

    - Warnings that ``ray.init`` logs on the driver (a local Ray 2.60 announces that token authentication is
      on by default; it stays on) are held back while Ray starts; errors still show.
    - The raylet warns on the driver's stdout once a node holds 4 × its startup concurrency (its CPU count) of
      Python workers. Each trial holds a Tune actor, a Train controller and its Train workers, so two trials
      on 2 CPUs already reach that. The same setting also caps how many workers start at once; 3 × the CPUs
      (SkyPilot's choice for the same warning) leaves the warning for 12 workers per CPU.
    """
    os.environ.setdefault("RAY_worker_maximum_startup_concurrency", str(3 * (os.cpu_count() or 1)))
    ray_logger = logging.getLogger("ray")
    level = ray_logger.level
    ray_logger.setLevel(max(level, logging.ERROR))
    try:
        yield
    finally:
        ray_logger.setLevel(level)


def trial_trainable(spec: SweepSpec, trainable: Callable[[dict[str, Any]], None] | None = None):
    """The Tune trainable with its resources: the Ray Train trial, or ``trainable`` if given."""
    from ray import tune

    function = trainable or tune.with_parameters(run_trial, spec=spec, searched=tuple(effective_space(spec)))
    return tune.with_resources(function, {"cpu": TRIAL_DRIVER_CPUS})


def build_tuner(spec: SweepSpec, *, sweep_dir: Path, callbacks: Sequence[Callback] = (),
                trainable: Callable[[dict[str, Any]], None] | None = None, reuse_actors: bool = False):
    from ray import tune

    from sweeps.run.results_log import ResultsInSweepDir
    from sweeps.run.startup import StartupClock

    ledger = sweep_ledger(spec)
    return tune.Tuner(
        trial_trainable(spec, trainable),
        tune_config=tune.TuneConfig(
            # The primary metric, which the scheduler judges; with search.objectives the searcher has them all.
            metric=spec.search.metric,
            mode=spec.search.mode,
            search_alg=build_search(spec, journal_path=sweep_dir / JOURNAL_FILE, ledger=ledger),
            scheduler=build_scheduler(spec, ledger=ledger),
            num_samples=spec.search.trial_limit(),
            max_concurrent_trials=spec.search.max_concurrent_trials,
            reuse_actors=reuse_actors,  # see run_sweep
            trial_name_creator=_trial_id,
            trial_dirname_creator=_trial_id,
        ),
        run_config=tune.RunConfig(
            name=TUNE_DIR,
            storage_path=str(sweep_dir),
            # StartupClock first: the callbacks after it see each trial's start-up as seconds since its launch.
            callbacks=[StartupClock(), ResultsInSweepDir(), *tracking_callbacks(spec), *callbacks],
            failure_config=tune.FailureConfig(max_failures=spec.resources.max_failures),
            verbose=0,
        ),
    )


def _trial_id(trial) -> str:
    # Module-level (not a lambda) so Tune can pickle it into the experiment state for resume.
    return trial.trial_id


def prepare_sweep_dir(spec: SweepSpec) -> Path:
    """Create the sweep directory and save the resolved spec in it, so results are read without the original;
    a UserError, and nothing created, when the storage cannot take them."""
    sweep_dir = Path(spec.sweep_dir)
    check_storage(sweep_dir)
    try:
        (sweep_dir / TRAIN_DIR).mkdir(parents=True, exist_ok=True)
        write_atomically(sweep_dir / SPEC_FILE, yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False))
    except OSError as error:  # checked before start, but storage can change (full, unmounted) in between
        raise UserError(f"storage.path: cannot write {sweep_dir} ({error.strerror}); nothing was started") from None
    return sweep_dir


def build_search(spec: SweepSpec, *, journal_path: Path | None, ledger: BudgetLedger | None = None):
    """The sweep's searcher; its study lives in ``journal_path`` (None: in memory, for simulations); with a
    budget, it starts no trial ``ledger`` says the budget cannot pay for. With search.objectives, Ray's
    ``OptunaSearch`` takes the lists of metrics and modes (a multi-objective study); Tune's own metric and mode
    stay the first objective's, which the scheduler judges."""
    from search_spaces.searcher import build_searcher

    objectives = spec.search.objectives
    return build_searcher(
        space=effective_space(spec),
        metric=[objective.metric for objective in objectives] if objectives else spec.search.metric,
        mode=[objective.mode for objective in objectives] if objectives else spec.search.mode,
        algorithm=spec.search.algorithm,
        seed=spec.search.seed,
        journal_path=journal_path,
        study_name=spec.name,
        initial_points=spec.search.initial_points,
        prior_weight=spec.search.prior_weight,
        random_fraction=spec.search.random_fraction,
        past_trials=past_trials(spec),
        budget=ledger,
    )


def tracking_callbacks(spec: SweepSpec) -> list[Callback]:
    """W&B: one group per sweep, one run per trial, files under the sweep directory when offline."""
    if spec.tracking.wandb.mode == "disabled":
        return []
    from sweeps.run.tracking import WandbTrialRuns

    return [WandbTrialRuns(spec)]
