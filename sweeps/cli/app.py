"""The ``finesweep`` command: thin entry points over the library. Ray and torch load only inside commands
that need them, so ``--help`` and ``validate`` start fast."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from sweeps.cli import cluster, dashboard, replay
from sweeps.cli.options import Address, JsonOpt, Overrides, SpecPath, SweepDir, err, out
from sweeps.config.advice import scheduler_notes
from sweeps.config.loading import load_spec, read_spec
from sweeps.config.space import effective_space
from sweeps.core.errors import SpecError, UserError
from sweeps.core.layout import TUNE_DIR
from sweeps.run.warm_start import warm_start_problems

if TYPE_CHECKING:
    from sweeps.spec import SweepSpec

app = typer.Typer(help="Hyperparameter sweeps for LLM fine-tuning on Ray.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)


class _TrialErrorsInTheSummary(logging.Filter):
    """Tune logs each failed trial's whole traceback as it fails, and the failed trials' ids at the end; the run
    summary shows each kind of error once instead, with where its traceback is."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(("Trial task failed", "Trials did not complete"))


_TRIAL_ERRORS_IN_THE_SUMMARY = _TrialErrorsInTheSummary()


def main(args: list[str] | None = None) -> None:
    """The ``finesweep`` command on ``args`` (None: the command line): a :class:`UserError` is one message and
    exit code 2."""
    # Tune and Optuna narrate at INFO; the live table and the summary say what a user needs.
    for name in ("ray.tune", "ray.train", "optuna"):
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in ("ray.tune.execution.tune_controller", "ray.tune.tune"):
        logging.getLogger(name).addFilter(_TRIAL_ERRORS_IN_THE_SUMMARY)
    try:
        app(args=args)
    except UserError as error:
        # The message quotes user text (paths, values) verbatim: it must not be read as rich markup.
        err.print(Text.assemble(("error:", "red"), f" {error}"), highlight=False, soft_wrap=True)
        raise SystemExit(2) from None


def _load(spec_path: Path, overrides: list[str] | None):
    """The validated spec, its warm-start sources checked too; advice on its numbers goes to stderr."""
    spec = load_spec(spec_path, overrides or [])
    problems = warm_start_problems(spec)
    if problems:
        raise SpecError(str(spec_path), problems)
    for note in scheduler_notes(spec):
        err.print(Text.assemble(("note:", "yellow"), f" {note}"), highlight=False, soft_wrap=True)
    return spec


@app.command()
def validate(spec_path: SpecPath, overrides: Overrides = None) -> None:
    """Check a sweep file (and overrides) without starting anything."""
    spec = _load(spec_path, overrides)
    space = effective_space(spec)
    out.print(f"{spec_path}: ok — sweep [bold]{spec.name}[/bold]: {_what_trains(spec, space)} "
              f"({spec.search.extent()}), searching {', '.join(space)}; "
              f"{spec.search.algorithm} + {spec.scheduler.name}, results in {spec.sweep_dir}", highlight=False)


def _what_trains(spec, space) -> str:
    """``lora on tiny``, or with method.name and model.path searched ``lora|ia3 on tiny|small``."""
    methods, models = space.get("method.name"), space.get("model.path")
    method = "|".join(map(str, methods.values)) if methods else spec.method.name
    model = "|".join(Path(str(value)).name for value in models.values) if models else spec.model.path.name
    return f"{method} on {model}"


@app.command()
def run(spec_path: SpecPath, overrides: Overrides = None, address: Address = None,
        json_events: Annotated[bool, typer.Option("--json-events", help="Print one JSON line per trial event, "
                                                  "then the summary as one (keys: README, Progress).")] = False,
        ) -> None:
    """Run a sweep and print the best trial."""
    spec = _load(spec_path, overrides)
    if (Path(spec.sweep_dir) / TUNE_DIR).exists():
        raise UserError(f"{spec.sweep_dir} already holds a sweep named {spec.name!r}; nothing was started. "
                        f"Continue it with `finesweep resume {spec.sweep_dir}`, or give another name (name=...) "
                        f"or storage.path.")
    from sweeps.run.driver import exit_at_second_interrupt
    from sweeps.run.progress import SweepProgress
    from sweeps.run.runner import run_sweep

    search = spec.search
    planned = None if search.budget is not None and search.num_trials is None else search.trial_limit()
    progress = SweepProgress(metric=spec.search.metric, mode=spec.search.mode, planned=planned,
                             json_events=json_events)
    started = time.monotonic()
    exit_at_second_interrupt(spec.sweep_dir)
    run_sweep(spec, address=address, callbacks=[progress])
    _print_summary(spec, started=started, as_json=json_events)


@app.command()
def resume(sweep_dir: SweepDir, address: Address = None) -> None:
    """Continue an interrupted sweep: finished trials are kept, the rest go on from their latest checkpoints."""
    from sweeps.run.driver import exit_at_second_interrupt
    from sweeps.run.runner import resume_sweep

    spec = read_spec(sweep_dir)
    if not (Path(sweep_dir) / TUNE_DIR).is_dir():
        raise UserError(f"{sweep_dir}: the sweep never started (no {TUNE_DIR}/); use `finesweep run` instead")
    started = time.monotonic()
    exit_at_second_interrupt(sweep_dir)
    resume_sweep(sweep_dir, address=address)
    _print_summary(spec, started=started, as_json=False)


def _print_summary(spec: SweepSpec, *, started: float, as_json: bool) -> None:
    """The run's summary, each kind of trial failure once (stderr), and exit code 1 when no trial finished."""
    from sweeps.results.summary import summarise_run

    summary = summarise_run(spec, wall_seconds=time.monotonic() - started)
    if as_json:
        print(json.dumps({"event": "summary", **summary.as_dict()}), flush=True)
    else:
        # Soft-wrapped: a long checkpoint path stays one line to copy, whatever the terminal's width.
        out.print(summary.text(), highlight=False, soft_wrap=True)
    if summary.failures or not summary.finished:
        err.print(Text(summary.failure_text(), style="red"), highlight=False, soft_wrap=True)
    if not summary.finished:
        raise typer.Exit(1)


