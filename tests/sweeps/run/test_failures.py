"""A trial that fails is recorded with its error, and the sweep goes on."""

from __future__ import annotations

from pathlib import Path

from sweeps.config.loading import load_spec
from sweeps.results.reading import trial_summaries
from sweeps.results.summary import summarise_run
from sweeps.run.runner import run_sweep
from tests.helpers.sweeps import write_tiny_sweep


def test_failed_trials_are_recorded_and_the_sweep_goes_on(tmp_path: Path, tiny_model_dir: Path, qa_data_path: Path):
    spec_path = write_tiny_sweep(
        tmp_path / "sweep.yaml", model_dir=tiny_model_dir, data_path=qa_data_path,
        search={"num_trials": 6, "seed": 1, "algorithm": "random", "max_concurrent_trials": 2},
        search_space={"method.r": {"type": "choice", "values": [2, 4]}},
        scheduler={"name": "none"}, tracking={"wandb": {"mode": "disabled"}},
    )
    spec = load_spec(spec_path)

    def rank_two_crashes(config):  # a closure, so Ray ships it by value to its workers
        import ray.tune

        if config["method.r"] == 2:
            raise RuntimeError("simulated out-of-memory at rank 2")
        for step in range(3):
            ray.tune.report({"eval_loss": 1.0 / (step + 1), "training_finished": step == 2})

    run_sweep(spec, trainable=rank_two_crashes)

    summaries = trial_summaries(Path(spec.sweep_dir), spec)
    failed = [summary for summary in summaries if summary.state == "ERROR"]
    succeeded = [summary for summary in summaries if summary.state == "TERMINATED"]
    assert len(summaries) == 6
    assert failed and succeeded, [summary.params for summary in summaries]
    assert all(summary.params["method.r"] == 2 for summary in failed)
    assert all("simulated out-of-memory at rank 2" in summary.error for summary in failed)
    assert all(summary.iterations == 3 and summary.best_value == 1 / 3 for summary in succeeded)
    assert summaries[-1].state == "ERROR"  # failed trials rank last
    run_summary = summarise_run(spec, wall_seconds=1.0)
    assert run_summary.failed == len(failed) and run_summary.best["params"]["method.r"] == 4
