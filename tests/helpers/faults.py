"""What the fault tests share: waiting for a sweep to reach a point, reading Tune's rows per trial, tearing a
file as a crash would, and checking that a sweep directory and its Optuna study tell the same story."""

from __future__ import annotations

import json
import pickle
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import psutil
import yaml

from sweeps.core.layout import JOURNAL_FILE, TUNE_DIR

T = TypeVar("T")


def wait_for(predicate: Callable[[], T], *, timeout: float, what: str, interval: float = 1.0) -> T:
    """The first true value of ``predicate``, polled every ``interval`` seconds for up to ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def result_rows(sweep_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """Trial id → Tune's result rows (``tune/<trial>/result.json``), in the order they were written."""
    return {path.parent.name: [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
            for path in sorted((Path(sweep_dir) / TUNE_DIR).glob("*/result.json"))}


def tear_last_line(path: Path) -> bytes:
    """Cut ``path`` in the middle of its last line, as a process killed while appending it leaves a file;
    returns the bytes cut off."""
    content = path.read_bytes()
    start = content.rstrip(b"\n").rfind(b"\n") + 1
    cut = start + (len(content) - start) // 2
    path.write_bytes(content[:cut])
    return content[cut:]


def unreadable_files(sweep_dir: Path) -> list[str]:
    """Files of a sweep directory that a reader would choke on: JSON or YAML that does not parse, a JSON-lines
    file with a torn or bad line, a pickle of Tune's state that does not load, a study journal not ending in a
    whole line, a leftover ``*.partial``."""
    from ray import cloudpickle

    problems = []
    for path in sorted(Path(sweep_dir).rglob("*")):
        if not path.is_file():
            continue
        try:
            if path.name.endswith(".partial"):
                problems.append(f"{path}: half-written")
            elif path.suffix == ".pkl" or path.name.startswith("search_gen_state-"):  # Tune's pickles
                cloudpickle.loads(path.read_bytes())
            elif path.suffix == ".json" and path.name != "result.json":
                json.loads(path.read_text())
            elif path.name == "result.json":
                [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
            elif path.suffix in (".yaml", ".yml"):
                yaml.safe_load(path.read_text())
            elif path.name == JOURNAL_FILE and path.read_bytes() and not path.read_bytes().endswith(b"\n"):
                problems.append(f"{path}: torn last line")
        except (ValueError, yaml.YAMLError, EOFError, pickle.UnpicklingError) as error:
            problems.append(f"{path}: {error}")
    return problems


def study_disagreements(sweep_dir: Path) -> list[str]:
    """Where the sweep's Optuna study and Tune's results tell different stories, trial by trial: the latest
    study trial carrying each Tune trial's id is complete with Tune's last value when the trial finished
    training, pruned when it stopped early or failed; earlier ones are attempts that failed (pruned) before a
    resume ran the trial again; every other study trial failed without running."""
    import optuna

    from search_spaces.searcher import journal_storage
    from search_spaces.study import TUNE_TRIAL_ID
    from sweeps.config.loading import read_spec
    from sweeps.results.reading import trial_summaries

    spec = read_spec(sweep_dir)
    study = optuna.load_study(study_name=spec.name, storage=journal_storage(Path(sweep_dir) / JOURNAL_FILE))
    tune_trials = {summary.trial_id: summary for summary in trial_summaries(Path(sweep_dir), spec)}
    problems, attempts = [], {}
    for trial in study.trials:
        tune_id = trial.user_attrs.get(TUNE_TRIAL_ID)
        if tune_id in tune_trials:
            attempts.setdefault(tune_id, []).append(trial)
        elif trial.state != optuna.trial.TrialState.FAIL:
            problems.append(f"study trial {trial.number} ({trial.state.name}) names no Tune trial ({tune_id})")
    for tune_id, summary in tune_trials.items():
        *failed, trial = attempts.get(tune_id) or [None]
        finished = summary.state == "TERMINATED" and not summary.stopped_early
        expected = optuna.trial.TrialState.COMPLETE if finished else optuna.trial.TrialState.PRUNED
        if trial is None or trial.state != expected or (finished and trial.value != summary.last_value):
            problems.append(f"Tune trial {tune_id} ({summary.state}, last {spec.search.metric} "
                            f"{summary.last_value}) is study trial {trial and trial.number} "
                            f"{trial and trial.state.name} {trial and trial.value}")
        problems += [f"study trial {attempt.number} of {tune_id} is {attempt.state.name}, not a failed attempt"
                     for attempt in failed if attempt.state != optuna.trial.TrialState.PRUNED]
    return problems


def running(processes: Iterable[psutil.Process]) -> list[psutil.Process]:
    """Those of ``processes`` still running (a zombie has ended; only its parent has not reaped it)."""
    alive = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                alive.append(process)
        except psutil.NoSuchProcess:
            continue
    return alive
