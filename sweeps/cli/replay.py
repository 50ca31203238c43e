"""``finesweep replay``, ``curves`` and ``curves-from-opda``: try a searcher and scheduler on recorded learning
curves (your past sweeps, or published ones) before paying for GPUs. Heavy imports stay inside the commands."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from sweeps.cli.options import Address, SweepDir, out
from sweeps.core.errors import UserError

CurvesPath = Annotated[Path, typer.Argument(help="Curves file: JSON lines, a header line "
                                            '{"metric": ..., "mode": ...} then one {"params": ..., "curve": '
                                            "[[step, value], ...]} per recorded run (see README, Replay).")]
SpecOption = Annotated[Path, typer.Option("--spec", help="The sweep file whose searcher, scheduler and "
                                          "search_space are replayed; model and data need not exist here.")]
Overrides = Annotated[list[str] | None, typer.Argument(help="KEY=VALUE overrides, e.g. scheduler.name=none.")]
REPLAY_CURVES = "curves.jsonl"  # a simulated replay's trials, in the curves format (replayable, warm-startable)
REPLAY_SUMMARY = "replay.json"


def replay(curves_path: CurvesPath, spec_path: SpecOption, overrides: Overrides = None,
           on_ray: Annotated[bool, typer.Option("--on-ray", help="Replay as real Ray Tune trials (wall-clock "
                                                "order; exercises a cluster) instead of on the simulated clock.")]
           = False, address: Address = None) -> None:
    """Replay recorded curves through the sweep's searcher and scheduler (no training, no GPU): each trial plays
    the recorded run nearest its config, on a simulated clock; results go to <storage.path>/<name>-replay."""
    from sweeps.run.curves import read_curves
    from sweeps.run.replay import replay_spec

    curves = read_curves(curves_path)
    spec = replay_spec(spec_path=spec_path, overrides=overrides or [], curves=curves)
    if Path(spec.sweep_dir).exists():
        raise UserError(f"{spec.sweep_dir} already holds a replay named {spec.name!r}; nothing was started. "
                        f"Give another name (name=...) or another storage.path.")
    if on_ray:
        _replay_on_ray(spec, curves=curves, address=address)
    else:
        _replay_simulated(spec, curves=curves)


def _replay_simulated(spec, *, curves) -> None:
    from sweeps.config.space import effective_space
    from sweeps.core.values import best_by, format_params
    from sweeps.run.curves import write_curves
    from sweeps.run.simulate import simulate

    started = time.monotonic()
    sweep = simulate(spec, curves=curves)
    metric, unit = spec.search.metric, curves.header.cost_unit
    reports = [(report, trial) for trial in sweep.trials for report in trial.reports]
    best, best_trial = best_by(reports, key=lambda pair: pair[0][metric], mode=spec.search.mode) if reports else (
        None, None)
    full = sum(curves.runs[trial.run].total_cost() for trial in sweep.trials)
    summary = {"trials": len(sweep.trials), "stopped_early": sum(trial.stopped_early for trial in sweep.trials),
               "failed": sum(trial.status == "ERROR" for trial in sweep.trials), "cost": sweep.total_cost(),
               "cost_without_stopping": full, "cost_unit": unit, "best_value": best[metric] if best else None,
               "best_params": best_trial.config if best_trial else None, "best_in_file": curves.best_value(),
               "wall_seconds": time.monotonic() - started}
    sweep_dir = Path(spec.sweep_dir)
    sweep_dir.mkdir(parents=True)
    write_curves(sweep.as_curves(recorded=curves, space=effective_space(spec)), sweep_dir / REPLAY_CURVES)
    (sweep_dir / REPLAY_SUMMARY).write_text(json.dumps(summary, indent=2, default=str))
    saved = full / summary["cost"] if summary["cost"] else 1.0
    out.print(f"{summary['trials']} trials replayed on the simulated clock ({spec.search.max_concurrent_trials} at "
              f"a time, seed {spec.search.seed}) in {summary['wall_seconds']:.1f} s: {summary['stopped_early']} "
              f"stopped early, {summary['failed']} failed; {summary['cost']:.4g} {unit} of compute spent, "
              f"{full:.4g} without early stopping ({saved:.2f}× less).", highlight=False)
    if best:
        out.print(f"best: {metric}={best[metric]:.4g} ({format_params(best_trial.config)}); best in the file "
                  f"{curves.best_value():.4g}, {abs(curves.best_value() - best[metric]):.3g} away.\n"
                  f"results: {sweep_dir / REPLAY_CURVES} (the replayed trials as a curves file)", highlight=False)


def _replay_on_ray(spec, *, curves, address: str | None) -> None:
    from sweeps.core.values import format_params
    from sweeps.results.summary import summarise_run
    from sweeps.run.replay import run_replay

    started = time.monotonic()
    run_replay(spec=spec, curves=curves, address=address)
    summary = summarise_run(spec, wall_seconds=time.monotonic() - started)
    out.print(f"{summary.trials} trials replayed on Ray in {summary.wall_seconds:.0f} s: {summary.stopped_early} "
              f"stopped early, {summary.failed} failed.", highlight=False)
    if summary.best:
        out.print(f"best: {spec.search.metric}={summary.best['value']:.4g} ({format_params(summary.best['params'])});"
                  f" best in the file {curves.best_value():.4g}.\nresults: {spec.sweep_dir}", highlight=False)


def curves(sweep_dir: SweepDir, target: Annotated[Path, typer.Argument(help="The curves file to write.")]) -> None:
    """Write a finesweep sweep's trials as a curves file: replay it, or warm-start the next sweep from it."""
    from sweeps.results.curves_export import sweep_curves
    from sweeps.run.curves import write_curves

    recorded = sweep_curves(sweep_dir)
    write_curves(recorded, target)
    out.print(f"{target}: {len(recorded.runs)} trials of {sweep_dir} ({recorded.header.metric}, "
              f"{recorded.header.mode})", highlight=False)


def curves_from_opda(source: Annotated[Path, typer.Argument(help="opda's *_tuning.results.jsonl file.")],
                     target: Annotated[Path, typer.Argument(help="The curves file to write.")],
                     validation_set: Annotated[str, typer.Option(help="DeBERTa: matched or mismatched.")] = "matched",
                     ) -> None:
    """Convert opda's DeBERTa or AlexNet tuning results (Nicholas Lourie, CC BY-SA 4.0) into a curves file."""
    from sweeps.run.opda import ATTRIBUTION, convert_opda

    runs, kind = convert_opda(source=source, target=target, validation_set=validation_set)
    out.print(f"{target}: {runs} {kind} runs ({ATTRIBUTION})", highlight=False)


def register(app: typer.Typer) -> None:
    """Add the replay commands to the ``finesweep`` app."""
    app.command()(replay)
    app.command()(curves)
    app.command("curves-from-opda")(curves_from_opda)
