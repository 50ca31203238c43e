"""The real ``finesweep`` command: a bad sweep file or override gets one clear message naming the file, the field,
the value and what is allowed; exit code 2; no traceback; nothing on disk; no Ray started.

The bad-spec table lives in ``bad_specs.py``; every case runs in this process (``tests.helpers.cli``), and a few
of them, with cases of ``test_bad_inputs.py``, also in real subprocesses, all at once in a module fixture, so
that what a user's terminal shows is checked too."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from sweeps.cli.app import app
from tests.helpers.cli import run_finesweep, tree
from tests.helpers.sweeps import write_tiny_sweep
from tests.sweeps.cli.bad_specs import BAD_SPECS, BadSpec
from tests.sweeps.cli.bad_sweep_inputs import MORE_BAD_SPECS

TIMEOUT = 180  # generous for a loaded machine; a spec that wrongly passed would start a real sweep under `run`
HEAVY_MODULES = ("torch", "ray", "transformers", "optuna")
# Every command the README documents; a command that goes missing from the app fails here.
COMMANDS = ("validate", "run", "resume", "best", "presets", "sample", "data", "submit", "status", "logs", "stop",
            "list", "dashboard", "export", "replay", "curves", "curves-from-opda")
# Also run as real processes: proof that no traceback reaches a terminal and that `run` starts no Ray.
IN_SUBPROCESSES = ("unknown-top-level-key", "invalid-yaml", "missing-sweep-file", "full-on-two-workers",
                   "override-without-value", "yaml-alias-bomb", "yaml-python-object-tag", "negative-rank-in-a-choice",
                   "cpus-beyond-the-machine")


def finesweep(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sweeps", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=TIMEOUT)


def write_bad_spec(case: BadSpec, folder: Path, *, model_dir: Path, data_path: Path) -> Path:
    spec_path = write_tiny_sweep(folder / "sweep.yaml", model_dir=model_dir, data_path=data_path)
    if case.text is not None:
        data = case.text if isinstance(case.text, bytes) else case.text.encode()
        spec_path.write_bytes(data)
    elif case.edits:
        raw = yaml.safe_load(spec_path.read_text())
        case.apply(raw)
        spec_path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return folder / case.spec


@pytest.fixture(scope="module")
def subprocess_outcomes(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path, qa_data_path: Path):
    """``{case id: (case folder, its files before, the spec path, the finished process)}`` for the cases in
    :data:`IN_SUBPROCESSES`, all run in parallel."""
    cases = [case for case in [*BAD_SPECS, *MORE_BAD_SPECS] if case.id in IN_SUBPROCESSES]
    prepared = {}
    for case in cases:
        folder = tmp_path_factory.mktemp(case.id)
        spec_path = write_bad_spec(case, folder, model_dir=tiny_model_dir, data_path=qa_data_path)
        prepared[case.id] = (folder, tree(folder), spec_path)
    with ThreadPoolExecutor(max_workers=max(4, 2 * (os.cpu_count() or 1))) as pool:
        futures = {case.id: pool.submit(finesweep, case.command, str(prepared[case.id][2]), *case.overrides,
                                        cwd=prepared[case.id][0]) for case in cases}
        return {name: (*prepared[name], future.result()) for name, future in futures.items()}


@pytest.mark.parametrize("case", [pytest.param(case, id=case.id) for case in BAD_SPECS])
def test_bad_spec_is_refused_with_a_clear_message_and_nothing_created(case: BadSpec, tmp_path: Path,
                                                                     tiny_model_dir: Path, qa_data_path: Path):
    spec_path = write_bad_spec(case, tmp_path, model_dir=tiny_model_dir, data_path=qa_data_path)
    before = tree(tmp_path)
    outcome = run_finesweep(case.command, spec_path, *case.overrides)
    assert outcome.code == 2, outcome
    assert "Traceback" not in outcome.stdout + outcome.stderr
    assert outcome.stderr.startswith(f"error: {spec_path}: "), outcome.stderr
    for expected in case.expected:
        assert expected in outcome.stderr, f"{expected!r} not in:\n{outcome.stderr}"
    assert not (tmp_path / "runs").exists()
    assert tree(tmp_path) == before


@pytest.mark.parametrize("case_id", IN_SUBPROCESSES)
def test_a_bad_input_is_refused_the_same_in_a_real_process(case_id: str, subprocess_outcomes):
    case = next(case for case in [*BAD_SPECS, *MORE_BAD_SPECS] if case.id == case_id)
    folder, files_before, spec_path, completed = subprocess_outcomes[case_id]
    output = completed.stdout + completed.stderr
    assert completed.returncode == 2, output
    assert "Traceback" not in output
    assert "Token authentication is enabled for this Ray cluster" not in output  # what a starting Ray prints
    assert completed.stderr.startswith(f"error: {spec_path}: " if case.names_file else "error: "), completed.stderr
    for expected in case.expected:
        assert expected in completed.stderr, f"{expected!r} not in:\n{completed.stderr}"
    assert not (folder / "runs").exists()
    assert tree(folder) == files_before


def test_every_problem_of_a_file_is_reported_in_one_run(tmp_path: Path, tiny_model_dir: Path, qa_data_path: Path):
    spec_path = write_tiny_sweep(tmp_path / "sweep.yaml", model_dir=tiny_model_dir, data_path=qa_data_path,
                                 training={"batch_size": 0, "max_steps": 12},
                                 scheduler={"name": "hyperband"}, trainig={"epochs": 2})
    completed = finesweep("validate", str(spec_path), "search.num_trials", cwd=tmp_path)
    assert completed.returncode == 2
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 4, completed.stderr
    assert all(str(spec_path) in line for line in lines)
    for field in ("training.batch_size: must be >= 1", "scheduler.name: must be one of", "trainig: unknown key",
                  "override 'search.num_trials'"):
        assert sum(field in line for line in lines) == 1, (field, completed.stderr)


def test_run_refuses_to_overwrite_an_existing_sweep(tmp_path: Path, tiny_model_dir: Path, qa_data_path: Path):
    spec_path = write_tiny_sweep(tmp_path / "sweep.yaml", model_dir=tiny_model_dir, data_path=qa_data_path)
    tune_dir = tmp_path / "runs" / "tiny" / "tune"
    tune_dir.mkdir(parents=True)
    (tune_dir / "experiment_state.json").write_text("{}")
    before = tree(tmp_path)

    completed = finesweep("run", str(spec_path), cwd=tmp_path)

    assert completed.returncode == 2
    assert "Traceback" not in completed.stdout + completed.stderr
    assert "already holds a sweep named 'tiny'" in completed.stderr
    assert "nothing was started" in completed.stderr
    assert "name=" in completed.stderr and "storage.path" in completed.stderr
    assert tree(tmp_path) == before


def test_validate_accepts_a_budgeted_search_over_methods_and_models(tmp_path: Path, tiny_model_dir: Path,
                                                                    qa_data_path: Path):
    spec_path = write_tiny_sweep(
        tmp_path / "sweep.yaml", model_dir=tiny_model_dir, data_path=qa_data_path,
        search={"budget": {"cpu_hours": 0.5}, "objectives": [{"metric": "eval_loss", "mode": "min"},
                                                              {"metric": "train_tokens", "mode": "min"}]},
        search_space={"method.name": {"type": "choice", "values": ["lora", "ia3"]},
                      "model.path": {"type": "choice", "values": [str(tiny_model_dir)]},
                      "method.r": {"type": "choice", "values": [2, 4]}})
    completed = finesweep("validate", str(spec_path), cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert f"lora|ia3 on {tiny_model_dir.name} (as many trials as 0.5 cpu_hours pay for)" in completed.stdout
    assert "searching method.name, model.path, method.r" in completed.stdout


def test_validate_accepts_the_tiny_sweep(tmp_path: Path, tiny_model_dir: Path, qa_data_path: Path):
    spec_path = write_tiny_sweep(tmp_path / "sweep.yaml", model_dir=tiny_model_dir, data_path=qa_data_path)
    completed = finesweep("validate", str(spec_path), "search.num_trials=2", cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert f"{spec_path}: ok" in completed.stdout
    assert "2 trials" in completed.stdout
    # Advice only: 2 trials are too few for the tiny sweep's rungs.
    assert completed.stderr.startswith("note: scheduler:") and "error" not in completed.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["sweep.yaml"]


def test_the_app_has_exactly_the_documented_commands_and_help_lists_them(tmp_path: Path):
    assert set(typer.main.get_command(app).commands) == set(COMMANDS)
    completed = finesweep("--help", cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    listed = {line.split()[1] for line in completed.stdout.splitlines() if line.startswith("│ ")}
    assert set(COMMANDS) <= listed, completed.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_has_help(command: str):
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output and command in result.output


def test_a_message_is_printed_verbatim_not_as_markup(tmp_path: Path, tiny_model_dir: Path, qa_data_path: Path):
    folder = tmp_path / "[exp]"
    folder.mkdir()
    spec_path = write_tiny_sweep(folder / "sweep.yaml", model_dir=tiny_model_dir, data_path=qa_data_path)
    completed = finesweep("validate", str(spec_path), "name=a[bold]b", cwd=tmp_path)
    assert completed.returncode == 2
    assert f"{spec_path}: name:" in completed.stderr and "'a[bold]b'" in completed.stderr


# argv: the heavy module names, comma-separated, then the finesweep arguments (none: import only).
IMPORT_PROBE = """
import sys
heavy = set(sys.argv[1].split(","))
sys.argv = ["finesweep", *sys.argv[2:]]
from sweeps.cli.app import main
if sys.argv[1:]:
    try:
        main()
    except SystemExit as exit:
        assert exit.code in (0, None), exit.code
print("heavy modules:", ",".join(sorted(heavy & {name.split(".")[0] for name in sys.modules})))
"""


@pytest.mark.parametrize("args", [(), ("validate",), ("--help",)], ids=["import", "validate", "help"])
def test_cli_and_validate_do_not_import_heavy_libraries(args, tmp_path: Path, tiny_model_dir: Path,
                                                        qa_data_path: Path):
    spec_path = write_tiny_sweep(tmp_path / "sweep.yaml", model_dir=tiny_model_dir, data_path=qa_data_path)
    argv = [*args, str(spec_path)] if args == ("validate",) else list(args)
    completed = subprocess.run([sys.executable, "-c", IMPORT_PROBE, ",".join(HEAVY_MODULES), *argv], cwd=tmp_path,
                               capture_output=True, text=True, timeout=TIMEOUT)
    assert completed.returncode == 0, completed.stderr
    if args == ("validate",):
        assert f"{spec_path}: ok" in completed.stdout
    assert completed.stdout.splitlines()[-1] == "heavy modules: ", completed.stdout