@app.command()
def best(sweep_dir: SweepDir, as_json: JsonOpt = False) -> None:
    """Show the best trial of a sweep and its best checkpoint."""
    from sweeps.results.summary import best_record, leaderboard, pareto_table, stale_choice_warning, startup_text

    record = best_record(sweep_dir)
    if as_json:
        print(json.dumps(record, indent=2))
        return
    out.print(leaderboard(sweep_dir))
    if record.get("pareto"):
        out.print(pareto_table(record, spec=read_spec(sweep_dir)))
    if record.get("budget"):
        budget = record["budget"]
        out.print(f"budget: {budget['spent']:.4g} of {budget['amount']:.4g} {budget['unit']} spent", highlight=False)
    out.print(f"best: trial {record['trial_id']} {record['metric']}={record['value']}\n"
              f"checkpoint: {record['checkpoint_path']}", highlight=False, soft_wrap=True)
    if record["startup"]:
        out.print(f"start-up, seconds since launch: {startup_text(record['startup'])}", highlight=False)
    if record["chosen"]:
        chosen = record["chosen"]
        out.print(f"chosen: trial {chosen['trial_id']} step {chosen['step']} {chosen['metric']}={chosen['value']} "
                  f"(picked in the dashboard; `finesweep export` takes it)\ncheckpoint: {chosen['checkpoint_path']}",
                  highlight=False, soft_wrap=True)
    warning = stale_choice_warning(record)
    if warning:
        err.print(Text.assemble(("warning:", "yellow"), f" {warning}"), highlight=False, soft_wrap=True)


@app.command()
def presets() -> None:
    """List the named search spaces a sweep can start from (search.preset)."""
    from search_spaces.presets import PRESET_HELP, PRESETS

    table = Table("preset", "parameters", "what for")
    for name, space in PRESETS.items():
        table.add_row(name, ", ".join(space), PRESET_HELP[name])
    out.print(table)


@app.command()
def sample(sweep_dir: SweepDir,
           prompt: Annotated[str, typer.Option(help="The prompt to answer.")] = "Hello, who are you?",
           max_new_tokens: Annotated[int, typer.Option(help="Tokens to generate.")] = 40) -> None:
    """Generate from the best checkpoint with plain Hugging Face + PEFT code."""
    from sweeps.results.export import refuse_classification
    from sweeps.results.summary import best_record
    from trainer.inference import generate

    refuse_classification(sweep_dir=sweep_dir, command="sample")
    record = best_record(sweep_dir)
    out.print(f"[bold]prompt:[/bold] {prompt}", highlight=False)
    reply = generate(Path(record["checkpoint_path"]), prompt=prompt, max_new_tokens=max_new_tokens)
    out.print(f"[bold]reply ({record['trial_id']}):[/bold] {reply}", highlight=False)


data_app = typer.Typer(help="Look at a sweep's data without training.", no_args_is_help=True)
app.add_typer(data_app, name="data")


@data_app.command("inspect")
def data_inspect(spec_path: SpecPath, overrides: Overrides = None, as_json: JsonOpt = False) -> None:
    """Load, clean, dedupe and split the sweep's dataset; print the counts before and after (and for a
    classification task, the rows of each label in each split)."""
    spec = _load(spec_path, overrides)
    report, class_counts = _split_counts(spec)
    labels = sorted(class_counts["train"].keys() | class_counts["eval"].keys()) if class_counts else []
    dropped = report.train - sum(class_counts["train"].values()) if class_counts and spec.task.balance else None
    if as_json:
        print(json.dumps({"dataset": str(spec.dataset.path), "seed": spec.dataset.seed, "rows": report.as_dict(),
                          "labels": {label: {split: class_counts[split].get(label, 0) for split in ("train", "eval")}
                                     for label in labels} or None,
                          "balance_dropped": dropped}, indent=2))
        return
    table = Table("step", "rows", title=f"{spec.dataset.path.name} (seed {spec.dataset.seed})")
    for step, rows in report.as_dict().items():
        table.add_row(step.replace("_", " "), str(rows))
    out.print(table)
    if labels:
        train = "train (balanced)" if spec.task.balance else "train"
        label_table = Table("label", train, "eval", title="rows per label")
        for label in labels:
            label_table.add_row(label, *(str(class_counts[split].get(label, 0)) for split in ("train", "eval")))
        out.print(label_table)
    if dropped is not None:
        out.print(f"task.balance dropped {dropped} of the {report.train} train rows", highlight=False)


def _split_counts(spec: SweepSpec) -> tuple[Any, dict[str, dict[str, int]]]:
    """The cleaning report, and for classification the rows per label in each split (else empty)."""
    from trainer.data import clean_and_split, load_pairs

    if spec.task.type == "classification":
        from trainer.tasks.classification import labelled_splits

        data = labelled_splits(spec)
        return data.report, data.class_counts
    columns = spec.task.columns(spec.dataset)
    loaded = load_pairs(dataset=spec.dataset, base_dir=spec.dataset.path.parent, columns=columns)
    return clean_and_split(loaded, dataset=spec.dataset, columns=columns)[1], {}


# Laptop → cluster: submit, status, logs, stop, list (after the local commands in --help).
cluster.register(app)
# Dashboard and export: pick a checkpoint in the browser, then write it out for plain Hugging Face code.
dashboard.register(app)
# Replay: try searchers and schedulers on recorded learning curves, without training.
replay.register(app)
