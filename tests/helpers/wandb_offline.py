"""A reader of W&B offline run files, for tests that check what a sweep wrote for `wandb sync`."""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any


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
