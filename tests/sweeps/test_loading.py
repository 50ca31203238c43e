"""load_spec in-process: overrides, path resolution, the searchable paths, a preset merged with the file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conftest import write_tiny_sweep
from search_spaces.presets import preset_space
from search_spaces.space import Choice, LogUniform
from sweeps.errors import SpecError
from sweeps.loading import apply_overrides, effective_space, load_spec, searchable_paths


@pytest.fixture
def fake_model_dir(tmp_path: Path) -> Path:
    """A folder that passes the model check (config.json), for tests that never load the model."""
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    return folder


@pytest.fixture
def sweep_path(tmp_path: Path, fake_model_dir: Path, qa_data_path: Path) -> Path:
    return write_tiny_sweep(tmp_path / "sweep.yaml", model_dir=fake_model_dir, data_path=qa_data_path)


def test_overrides_set_nested_values_parsed_as_yaml():
    raw = {"search": {"num_trials": 4}}
    problems = apply_overrides(raw, ["search.num_trials=8", "training.learning_rate=1e-4",
                                     "method.target_modules=[q_proj,v_proj]", "training.gradient_checkpointing=true",
                                     "name=other"])
    assert problems == []
    assert raw == {"search": {"num_trials": 8}, "training": {"learning_rate": 1e-4, "gradient_checkpointing": True},
                   "method": {"target_modules": ["q_proj", "v_proj"]}, "name": "other"}
    assert type(raw["search"]["num_trials"]) is int
    assert type(raw["training"]["learning_rate"]) is float


def test_an_override_addresses_a_search_parameter_by_its_dotted_name():
    raw = {"search_space": {"training.learning_rate": {"type": "loguniform", "low": 1e-5, "high": 1e-3}}}
    assert apply_overrides(raw, ["search_space.training.learning_rate.high=1e-2",
                                 "search_space.method.r={type: choice, values: [4, 8]}"]) == []
    assert raw["search_space"] == {"training.learning_rate": {"type": "loguniform", "low": 1e-5, "high": 1e-2},
                                   "method.r": {"type": "choice", "values": [4, 8]}}


def test_overrides_reach_the_validated_spec(sweep_path: Path):
    spec = load_spec(sweep_path, ["search.num_trials=8", "training.learning_rate=1e-4",
                                  "method.target_modules=[q_proj,v_proj]"])
    assert spec.search.num_trials == 8
    assert spec.training.learning_rate == 1e-4
    assert spec.method.target_modules == ["q_proj", "v_proj"]
    assert spec.training.batch_size == 8  # untouched keys keep the file's values


def test_malformed_overrides_are_all_reported(sweep_path: Path):
    with pytest.raises(SpecError) as caught:
        load_spec(sweep_path, ["search.num_trials", "=3", "method.target_modules=[q_proj"])
    problems = caught.value.problems
    assert len(problems) == 3, problems
    assert problems[0].startswith("override 'search.num_trials': expected KEY=VALUE")
    assert problems[1].startswith("override '=3': expected KEY=VALUE")
    assert problems[2].startswith("override 'method.target_modules=[q_proj': value is not valid YAML")


def test_exponent_floats_without_a_dot_are_numbers(sweep_path: Path):
    # YAML 1.1 (PyYAML's default) reads `3e-2` as text; an initial point is not typed, so it would stay text.
    text = sweep_path.read_text().replace("training.learning_rate: 0.03", "training.learning_rate: 3e-2")
    assert "3e-2" in text
    sweep_path.write_text(text)
    spec = load_spec(sweep_path)
    assert spec.search.initial_points[0]["training.learning_rate"] == 3e-2


def test_relative_paths_resolve_against_the_sweep_file_not_the_cwd(tmp_path: Path, qa_data_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch):
    project = tmp_path / "project"
    (project / "models" / "tiny").mkdir(parents=True)
    (project / "models" / "tiny" / "config.json").write_text("{}")
    (project / "data").mkdir()
    (project / "data" / "qa.jsonl").write_bytes(qa_data_path.read_bytes())
    (project / "sweeps").mkdir()
    write_tiny_sweep(project / "sweeps" / "sweep.yaml", model_dir=Path("../models/tiny"),
                     data_path=Path("../data/qa.jsonl"), storage={"path": "../runs"})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    spec = load_spec(Path("../project/sweeps/sweep.yaml"))

    assert spec.model.path == project / "models" / "tiny"
    assert spec.dataset.path == project / "data" / "qa.jsonl"
    assert spec.storage.path == str(project / "runs")
    assert spec.sweep_dir == str(project / "runs" / "tiny")


def test_s3_storage_paths_are_left_alone(sweep_path: Path):
    spec = load_spec(sweep_path, ["storage.path=s3://bucket/sweeps/"])
    assert spec.storage.path == "s3://bucket/sweeps/"
    assert spec.sweep_dir == "s3://bucket/sweeps/tiny"


def test_searchable_paths_are_the_scalar_training_and_method_fields():
    paths = searchable_paths()
    assert paths["training.learning_rate"] == "float"
    assert paths["training.batch_size"] == "int"
    assert paths["training.max_steps"] == "int"  # optional ints are searchable too
    assert paths["method.r"] == "int"
    assert paths["method.alpha"] == "float"
    assert paths["training.lr_scheduler"] == "str"
    assert "method.name" not in paths  # a one-value tag, not a knob
    assert "method.target_modules" not in paths  # a list
    assert "training.gradient_checkpointing" not in paths  # a bool
    assert all(path.split(".")[0] in ("training", "method") for path in paths)
    assert set(paths.values()) == {"float", "int", "str"}


def test_effective_space_is_the_preset_with_the_file_entries_on_top(sweep_path: Path):
    spec = load_spec(sweep_path, ["search.preset=lora-small"])
    preset = preset_space("lora-small")
    space = effective_space(spec)
    assert set(space) == set(preset) | set(spec.search_space)
    # The file's own entries win over the preset's ...
    assert space["training.learning_rate"] == LogUniform(type="loguniform", low=1e-6, high=3e-2)
    assert space["method.r"] == Choice(type="choice", values=[2, 4])
    assert preset["method.r"] != space["method.r"]
    # ... and the rest comes from the preset.
    assert space["training.batch_size"] == preset["training.batch_size"]
    assert space["training.epochs"] == preset["training.epochs"]
    assert list(space) == [*preset, *(name for name in spec.search_space if name not in preset)]


def test_effective_space_without_a_preset_is_the_file_space(sweep_path: Path):
    spec = load_spec(sweep_path)
    assert effective_space(spec) == spec.search_space


def test_check_files_false_skips_the_model_and_data_checks(tmp_path: Path):
    spec_path = write_tiny_sweep(tmp_path / "sweep.yaml", model_dir=Path("/cluster/models/tiny"),
                                 data_path=Path("/cluster/data/qa.jsonl"))
    with pytest.raises(SpecError) as caught:
        load_spec(spec_path)
    assert [problem.split(":")[0] for problem in caught.value.problems] == ["model.path", "dataset.path"]

    spec = load_spec(spec_path, check_files=False)
    assert spec.model.path == Path("/cluster/models/tiny")
    assert spec.dataset.path == Path("/cluster/data/qa.jsonl")


def test_check_files_false_still_checks_everything_else(tmp_path: Path):
    spec_path = write_tiny_sweep(tmp_path / "sweep.yaml", model_dir=Path("/cluster/models/tiny"),
                                 data_path=Path("/cluster/data/qa.jsonl"))
    with pytest.raises(SpecError, match=r"search\.metric: must be a metric"):
        load_spec(spec_path, ["search.metric=accuracy"], check_files=False)


def test_a_spec_error_names_the_file_on_every_line(sweep_path: Path):
    with pytest.raises(SpecError) as caught:
        load_spec(sweep_path, ["training.batch_size=0", "scheduler.name=hyperband"])
    lines = str(caught.value).splitlines()
    assert len(lines) == 2
    assert all(line.startswith(f"{sweep_path}: ") for line in lines)
    assert caught.value.source == str(sweep_path)


def test_the_loaded_file_is_not_changed(sweep_path: Path):
    before = sweep_path.read_text()
    load_spec(sweep_path, ["search.num_trials=2"])
    assert sweep_path.read_text() == before
    assert yaml.safe_load(before)["search"]["num_trials"] == 4
