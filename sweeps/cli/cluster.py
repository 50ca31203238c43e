"""``finesweep submit|status|logs|stop|list``: drive sweeps on a Ray cluster from a laptop, through Ray's Job API.

The commands are thin: :mod:`cluster.jobs` does the work, :mod:`cluster.config` finds the cluster and token.
Ray loads only inside the commands, so ``finesweep --help`` stays fast.
"""

from __future__ import annotations

import json
import shlex
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Group
from rich.markup import escape
from rich.padding import Padding
from rich.table import Column, Table
from rich.text import Text

from cluster.config import Target, resolve_target
from sweeps.cli.options import JsonOpt, Overrides, SpecPath, err, out

if TYPE_CHECKING:
    from ray.job_submission import JobDetails

JobId = Annotated[str, typer.Argument(help="The job id `finesweep submit` printed (see `finesweep list`).")]
AddressOpt = Annotated[str | None, typer.Option("--address", help="Job API URL of the head node, "
                                                "http://HEAD:8265 (default: RAY_ADDRESS, else the clusters file).")]
ClusterOpt = Annotated[str | None, typer.Option("--cluster", help="A cluster named in "
                                                "~/.config/finesweep/clusters.yaml.")]
TokenFileOpt = Annotated[Path | None, typer.Option("--token-file", help="File holding the cluster's Ray auth "
                                                   "token (default: RAY_AUTH_TOKEN).")]


def submit(spec_path: SpecPath, overrides: Overrides = None, address: AddressOpt = None, cluster: ClusterOpt = None,
           token_file: TokenFileOpt = None,
           no_wait: Annotated[bool, typer.Option("--no-wait", help="Return once the job is submitted.")] = False,
           pip: Annotated[bool, typer.Option("--pip/--no-pip", help="Pin the project's dependencies (the versions "
                                             "installed here) in the job's runtime_env; --no-pip runs on the nodes' "
                                             "own environment (an image or setup that already has them).")] = True,
           ) -> None:
    """Ship the project and a sweep file to a Ray cluster and run the sweep there."""
    from cluster.jobs import submit_sweep

    target = resolve_target(address=address, cluster=cluster, token_file=token_file)
    job = submit_sweep(target=target, spec_path=spec_path, overrides=overrides or [], pip=pip)
    options = _options(address=address, cluster=cluster, token_file=token_file)
    out.print(f"submitted job [bold]{job.job_id}[/bold]: sweep {job.sweep} ({job.trials}) on "
              f"{target.address} ({job.nodes} nodes), {job.package_bytes / 2**20:.1f} MiB shipped, "
              f"{'dependencies pinned' if pip else 'no pinned dependencies (--no-pip)'}\n"
              f"  runs:    {escape(job.entrypoint)}\n"
              f"  follow:  finesweep logs {job.job_id} -f{options}\n"
              f"  status:  finesweep status {job.job_id}{options}\n"
              f"  stop:    finesweep stop {job.job_id}{options}\n"
              f"  results: {escape(job.sweep_dir)} on the cluster's storage (finesweep best {escape(job.sweep_dir)})",
              highlight=False, soft_wrap=True)
    if not no_wait:
        _follow(target, job.job_id)


def status(job_id: JobId, address: AddressOpt = None, cluster: ClusterOpt = None, token_file: TokenFileOpt = None,
           as_json: JsonOpt = False) -> None:
    """Show a job's status, entrypoint and times."""
    from cluster.jobs import job_info

    info = job_info(target=resolve_target(address=address, cluster=cluster, token_file=token_file), job_id=job_id)
    if as_json:
        print(json.dumps(job_record(info), indent=2))
        return
    out.print(f"{job_id}: [bold]{info.status}[/bold]" + (f" — {escape(info.message)}" if info.message else ""),
              highlight=False, soft_wrap=True)
    out.print(f"  entrypoint: {escape(info.entrypoint)}\n  started:    {_time(info.start_time)}\n"
              f"  ended:      {_time(info.end_time)}", highlight=False, soft_wrap=True)


def logs(job_id: JobId, follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing until the "
                                                             "job ends.")] = False,
         address: AddressOpt = None, cluster: ClusterOpt = None, token_file: TokenFileOpt = None) -> None:
    """Print a job's output (the sweep's progress and summary)."""
    from cluster.jobs import job_logs

    target = resolve_target(address=address, cluster=cluster, token_file=token_file)
    if follow:
        _follow(target, job_id)
    else:
        sys.stdout.write(job_logs(target=target, job_id=job_id))


