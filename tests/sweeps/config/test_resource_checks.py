"""Whether a trial can ever fit its target: each worker on one node, all of them at once, with the trial's own
sliver of a CPU somewhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from sweeps.config.resource_checks import TRIAL_DRIVER_CPUS, fit_problems, worker_bundle
from sweeps.spec import SweepSpec


def _spec(**resources) -> SweepSpec:
    return SweepSpec(name="x", model={"path": Path("/m")}, dataset={"path": Path("/d.jsonl")}, resources=resources,
                     training={"batch_size": 8})


def test_a_trial_holds_workers_times_cpus_per_worker_cpus_in_all():
    for workers, cpus in [(1, 1.0), (2, 1.0), (3, 2.0), (4, 0.5)]:
        bundle = worker_bundle(_spec(workers=workers, cpus_per_worker=cpus))
        assert workers * bundle["CPU"] + TRIAL_DRIVER_CPUS == pytest.approx(workers * cpus, abs=1e-3)
        assert workers * bundle["CPU"] + TRIAL_DRIVER_CPUS <= workers * cpus + 1e-9


def test_a_trial_that_fits_one_node_or_several_is_accepted():
    # The trial function's sliver comes out of its workers' CPUs: a 1-CPU trial fits 1 CPU.
    assert fit_problems(_spec(), nodes=[{"CPU": 1.0}], where="here") == []
    assert fit_problems(_spec(workers=2), nodes=[{"CPU": 2.0}], where="here") == []
    # Two 1-CPU workers on two 1-CPU nodes leave 0.005 CPU on each: the trial function goes to a third node.
    assert fit_problems(_spec(workers=2), nodes=[{"CPU": 1.0}] * 3, where="here") == []
    assert fit_problems(_spec(use_gpu=True), nodes=[{"CPU": 4.0}, {"CPU": 8.0, "GPU": 1.0}], where="here") == []


def test_a_trial_that_can_never_fit_is_refused_naming_the_field():
    [gpu] = fit_problems(_spec(use_gpu=True), nodes=[{"CPU": 2.0}], where="this machine")
    assert gpu.startswith("resources.use_gpu: each of a trial's 1 Train worker(s) needs 1 CPU and 1 GPU on one node")
    [cpus] = fit_problems(_spec(cpus_per_worker=64), nodes=[{"CPU": 2.0}], where="this machine")
    assert cpus.startswith("resources.cpus_per_worker:") and "at most 2 CPUs" in cpus
    # Two 1-CPU workers on two 1-CPU nodes leave no node the trial's 0.01 CPU; 3 workers do not fit 2 CPUs.
    [workers] = fit_problems(_spec(workers=2), nodes=[{"CPU": 1.0}] * 2, where="this machine")
    assert workers.startswith("resources.workers: a trial needs 2 Train workers of 1 CPU each") and \
        "this machine fits 1" in workers
    assert fit_problems(_spec(workers=3), nodes=[{"CPU": 2.0}], where="this machine")
    assert fit_problems(_spec(workers=4), nodes=[{"CPU": 1.0}] * 4, where="the cluster")
