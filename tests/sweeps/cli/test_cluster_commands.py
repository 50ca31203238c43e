"""``finesweep list`` and ``status`` output without a cluster: Ray's own job records, rendered as the
commands render them (the real commands against a real cluster: tests/cluster/test_two_node_cluster.py)."""

from __future__ import annotations

import json
import re

from ray.job_submission import JobDetails, JobStatus, JobType
from rich.console import Console

from sweeps.cli.cluster import job_record, jobs_listing

JOB_KEYS = ("job_id", "status", "message", "sweep", "entrypoint", "started_at", "ended_at")
LONG_ENTRYPOINT = ("python -m sweeps run .finesweep/submitted/a-rather-long-sweep-file-name-for-the-cluster.yaml "
                   "search.num_trials=64 storage.path=/mnt/finesweep/runs storage.shared=true")


def job(submission_id: str, status: JobStatus, **fields) -> JobDetails:
    return JobDetails(type=JobType.SUBMISSION, submission_id=submission_id, entrypoint=LONG_ENTRYPOINT,
                      status=status, start_time=1_780_000_000_000, metadata={"sweep": "a-rather-long-sweep"},
                      **fields)


JOBS = [job("finesweep-a-rather-long-sweep-1a2b3c4d", JobStatus.SUCCEEDED, end_time=1_780_000_600_000),
        job("raysubmit_Xy12Ab34Cd56Ef78", JobStatus.RUNNING)]


def test_the_job_list_keeps_ids_and_states_whole_at_80_columns():
    console = Console(width=80, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(jobs_listing(JOBS))
    lines = console.export_text().splitlines()
    assert max(len(line) for line in lines) <= 80 and "…" not in "".join(lines)
    assert lines[0].split() == ["job", "id", "status", "started", "sweep"]
    for record in JOBS:  # one line per job: id, status and start time whole, side by side
        line = next(line for line in lines if line.startswith(record.submission_id))
        assert line.split()[1] == str(record.status) and re.fullmatch(r"\d{4}-\d\d-\d\d", line.split()[2])
    # Under each job, its entrypoint folds into the width, indented and whole.
    entrypoint_lines = [line.strip() for line in lines if re.match(r" {4}\S", line)]
    assert " ".join(entrypoint_lines) == f"{LONG_ENTRYPOINT} {LONG_ENTRYPOINT}"


def test_json_records_carry_the_documented_keys_and_plain_values():
    records = json.loads(json.dumps([job_record(record) for record in JOBS]))
    assert all(tuple(record) == JOB_KEYS for record in records)
    finished, running = records
    assert finished["job_id"] == "finesweep-a-rather-long-sweep-1a2b3c4d" and finished["status"] == "SUCCEEDED"
    assert finished["started_at"].startswith("2026-") and finished["ended_at"].endswith("+00:00")
    assert running["ended_at"] is None and running["message"] is None and running["sweep"] == "a-rather-long-sweep"
    assert finished["entrypoint"] == LONG_ENTRYPOINT
