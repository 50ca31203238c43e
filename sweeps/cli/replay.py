"""``finesweep replay`` and ``finesweep curves-from-opda``: try a searcher and scheduler on recorded learning
curves (your past sweeps, or published ones) before paying for GPUs. Heavy imports stay inside the commands."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from sweeps.cli.options import Address, out

CurvesPath = Annotated[Path, typer.Argument(help="Curves file: JSON lines, a header line "
                                            '{"metric": ..., "mode": ...} then one {"params": ..., "curve": '
                                            "[[step, value], ...]} per recorded run (see BENCHMARKS.md).")]
SpecOption = Annotated[Path, typer.Option("--spec", help="The sweep file whose searcher, scheduler and "
                                          "search_space are replayed; model and data need not exist here.")]
Overrides = Annotated[list[str] | None, typer.Argument(help="KEY=VALUE overrides, e.g. scheduler.name=none.")]


def replay(curves_path: CurvesPath, spec_path: SpecOption, overrides: Overrides = None,
           address: Address = None) -> None:
    """Replay recorded curves through the sweep's searcher and scheduler (no training, no GPU): each trial
    plays the recorded run nearest its config; results go to <storage.path>/<name>-replay."""
    from sweeps.core.errors import UserError
    from sweeps.core.layout import TUNE_DIR
    from sweeps.core.values import format_params
    from sweeps.results.summary import summarise_run
    from sweeps.run.curves import read_curves
    from sweeps.run.replay import ReplayLedger, replay_spec, run_replay

    curves = read_curves(curves_path)
    spec = replay_spec(spec_path=spec_path, overrides=overrides or [], curves=curves)
    if (Path(spec.sweep_dir) / TUNE_DIR).exists():
        raise UserError(f"{spec.sweep_dir} already holds a replay named {spec.name!r}; nothing was started. "
                        f"Give another name (name=...) or another storage.path.")
    ledger = ReplayLedger(spec.search.metric)
    started = time.monotonic()
    run_replay(spec=spec, curves=curves, address=address, callbacks=[ledger])
    summary = summarise_run(spec, wall_seconds=time.monotonic() - started)
    spent = ledger.budget_curve(mode=spec.search.mode)[-1][0] if ledger.reports else 0
    full = sum(curves.runs[number].curve[-1][0] for number in ledger.runs.values())
    out.print(f"{summary.trials} trials replayed in {summary.wall_seconds:.0f} s: {summary.stopped_early} stopped "
              f"early, {summary.failed} failed; {spent:,} simulated steps spent, {full:,} without early stopping.",
              highlight=False)
    if summary.best:
        gap = abs(curves.best_value() - summary.best["value"])
        out.print(f"best: {spec.search.metric}={summary.best['value']:.4g} ({format_params(summary.best['params'])}); "
                  f"best in the file {curves.best_value():.4g}, {gap:.3g} away.\nresults: {spec.sweep_dir}",
                  highlight=False)


def curves_from_opda(source: Annotated[Path, typer.Argument(help="opda's *_tuning.results.jsonl file.")],
                     target: Annotated[Path, typer.Argument(help="The curves file to write.")],
                     validation_set: Annotated[str, typer.Option(help="matched or mismatched.")] = "matched",
                     ) -> None:
    """Convert opda's DeBERTa tuning results (Nicholas Lourie, CC BY-SA 4.0) into a curves file."""
    from sweeps.run.curves import convert_opda

    runs = convert_opda(source=source, target=target, validation_set=validation_set)
    out.print(f"{target}: {runs} runs of {validation_set} accuracy (data: Nicholas Lourie, CC BY-SA 4.0, "
              "https://github.com/nicholaslourie/opda)", highlight=False)


def register(app: typer.Typer) -> None:
    """Add the replay commands to the ``finesweep`` app."""
    app.command()(replay)
    app.command("curves-from-opda")(curves_from_opda)
