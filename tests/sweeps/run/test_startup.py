"""A trial's start-up phases: each process's first mark counts, and the driver rewrites a report's marks as
seconds since it launched the trial."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from sweeps.run.startup import StartupClock
from trainer import startup
from trainer.startup import PHASES, STARTUP_KEY


def test_a_phase_is_marked_once_and_only_known_phases_are(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(startup, "_marks", {})
    clock = iter([10.0, 11.0])
    monkeypatch.setattr(startup.time, "time", lambda: next(clock))
    startup.mark("data")
    startup.mark("data")  # an OOM retry reaching it again
    assert startup.marks() == {"data": 10.0}
    with pytest.raises(ValueError, match="unknown start-up phase 'dta'"):
        startup.mark("dta")


def test_the_driver_rewrites_marks_as_seconds_since_the_trial_s_launch(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = StartupClock()
    trial = SimpleNamespace(trial_id="t1", status="PENDING")
    monkeypatch.setattr("sweeps.run.startup.time.time", lambda: 1000.0)
    clock.on_step_end(iteration=1, trials=[trial])
    trial.status = "RUNNING"
    monkeypatch.setattr("sweeps.run.startup.time.time", lambda: 1500.0)
    clock.on_step_end(iteration=2, trials=[trial])  # seen again later: the launch stays the first sighting
    stamps = {"first_step": 1012.25, "actor_start": 1001.5, "worker_start": 1006.0}
    result = {"eval_loss": 1.0, STARTUP_KEY: dict(stamps)}
    clock.on_trial_result(iteration=3, trials=[trial], trial=trial, result=result)
    assert result[STARTUP_KEY] == {"actor_start": 1.5, "worker_start": 6.0, "first_step": 12.25}
    assert list(result[STARTUP_KEY]) == [phase for phase in PHASES if phase in stamps]


def test_results_without_marks_or_of_unseen_trials_are_left_alone() -> None:
    clock = StartupClock()
    trial = SimpleNamespace(trial_id="t2", status="RUNNING")
    plain = {"eval_loss": 1.0}
    clock.on_trial_result(iteration=1, trials=[trial], trial=trial, result=plain)
    unseen = {STARTUP_KEY: {"actor_start": 5.0}}
    clock.on_trial_result(iteration=1, trials=[trial], trial=trial, result=unseen)
    assert plain == {"eval_loss": 1.0} and unseen == {STARTUP_KEY: {"actor_start": 5.0}}
