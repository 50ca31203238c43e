"""W&B reporting: one group per sweep, one run per trial, summary = the trial's best value.

Why not Ray's ``WandbLoggerCallback``: it sends every result through a synchronous actor queue, which
blocked Tune's event loop 0.73 s per result on this 2-core machine (10.9 s for 15 results), and it prints a
traceback from ``__del__`` at exit. wandb ≥ 0.19 runs several runs in one process (``reinit="create_new"``)
through its own service process, so logging from the Tune driver costs ~8 ms per result.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ray.tune import Callback

if TYPE_CHECKING:
    from sweeps.spec import SweepSpec

# Tune's own bookkeeping fields that are not worth a chart.
NOT_LOGGED = {"timestamp", "pid", "time_since_restore", "iterations_since_restore", "done"}


class WandbTrialRuns(Callback):
    """A Tune callback that opens a W&B run when a trial starts and finishes it when the trial ends."""

    def __init__(self, spec: SweepSpec):
        self.wandb = spec.tracking.wandb
        self.group = spec.name
        self.run_dir = spec.sweep_dir
        self.metric = spec.search.metric
        self.sign = 1 if spec.search.mode == "min" else -1
        self.runs: dict[str, Any] = {}

    def on_trial_start(self, iteration, trials, trial, **info):
        import wandb

        # The key comes from WANDB_API_KEY or ~/.netrc, never from the sweep file; offline needs none.
        self.runs[trial.trial_id] = wandb.init(
            project=self.wandb.project, entity=self.wandb.entity, group=self.group, job_type="trial",
            name=trial.trial_id, id=f"{self.group}-{trial.trial_id}", resume="allow", config=dict(trial.config),
            mode=self.wandb.mode, dir=self.run_dir, reinit="create_new",
            settings=wandb.Settings(console="off", silent=True),
        )

    def on_trial_result(self, iteration, trials, trial, result, **info):
        run = self.runs.get(trial.trial_id)
        if run is None:
            return
        metrics = {key: value for key, value in result.items()
                   if isinstance(value, (int, float)) and not isinstance(value, bool) and key not in NOT_LOGGED}
        run.log(metrics, step=int(result.get("training_iteration", 0)))
        value = result.get(self.metric)
        best = run.summary.get(f"best_{self.metric}")
        if value is not None and (best is None or self.sign * value < self.sign * best):
            run.summary[f"best_{self.metric}"] = value

    def on_trial_complete(self, iteration, trials, trial, **info):
        self._finish(trial.trial_id, exit_code=0)

    def on_trial_error(self, iteration, trials, trial, **info):
        self._finish(trial.trial_id, exit_code=1)

    def on_experiment_end(self, trials, **info):
        for trial_id in list(self.runs):
            self._finish(trial_id, exit_code=0)

    def __getstate__(self):
        # Tune pickles callbacks into its experiment state; open runs are process-local handles.
        return {**self.__dict__, "runs": {}}

    def _finish(self, trial_id: str, *, exit_code: int) -> None:
        run = self.runs.pop(trial_id, None)
        if run is not None:
            run.finish(exit_code=exit_code)


@dataclass(frozen=True)
class OfflineRun:
    """What an offline run file says about its run (for tests and for checking before `wandb sync`)."""

    run_id: str
    name: str
    project: str
    group: str
    config: dict[str, Any]
    summary: dict[str, Any]


def read_offline_run(run_dir: Path) -> OfflineRun:
    """Parse ``run-*.wandb`` in an ``offline-run-*`` folder with wandb's own protobuf records.

    wandb 0.31 has no public reader for these files; the format is a LevelDB-style log: a 7-byte
    header, then 32 KiB blocks of records (crc32, length, type, payload) whose payloads are ``Record``s.
    """
    import json

    from wandb.proto import wandb_internal_pb2

    run, summary = None, {}
    for payload in _log_records(next(Path(run_dir).glob("*.wandb")).read_bytes()):
        record = wandb_internal_pb2.Record()
        record.ParseFromString(payload)
        if record.WhichOneof("record_type") == "run":
            run = record.run
        elif record.WhichOneof("record_type") == "summary":
            summary.update({item.key: json.loads(item.value_json) for item in record.summary.update if item.key})
    if run is None:
        raise ValueError(f"{run_dir}: no run record")
    config = {item.key: json.loads(item.value_json) for item in run.config.update if item.key != "_wandb"}
    return OfflineRun(run.run_id, run.display_name, run.project, run.run_group, config, summary)


def _log_records(data: bytes) -> list[bytes]:
    block_size, header_size, file_header = 32768, 7, 7
    position, pending, records = file_header, b"", []
    while position + header_size <= len(data):
        if block_size - position % block_size < header_size:  # a block's tail too small for a header is padding
            position += block_size - position % block_size
            continue
        _, length, kind = struct.unpack("<IHB", data[position:position + header_size])
        pending += data[position + header_size:position + header_size + length]
        position += header_size + length
        if kind in (1, 4):  # FULL or LAST: the record is complete
            records.append(pending)
            pending = b""
        elif kind == 0:  # zero padding
            pending = b""
    return records
