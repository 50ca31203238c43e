"""Tune's result log as finesweep keeps it: in the sweep directory itself, each report once, a torn line cut."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyarrow.fs import LocalFileSystem

from sweeps.run.results_log import ResultsInSweepDir


@dataclass(eq=False)
class FakeTrial:
    """What the logger reads of a Tune trial: its folder in storage, its staging folder and its config."""

    path: str
    local_path: str
    config: dict[str, Any] = field(default_factory=dict)

    def init_local_path(self) -> None:
        Path(self.local_path).mkdir(parents=True, exist_ok=True)

    @property
    def storage(self):
        return type("Storage", (), {"storage_filesystem": LocalFileSystem()})


def rows(path: Path) -> list[int]:
    return [json.loads(line)["training_iteration"] for line in path.read_text().splitlines()]


def test_reports_go_straight_to_the_sweep_directory_each_once_even_when_repeated(tmp_path: Path):
    trial = FakeTrial(path=str(tmp_path / "sweep" / "tune" / "t1"), local_path=str(tmp_path / "staging" / "t1"))
    log = ResultsInSweepDir()
    for count in (1, 2):
        log.log_trial_result(count, trial, {"training_iteration": count, "eval_loss": 1.0 / count})
    result_file = Path(trial.path, "result.json")
    assert rows(result_file) == [1, 2]  # on disk at once, not at Tune's next snapshot
    with result_file.open("a") as torn:  # a driver killed mid-line
        torn.write('{"training_iteration": 3, "eval_lo')
    restarted = ResultsInSweepDir()  # a resumed driver: the trial repeats its reports, then goes on
    for count in (1, 2, 3, 4):
        restarted.log_trial_result(count, trial, {"training_iteration": count, "eval_loss": 1.0 / count})
    assert rows(result_file) == [1, 2, 3, 4]
