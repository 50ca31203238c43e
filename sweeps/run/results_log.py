"""Each trial's ``result.json``: written straight into the sweep directory, each report once.

Tune's own JSON logger writes it into a staging folder of the driver's Ray session and copies that folder to
the sweep directory with its experiment snapshots, every 10 s or more: a driver killed in between lost the
reports since. Written here, a report is on disk as soon as Tune hands it over.

A restarted trial repeats its earlier reports first (:func:`trainer.report.report_again`): Ray Train saves a
report's checkpoint before the driver records the report, so a lost driver or node can leave reports only
the checkpoint holds. A report is kept only if its ``training_iteration`` (the trial's own count of its
reports) is past the last one recorded, so Tune's record has every report once, in order.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pyarrow.fs import LocalFileSystem
from ray.air.constants import EXPR_RESULT_FILE, TRAINING_ITERATION
from ray.tune.logger import JsonLoggerCallback

from sweeps.core.files import cut_torn_line


class ResultsInSweepDir(JsonLoggerCallback):
    """Tune's JSON result log (Tune adds none of its own beside it), appended in the trial's folder under the
    sweep directory when that is on a local or mounted filesystem (in Tune's staging folder otherwise), with
    repeated reports left out."""

    def __init__(self) -> None:
        super().__init__()
        self._recorded: dict[Any, int] = {}  # trial → the last training_iteration in its result.json

    def log_trial_start(self, trial) -> None:
        local = isinstance(trial.storage.storage_filesystem, LocalFileSystem)
        result_file = Path(trial.path if local else trial.local_path, EXPR_RESULT_FILE)
        if not local:
            super().log_trial_start(trial)
        else:
            if trial in self._trial_files:
                self._trial_files[trial].close()
            trial.init_local_path()
            self.update_config(trial, trial.config)  # params.json: in the staging folder, copied as before
            result_file.parent.mkdir(parents=True, exist_ok=True)
            cut_torn_line(result_file)
            # Appended: a trial started again (retried, resumed) continues its own record.
            self._trial_files[trial] = result_file.open("a", encoding="utf-8")
        self._recorded[trial] = last_iteration(result_file)

    def log_trial_result(self, iteration: int, trial, result: dict[str, Any]) -> None:
        if trial not in self._trial_files:
            self.log_trial_start(trial)
        count = result.get(TRAINING_ITERATION, 0)
        if count <= self._recorded.get(trial, 0):
            return
        self._recorded[trial] = count
        super().log_trial_result(iteration, trial, result)

    def __getstate__(self):
        # Tune pickles callbacks with the run's configuration, for resume; open files are this process's.
        return {**self.__dict__, "_trial_configs": {}, "_trial_files": {}, "_recorded": {}}


def last_iteration(result_file: Path) -> int:
    """The ``training_iteration`` of the last whole line of a ``result.json`` (0 if there is none)."""
    if not result_file.is_file():
        return 0
    lines = [line for line in result_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    return int(json.loads(lines[-1]).get(TRAINING_ITERATION, 0)) if lines else 0
