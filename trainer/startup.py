"""A trial's start-up, phase by phase, stamped in the process that reached each phase.

Each process of a trial marks the wall-clock time it reached a phase (:func:`mark`); the Train worker's
reports carry every mark under :data:`STARTUP_KEY`, and the sweep's driver turns them into seconds since
it launched the trial (``sweeps.run.startup``), so a trial's result says where its start-up went. The marks
of one process are kept in this module: a Ray worker process serves one trial, and the trainer's modules
reach their phases far apart (imports in the train loop, data and model in each task's builder).
"""

from __future__ import annotations

import time

STARTUP_KEY = "startup"  # the reported metric: {phase: seconds since the trial's launch}
# In order: the trial function starts in Tune's trial actor; Train's controller is up; the Train worker is up
# (its first call from the controller); torch (the process group), transformers, peft and datasets are
# imported; the data is ready; the model is loaded with its method; the first training step begins.
PHASES = ("actor_start", "controller_start", "worker_start", "imports", "data", "model", "first_step")

_marks: dict[str, float] = {}


def mark(phase: str) -> None:
    """Record that this process reached ``phase`` now; the first time counts (an OOM retry re-runs phases)."""
    if phase not in PHASES:
        raise ValueError(f"unknown start-up phase {phase!r}; phases: {', '.join(PHASES)}")
    _marks.setdefault(phase, time.time())


def marks() -> dict[str, float]:
    """This process's marks so far (epoch seconds)."""
    return dict(_marks)


def since_launch(stamps: dict[str, float], *, launched: float) -> dict[str, float]:
    """``stamps`` (epoch seconds) as seconds since ``launched``, rounded to milliseconds, in phase order."""
    return {phase: round(stamps[phase] - launched, 3) for phase in PHASES if phase in stamps}
