"""The bad-input corpus through the real ``finesweep`` command, in this process (``tests.helpers.cli``): bad data
files, model folders, sweep directories, curves files, hostile YAML and values no field or machine can take.
Each gets exit code 2 and one message naming the problem, no traceback, nothing created, and no Ray started.
The bad sweep files of ``bad_specs.py`` run in ``test_cli.py``, a few of them in real processes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers.checkpoints import write_checkpointed_sweep
from tests.helpers.cli import CliOutcome, run_finesweep, tree
from tests.helpers.sweeps import write_tiny_sweep
from tests.sweeps.cli.bad_files import BAD_DATA, BAD_MODELS, BadData, BadModel
from tests.sweeps.cli.bad_specs import BadSpec
from tests.sweeps.cli.bad_sweep_inputs import BAD_SWEEP_DIRS, MORE_BAD_SPECS, BadSweepDir
from tests.sweeps.cli.test_cli import finesweep, write_bad_spec


def assert_refused(outcome: CliOutcome, *, expected: tuple[str, ...], folder: Path,
                   before: dict[str, tuple[int, int]], prefix: str = "error: ") -> None:
    """Exit code 2, one message holding every ``expected`` piece, no traceback, nothing written in ``folder``."""
    assert outcome.code == 2, outcome
    assert "Traceback" not in outcome.stdout + outcome.stderr
    assert outcome.stderr.startswith(prefix), outcome.stderr
    for piece in expected:
        assert piece in outcome.stderr, f"{piece!r} not in:\n{outcome.stderr}"
    assert not (folder / "runs").exists()
    assert tree(folder) == before


def assert_tiny_sweep_refused(case: BadData | BadModel, folder: Path, *, model_dir: Path, data_path: Path) -> None:
    """The tiny sweep over ``model_dir`` and ``data_path``, written in ``folder`` and run as ``case`` says."""
    spec_path = write_tiny_sweep(folder / "sweep.yaml", model_dir=model_dir, data_path=data_path)
    before = tree(folder)
    outcome = run_finesweep(*case.command, spec_path, *case.overrides)
    assert_refused(outcome, expected=case.expected, folder=folder, before=before, prefix=f"error: {spec_path}: ")


@pytest.fixture(scope="module")
def checkpointed_sweep(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path, qa_data_path: Path) -> Path:
    """A sweep directory with adapter checkpoints and no Tune results, copied by each case that changes it."""
    return write_checkpointed_sweep(tmp_path_factory.mktemp("bad-sweep-dirs") / "runs", model_dir=tiny_model_dir,
                                    data_path=qa_data_path)


@pytest.mark.parametrize("case", [pytest.param(case, id=case.id) for case in MORE_BAD_SPECS])
def test_a_hostile_or_impossible_sweep_file_is_refused(case: BadSpec, tmp_path: Path, tiny_model_dir: Path,
                                                      qa_data_path: Path):
    spec_path = write_bad_spec(case, tmp_path, model_dir=tiny_model_dir, data_path=qa_data_path)
    before = tree(tmp_path)
    outcome = run_finesweep(case.command, spec_path, *case.overrides)
    assert_refused(outcome, expected=case.expected, folder=tmp_path, before=before,
                   prefix=f"error: {spec_path}: " if case.names_file else "error: ")


@pytest.mark.parametrize("case", [pytest.param(case, id=case.id) for case in BAD_DATA])
def test_a_bad_data_file_is_refused_naming_file_and_line(case: BadData, tmp_path: Path, tiny_model_dir: Path):
    data_path = tmp_path / f"data{case.suffix}"
    if isinstance(case.content, bytes):
        data_path.write_bytes(case.content)
    else:
        case.content(data_path)
    assert_tiny_sweep_refused(case, tmp_path, model_dir=tiny_model_dir, data_path=data_path)


@pytest.mark.parametrize("case", [pytest.param(case, id=case.id) for case in BAD_MODELS])
def test_a_bad_model_folder_is_refused(case: BadModel, tmp_path: Path, tiny_model_dir: Path, qa_data_path: Path):
    model_dir = shutil.copytree(tiny_model_dir, tmp_path / "model")
    case.damage(model_dir)
    assert_tiny_sweep_refused(case, tmp_path, model_dir=model_dir, data_path=qa_data_path)


@pytest.mark.parametrize("case", [pytest.param(case, id=case.id) for case in BAD_SWEEP_DIRS])
def test_a_bad_sweep_directory_is_refused(case: BadSweepDir, tmp_path: Path, checkpointed_sweep: Path):
    sweep_dir = shutil.copytree(checkpointed_sweep, tmp_path / "sweep")
    case.damage(sweep_dir)
    before = tree(tmp_path)
    outcome = run_finesweep(*(arg.format(sweep=sweep_dir, folder=tmp_path) for arg in case.args))
    assert_refused(outcome, expected=case.expected, folder=tmp_path, before=before)


def test_the_corpus_holds_at_least_80_cases():
    from tests.sweeps.cli.bad_specs import BAD_SPECS

    cases = [*BAD_SPECS, *MORE_BAD_SPECS, *BAD_DATA, *BAD_MODELS, *BAD_SWEEP_DIRS]
    assert len({case.id for case in cases}) == len(cases) >= 80


def test_bad_data_and_a_bad_sweep_directory_are_refused_in_real_processes(tmp_path: Path, tiny_model_dir: Path,
                                                                          checkpointed_sweep: Path):
    data_case = next(case for case in BAD_DATA if case.id == "bad-data-at-run")
    data_path = tmp_path / "data.jsonl"
    data_path.write_bytes(data_case.content)
    spec_path = write_tiny_sweep(tmp_path / "sweep.yaml", model_dir=tiny_model_dir, data_path=data_path)
    sweep_case = next(case for case in BAD_SWEEP_DIRS if case.id == "best-saved-spec-not-yaml")
    sweep_dir = shutil.copytree(checkpointed_sweep, tmp_path / "sweep")
    sweep_case.damage(sweep_dir)
    before = tree(tmp_path)
    for args, expected in (((*data_case.command, str(spec_path)), data_case.expected),
                           (("best", str(sweep_dir)), sweep_case.expected)):
        completed = finesweep(*args, cwd=tmp_path)
        outcome = CliOutcome(completed.returncode, completed.stdout, completed.stderr)
        assert "Token authentication is enabled for this Ray cluster" not in outcome.stderr  # a starting Ray's words
        assert_refused(outcome, expected=expected, folder=tmp_path, before=before)
