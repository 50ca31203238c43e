"""load_spec in-process: overrides, path resolution, the searchable paths, a preset merged with the file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from search_spaces.presets import preset_space
from search_spaces.space import Choice, LogUniform
from sweeps.config.loading import apply_overrides, load_spec
from sweeps.config.space import effective_space, searchable_paths
from sweeps.core.errors import SpecError
from tests.helpers.sweeps import write_tiny_sweep


@pytest.fixture
def sweep_path(tmp_path: Path, tiny_model_dir: Path, qa_data_path: Path) -> Path:
    return write_tiny_sweep(tmp_path / "sweep.yaml", model_dir=tiny_model_dir, data_path=qa_data_path)


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
                                                                  tiny_model_dir: Path,
                                                                  monkeypatch: pytest.MonkeyPatch):
    project = tmp_path / "project"
    shutil.copytree(tiny_model_dir, project / "models" / "tiny")
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
    assert paths["method.name"] == paths["model.path"] == "str"  # which method, which base model: choices
    assert "method.target_modules" not in paths  # a list
    assert "training.gradient_checkpointing" not in paths  # a bool
    assert "task.type" not in paths and "model.dtype" not in paths
    assert all(path.split(".")[0] in ("training", "method", "task", "model") for path in paths)
    assert set(paths.values()) == {"float", "int", "str"}
    assert paths["training.optimizer"] == "str"


@pytest.mark.parametrize(("method", "own"), [
    ("lora", {"method.r", "method.alpha", "method.dropout"}),
    ("qlora", {"method.r", "method.alpha", "method.dropout"}),
    ("adalora", {"method.init_r", "method.target_r", "method.alpha", "method.dropout"}),
    ("ia3", set()),
    ("prompt_tuning", {"method.num_virtual_tokens"}),
    ("prefix_tuning", {"method.num_virtual_tokens"}),
    ("full", set()),
    ("freeze", {"method.k"}),
])
def test_each_method_searches_its_own_fields(method: str, own: set[str]):
    paths = searchable_paths(method=method)
    assert {path for path in paths if path.startswith("method.")} == own | {"method.name"}
    assert "training.learning_rate" in paths


def test_each_task_searches_its_own_fields():
    dpo = searchable_paths(task="dpo")
    assert (dpo["task.beta"], dpo["task.loss_type"]) == ("float", "str")
    assert "task.chosen_column" not in dpo  # a name, not a knob
    assert "task.beta" not in searchable_paths(task="causal_lm")
    assert "method.r" in dpo and "training.learning_rate" in dpo


def _method_spec(sweep_path: Path, method: str, space: str, *overrides: str):
    return load_spec(sweep_path, [f"method={method}", f"search_space={space}", "search.initial_points=[]",
                                  *overrides])


def test_a_methods_fields_are_searched_and_set_on_the_trial(sweep_path: Path):
    spec = _method_spec(sweep_path, "{name: freeze, k: 1}", "{method.k: {type: int, low: 1, high: 2}, "
                        "training.optimizer: {type: choice, values: [adamw, sgd]}}")
    trial = spec.with_params({"method.k": 2, "training.optimizer": "sgd"})
    assert (trial.method.name, trial.method.k, trial.training.optimizer) == ("freeze", 2, "sgd")


def test_another_methods_field_is_rejected_naming_its_methods(sweep_path: Path):
    with pytest.raises(SpecError) as caught:
        _method_spec(sweep_path, "{name: ia3, r: 4}", "{method.target_r: {type: choice, values: [2, 4]}}")
    assert caught.value.problems == [
        "method.r: unknown key; method.r is a field of method.name lora, qlora, not of 'ia3' "
        "(allowed: feedforward_modules, name, target_modules)"]
    with pytest.raises(SpecError) as caught:
        _method_spec(sweep_path, "{name: adalora}", "{method.target_rr: {type: choice, values: [2, 4]}, "
                     "method.r: {type: choice, values: [2, 4]}}")
    first, second = caught.value.problems
    assert first.startswith("search_space.method.target_rr: must be a searchable spec path, but got "
                            "'method.target_rr'; did you mean 'method.target_r'?")
    assert second.endswith("; method.r is a field of method.name lora, qlora, not of 'adalora'")


@pytest.mark.parametrize(("overrides", "problem"), [
    (["method={name: full}", "resources.workers=2"],
     "resources.workers: more than 1 worker (FSDP2 sharding) is supported for method.name 'lora' only, but got 2 "
     "with method.name='full'; use resources.workers: 1"),
    (["method={name: prefix_tuning}", "training.gradient_checkpointing=true"],
     "training.gradient_checkpointing: must be false for method.name 'prefix_tuning' (PEFT's prefix tuning does "
     "not work with it), but got true"),
    (["method={name: adalora, init_r: 4}"], "method.target_r: `target_r <= init_r` must hold, but got (target_r=8, "
                                            "init_r=4)"),
])
def test_unsupported_method_combinations_are_rejected(sweep_path: Path, overrides: list[str], problem: str):
    with pytest.raises(SpecError) as caught:
        load_spec(sweep_path, [*overrides, "search.initial_points=[]",
                               "search_space={training.learning_rate: {type: loguniform, low: 1.0e-5, high: 1.0e-3}}"])
    assert caught.value.problems == [problem]


def test_freeze_depth_is_checked_against_the_models_layers(sweep_path: Path):
    # The tiny model has 2 layers.
    with pytest.raises(SpecError) as caught:
        _method_spec(sweep_path, "{name: freeze, k: 3}", "{method.k: {type: choice, values: [1, 4]}}")
    assert caught.value.problems == [
        "method.k: `k <= num_hidden_layers` must hold, but got (k=3, num_hidden_layers=2)",
        "search_space.method.k: `k <= num_hidden_layers` must hold for every value, but it can sample k=4 and the "
        "model has num_hidden_layers=2"]


def test_qlora_needs_cuda_here_but_not_for_a_cluster(sweep_path: Path, monkeypatch: pytest.MonkeyPatch):
    import torch

    overrides = ["method.name=qlora", "resources.use_gpu=true"]
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SpecError) as caught:
        load_spec(sweep_path, overrides)
    assert caught.value.problems == [
        "method.name: 'qlora' needs a CUDA GPU and bitsandbytes, but got 'qlora' on a machine with no CUDA GPU "
        "(torch.cuda.is_available() is False); use 'lora' here, or submit the sweep to a GPU cluster"]
    assert load_spec(sweep_path, overrides, check_files=False).method.name == "qlora"  # checked where it runs
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr("importlib.util.find_spec", lambda name: object())  # as if bitsandbytes were installed
    assert load_spec(sweep_path, overrides).method.name == "qlora"
    with pytest.raises(SpecError, match=r"resources\.use_gpu: must be true for method\.name 'qlora'"):
        load_spec(sweep_path, ["method.name=qlora"])


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


CLASSIFY_QA = "task={type: classification, text_column: prompt, label_column: response}"


def test_a_classification_task_is_scored_by_its_own_metrics(sweep_path: Path):
    spec = load_spec(sweep_path, [CLASSIFY_QA, "search.metric=f1_macro", "search.mode=max"])
    assert (spec.task.type, spec.task.text_column, spec.task.label_column) == ("classification", "prompt", "response")
    with pytest.raises(SpecError) as caught:
        load_spec(sweep_path, [CLASSIFY_QA, "search.metric=perplexity"])
    assert caught.value.problems == ["search.metric: must be a metric the classification task reports (eval_loss "
                                     "or accuracy or f1_macro), but got 'perplexity'"]
    with pytest.raises(SpecError) as caught:
        load_spec(sweep_path, [CLASSIFY_QA, "search.metric=accuracy"])
    assert caught.value.problems == ["search.mode: must be 'max' for accuracy, but got 'min'"]


@pytest.mark.parametrize(("overrides", "problem"), [
    (["task.type=clasification"], "task.type: must be one of 'causal_lm', 'classification'"),
    (["task.label_column=topic"], "task.label_column: must name a column of qa.jsonl (its columns: prompt, "
                                  "response), but got 'topic'"),
    (["resources.workers=2"], "resources.workers: must be 1 for task.type 'classification' (FSDP2 sharding is "
                              "proven for causal_lm only), but got 2"),
    (["method={name: prefix_tuning}"], "method.name: must be 'lora', 'adalora', 'ia3', 'prompt_tuning', 'full' "
                                       "or 'freeze' for task.type 'classification', but got 'prefix_tuning'"),
])
def test_a_classification_task_s_problems_are_named(sweep_path: Path, overrides: list[str], problem: str):
    with pytest.raises(SpecError) as caught:
        load_spec(sweep_path, [CLASSIFY_QA, *overrides, "search.initial_points=[]",
                               "search_space={training.learning_rate: {type: loguniform, low: 1.0e-5, high: 1.0e-3}}"])
    assert [line for line in caught.value.problems if line.startswith(problem)] != [], caught.value.problems
    if overrides[0].startswith("task.type"):
        assert caught.value.problems[0].endswith("but got 'clasification'; did you mean 'classification'?")