def stop(job_id: JobId, address: AddressOpt = None, cluster: ClusterOpt = None,
         token_file: TokenFileOpt = None) -> None:
    """Stop a running job: the sweep's driver ends and its trials with it; results so far stay in storage."""
    from cluster.jobs import stop_job

    final = stop_job(target=resolve_target(address=address, cluster=cluster, token_file=token_file), job_id=job_id)
    out.print(f"{job_id}: {final}", highlight=False)


def list_jobs(address: AddressOpt = None, cluster: ClusterOpt = None, token_file: TokenFileOpt = None,
              as_json: JsonOpt = False) -> None:
    """List the cluster's jobs, newest first."""
    from cluster.jobs import list_jobs as jobs_of

    jobs = jobs_of(target=resolve_target(address=address, cluster=cluster, token_file=token_file))
    if as_json:
        print(json.dumps([job_record(job) for job in jobs], indent=2))
        return
    out.print(jobs_listing(jobs), highlight=False)


def job_record(job: JobDetails) -> dict[str, Any]:
    """A job as ``status --json`` and ``list --json`` print it (README, "--json")."""
    return {"job_id": job.submission_id or job.job_id, "status": str(job.status), "message": job.message or None,
            "sweep": (job.metadata or {}).get("sweep"), "entrypoint": job.entrypoint,
            "started_at": _iso(job.start_time), "ended_at": _iso(job.end_time)}


def jobs_listing(jobs: list[JobDetails]) -> Group:
    """The jobs, each as a line of job id, status, start time and sweep, with its entrypoint folded under it:
    readable at 80 columns, where ids, states and times are never cut (an id is copied whole into the next
    command)."""
    ids = [job.submission_id or job.job_id or "" for job in jobs]
    statuses = [str(job.status) for job in jobs]
    widths = (max(map(len, ["job id", *ids])), max(map(len, ["status", *statuses])), len("2026-01-01 00:00"))

    def line(*cells: str, style: str = "") -> Table:
        grid = Table.grid(*(Column(width=width, no_wrap=True) for width in widths), Column(overflow="fold"),
                          padding=(0, 2, 0, 0))
        grid.add_row(*cells, style=style)
        return grid

    rows: list[Any] = [line("job id", "status", "started", "sweep", style="bold")]
    for job_id, status, job in zip(ids, statuses, jobs, strict=True):
        rows.append(line(job_id, status, _time(job.start_time, seconds=False), (job.metadata or {}).get("sweep", "")))
        rows.append(Padding(Text(job.entrypoint, style="dim", overflow="fold"), (0, 0, 0, 4)))
    return Group(*rows)


def _follow(target: Target, job_id: str) -> None:
    """Print the job's output until it ends; a failed or stopped job exits 1. Ctrl-C leaves the job running."""
    from cluster.jobs import follow_logs

    def write(chunk: str) -> None:
        sys.stdout.write(chunk)
        sys.stdout.flush()

    try:
        final = follow_logs(target=target, job_id=job_id, write=write)
    except KeyboardInterrupt:
        err.print(f"stopped following; the job goes on (finesweep stop {job_id} ends it)", highlight=False)
        raise typer.Exit(130) from None
    err.print(f"job {job_id}: [bold]{final}[/bold]", highlight=False)
    if final != "SUCCEEDED":
        raise typer.Exit(1)


def _options(*, address: str | None, cluster: str | None, token_file: Path | None) -> str:
    # The next commands repeat how this one found the cluster; the token itself is never printed.
    given = [("--address", address), ("--cluster", cluster), ("--token-file", str(token_file) if token_file else None)]
    return "".join(f" {flag} {shlex.quote(value)}" for flag, value in given if value)


def _time(milliseconds: int | None, *, seconds: bool = True) -> str:
    shape = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    return datetime.fromtimestamp(milliseconds / 1000).strftime(shape) if milliseconds else "-"


def _iso(milliseconds: int | None) -> str | None:
    return datetime.fromtimestamp(milliseconds / 1000, tz=timezone.utc).isoformat() if milliseconds else None


def register(app: typer.Typer) -> None:
    """Add the cluster commands to the ``finesweep`` app."""
    for command in (submit, status, logs, stop):
        app.command()(command)
    app.command("list")(list_jobs)
