"""``finesweep replay``: the curves file and its errors, nearest-run lookup, the opda converters, a replayed
sweep on the simulated clock through the CLI, and one replayed as real Tune trials (``--on-ray``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from search_spaces.space import Choice, LogUniform, Uniform
from sweeps.core.errors import SpecError, UserError
from sweeps.run.curves import read_curves
from sweeps.run.opda import convert_alexnet, convert_deberta, convert_opda
from sweeps.run.replay import REPLAYED_RUN, RunIndex, replay_max_t, replay_spec

HEADER = {"metric": "accuracy", "mode": "max"}
# Eight runs of one hyperparameter; run i scores 0.5 + i/20 at every report, so later runs are better at
# every rung and the last is the best in the file.
LEARNING_RATES = [1e-5 * 2 ** i for i in range(8)]
RUNS = [{"params": {"training.learning_rate": lr},
         "curve": [[step * 100, 0.5 + i / 20 + step / 1000] for step in range(1, 7)]}
        for i, lr in enumerate(LEARNING_RATES)]


def write_lines(path: Path, lines: list[object]) -> Path:
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return path


def test_reads_header_and_runs_in_file_order(tmp_path: Path):
    curves = read_curves(write_lines(tmp_path / "c.jsonl", [HEADER, *RUNS]))
    assert curves.header.metric == "accuracy" and curves.header.mode == "max"
    assert [run.params["training.learning_rate"] for run in curves.runs] == LEARNING_RATES
    assert curves.runs[0].curve[0] == (100, pytest.approx(0.501))
    assert curves.best_value() == pytest.approx(0.5 + 7 / 20 + 0.006)
    assert curves.most_reports() == 6


@pytest.mark.parametrize(("lines", "expected"), [
    ([HEADER], "needs a header line and at least one run"),
    ([{"metric": "accuracy"}, RUNS[0]], ":1: mode: Field required"),
    ([{"metric": "accuracy", "mode": "up"}, RUNS[0]], ":1: mode: Input should be 'min' or 'max'"),
    ([HEADER, "{not json"], ":2: not valid JSON"),
    ([HEADER, {"params": {}, "curves": [[1, 0.5]]}], ":2: curve: Field required"),
    ([HEADER, {"params": {}, "curve": []}], ":2: curve: a run that did not fail needs at least one point"),
    ([HEADER, {"params": {}, "curve": [[1, 0.5], [2, 0.6]], "cost": [3.0]}], ":2: cost: must hold one"),
    ([HEADER, {"params": {}, "curve": [[2, 0.5], [1, 0.6]]}], ":2: curve: steps must be positive and strictly"),
    ([HEADER, {"params": {}, "curve": [[1, "NaN"]]}], ":2: curve: values must be finite"),
    ([HEADER, RUNS[0], {"params": {}, "curve": [[1, "high"]]}], ":3: curve.0.1: Input should be a valid number"),
])
def test_bad_curves_files_name_the_line_and_field(tmp_path: Path, lines: list[object], expected: str):
    path = write_lines(tmp_path / "c.jsonl", lines)
    with pytest.raises(UserError, match="^" + str(path).replace(".", r"\.")) as error:
        read_curves(path)
    assert expected in str(error.value)


def test_missing_file_is_a_user_error(tmp_path: Path):
    with pytest.raises(UserError, match="cannot read the curves file"):
        read_curves(tmp_path / "absent.jsonl")


def _index(runs: list[dict], space: dict) -> RunIndex:
    from sweeps.run.curves import RecordedRun

    return RunIndex([RecordedRun.model_validate(run) for run in runs], space=space)


def test_nearest_run_is_exact_for_a_recorded_config():
    index = _index(RUNS, {"training.learning_rate": LogUniform(type="loguniform", low=1e-6, high=1e-2)})
    for number, lr in enumerate(LEARNING_RATES):
        assert index.nearest({"training.learning_rate": lr}) == (number, pytest.approx(0.0, abs=1e-12))


def test_nearest_run_uses_log_scale_for_loguniform_parameters():
    runs = [{"params": {"training.learning_rate": lr}, "curve": [[1, 0.5]]} for lr in (1e-5, 1e-3)]
    query = {"training.learning_rate": 2e-4}  # linearly nearer 1e-5, logarithmically nearer 1e-3
    log_index = _index(runs, {"training.learning_rate": LogUniform(type="loguniform", low=1e-6, high=1e-2)})
    linear_index = _index(runs, {"training.learning_rate": Uniform(type="uniform", low=0, high=1e-2)})
    assert log_index.nearest(query)[0] == 1
    assert linear_index.nearest(query)[0] == 0


def test_nearest_run_weighs_every_parameter_and_counts_choice_mismatches():
    runs = [{"params": {"training.warmup_ratio": w, "training.lr_scheduler": s}, "curve": [[1, 0.5]]}
            for w, s in ((0.0, "linear"), (0.5, "linear"), (1.0, "cosine"))]
    index = _index(runs, {"training.warmup_ratio": Uniform(type="uniform", low=0, high=1),
                          "training.lr_scheduler": Choice(type="choice", values=["linear", "cosine"])})
    assert index.nearest({"training.warmup_ratio": 0.4, "training.lr_scheduler": "linear"}) == (1, pytest.approx(0.1))
    # 0.9 is nearest the cosine run, and a scheduler mismatch (distance 1) outweighs 0.4 of warm-up.
    assert index.nearest({"training.warmup_ratio": 0.9, "training.lr_scheduler": "cosine"})[0] == 2
    assert index.nearest({"training.warmup_ratio": 0.9, "training.lr_scheduler": "linear"})[0] == 1


def test_a_searched_parameter_missing_from_the_runs_is_a_user_error():
    space = {"training.learning_rate": LogUniform(type="loguniform", low=1e-6, high=1e-2),
             "method.r": Choice(type="choice", values=[4, 8])}
    with pytest.raises(UserError, match=r"line 2: params has no value for method\.r"):
        _index(RUNS, space)


OPDA_ROWS = [  # the first fields of three real rows of deberta-base_tuning.results.jsonl, curves shortened
    {"iteration": 1, "num_train_epochs": 1, "train_batch_size": 56, "total_model_steps": 2012,
     "learning_rate": 6.68479e-06, "warmup_steps": 105, "cls_drop_out": 0.0669632,
     "learning_curves": {"matched": [[1000, 0.8495], [2000, 0.8620], [2012, 0.8741]],
                         "mismatched": [[1000, 0.8449], [2000, 0.8585], [2012, 0.8723]]}},
    {"iteration": 2, "num_train_epochs": 2, "train_batch_size": 17, "total_model_steps": 4000,
     "learning_rate": 0.00012705, "warmup_steps": 500, "cls_drop_out": 0.125856,
     "learning_curves": {"matched": [[1000, 0.8167], [2000, 0.8254], [2001, 0.8068], [3000, 0.8112], [4000, 0.8]],
                         "mismatched": [[1000, 0.8], [2000, 0.8], [2001, 0.8], [3000, 0.8], [4000, 0.8]]}},
    {"iteration": 3, "num_train_epochs": 4, "train_batch_size": 43, "total_model_steps": 1000,
     "learning_rate": 4.52808e-06, "warmup_steps": 0, "cls_drop_out": 0.151607,
     "learning_curves": {"matched": [[1000, 0.8354]], "mismatched": [[1000, 0.8409]]}},
]


def test_opda_converter_maps_parameters_and_keeps_the_1000_step_cadence(tmp_path: Path):
    source = write_lines(tmp_path / "opda.jsonl", OPDA_ROWS)
    assert convert_opda(source=source, target=tmp_path / "out" / "c.jsonl") == (3, "DeBERTa")
    curves = read_curves(tmp_path / "out" / "c.jsonl")
    assert curves.header.model_dump() == {**HEADER, "cost_unit": "examples"}
    # cost = examples seen: steps × the run's batch size
    assert curves.runs[0].costs()[:2] == [1000 * 56, 2000 * 56] and curves.runs[0].finished
    assert curves.runs[0].params == {"training.learning_rate": 6.68479e-06, "training.batch_size": 56,
                                     "training.epochs": 1, "training.warmup_ratio": pytest.approx(105 / 2012, abs=1e-6),
                                     "method.dropout": 0.0669632}
    # warmup as a share of the first epoch: 500 steps of a 2,000-step epoch.
    assert curves.runs[1].params["training.warmup_ratio"] == pytest.approx(0.25)
    assert [step for step, _ in curves.runs[0].curve] == [1000, 2000, 2012]  # the last point is kept
    assert [step for step, _ in curves.runs[1].curve] == [1000, 2000, 3000, 4000]  # epoch-end 2001 dropped
    mismatched = tmp_path / "m.jsonl"
    convert_deberta(source=source, target=mismatched, validation_set="mismatched")
    assert read_curves(mismatched).runs[0].curve[0][1] == pytest.approx(0.8449)


def _alexnet_row(*, epochs: int, batch: int, nan: bool, points: int, seconds: float = 300.0) -> dict:
    curve = [{"time": seconds * (epoch + 1), "epoch": epoch, "top_1": 0.1 * (epoch + 1), "top_5": 0.2,
              "train_loss": 6.0} for epoch in range(points)]
    return {"iteration": 1, "nan_train_loss": nan, "epochs": epochs, "batch_size": batch, "lr": 0.05,
            "lr_peak_epoch": 2, "momentum": 0.9, "weight_decay": 1e-5, "label_smoothing": 0.1, "learning_curve": curve}


def test_alexnet_converter_counts_steps_and_gpu_seconds_and_keeps_diverged_runs_as_failures(tmp_path: Path):
    rows = [_alexnet_row(epochs=4, batch=256, nan=False, points=4),
            _alexnet_row(epochs=10, batch=256, nan=True, points=2, seconds=100.0),
            _alexnet_row(epochs=10, batch=1024, nan=True, points=0)]
    rows.append(_alexnet_row(epochs=5, batch=1024, nan=False, points=5, seconds=50.0))
    source = write_lines(tmp_path / "alexnet.jsonl", rows)
    assert convert_alexnet(source=source, target=tmp_path / "a.jsonl") == 4
    assert convert_opda(source=source, target=tmp_path / "b.jsonl")[1] == "AlexNet"
    curves = read_curves(tmp_path / "a.jsonl")
    assert curves.header.cost_unit == "gpu_seconds"
    finished, diverged, early = curves.runs[:3]
    steps_per_epoch = -(-1_281_167 // 256)
    assert [step for step, _ in finished.curve] == [steps_per_epoch * epoch for epoch in (1, 2, 3, 4)]
    assert finished.costs() == [300.0, 600.0, 900.0, 1200.0] and finished.finished
    assert finished.params["training.warmup_ratio"] == 0.5 and finished.params["training.momentum"] == 0.9
    # NaN in the third epoch: failed there, after the two recorded epochs and one more epoch's seconds.
    assert diverged.failed.step == 3 * steps_per_epoch and diverged.failed.cost == 300.0
    assert diverged.planned() == 10 * steps_per_epoch and not diverged.finished
    # No point at all: one epoch at the median epoch time of the finished runs of its batch size (50 s).
    assert early.curve == [] and early.failed.cost == 50.0


def write_replay_sweep(folder: Path, **search: object) -> Path:
    spec = {
        "name": "toy", "model": {"path": "not-needed"}, "dataset": {"path": "not-needed.jsonl"},
        "search": {"metric": "accuracy", "mode": "max", "algorithm": "random", "num_trials": 8, "seed": 0,
                   **search},
        "search_space": {"training.learning_rate": {"type": "loguniform", "low": 1e-5, "high": 2e-3}},
        "scheduler": {"name": "asha", "time_unit": "reports", "grace_period": 1, "reduction_factor": 2},
        "tracking": {"wandb": {"mode": "disabled"}},
        "storage": {"path": str(folder / "runs")},
    }
    path = folder / "sweep.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def test_replay_spec_takes_the_metric_from_the_curves_file(tmp_path: Path):
    curves = read_curves(write_lines(tmp_path / "c.jsonl", [HEADER, *RUNS]))
    spec = replay_spec(spec_path=write_replay_sweep(tmp_path), overrides=[], curves=curves)
    assert spec.name == "toy-replay" and replay_max_t(spec, curves=curves) == 6  # the longest curve's reports
    assert replay_max_t(spec.model_copy(update={"scheduler": spec.scheduler.model_copy(
        update={"time_unit": "progress"})}), curves=curves) == 1.0
    with pytest.raises(SpecError, match=r"search\.metric: must be a metric the replayed curves file reports "
                                        r"\(accuracy\), but got 'eval_loss'"):
        replay_spec(spec_path=write_replay_sweep(tmp_path), overrides=["search.metric=eval_loss"], curves=curves)
    with pytest.raises(SpecError, match=r"search\.mode: must be 'max' for accuracy, but got 'min'"):
        replay_spec(spec_path=write_replay_sweep(tmp_path), overrides=["search.mode=min"], curves=curves)


def _replay(curves_path: Path, spec_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sweeps", "replay", str(curves_path), "--spec", str(spec_path),
                           *args], capture_output=True, text=True, timeout=600)


def test_a_simulated_replay_stops_weak_trials_and_gives_the_same_sweep_for_the_same_seed(tmp_path: Path):
    curves_path = write_lines(tmp_path / "c.jsonl", [HEADER, *RUNS])
    spec_path = write_replay_sweep(tmp_path, initial_points=[{"training.learning_rate": LEARNING_RATES[-1]}],
                                   max_concurrent_trials=3)
    first, again = _replay(curves_path, spec_path), _replay(curves_path, spec_path, "name=toy-again")
    assert first.returncode == again.returncode == 0, first.stderr[-3000:] + again.stderr[-3000:]
    assert "8 trials replayed on the simulated clock" in first.stdout
    replayed = read_curves(tmp_path / "runs" / "toy-replay" / "curves.jsonl")
    assert replayed == read_curves(tmp_path / "runs" / "toy-again-replay" / "curves.jsonl")
    assert len(replayed.runs) == 8 and any(run.stopped for run in replayed.runs)
    recorded = read_curves(curves_path)
    for run in replayed.runs:  # each trial reported a prefix of one recorded run's curve, each run at most once
        source = next(other for other in recorded.runs if other.params == run.params)
        assert run.curve == source.curve[: len(run.curve)]
    assert len({run.params["training.learning_rate"] for run in replayed.runs}) == 8
    assert max(value for run in replayed.runs for _, value in run.curve) == pytest.approx(recorded.best_value())


@pytest.mark.slow  # starts an embedded Ray: 20–60 s on 2 busy cores
def test_replayed_on_ray_sweep_stops_weak_trials_and_finds_the_best_replayed_value(tmp_path: Path):
    from sweeps.config.loading import read_spec
    from sweeps.results.reading import trial_summaries

    curves_path = write_lines(tmp_path / "c.jsonl", [HEADER, *RUNS])
    # The best run first: every later trial is worse at rung 1, so ASHA must stop the ones on other runs.
    spec_path = write_replay_sweep(tmp_path, initial_points=[{"training.learning_rate": LEARNING_RATES[-1]}])
    completed = _replay(curves_path, spec_path, "--on-ray")
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "8 trials replayed on Ray" in completed.stdout
    sweep_dir = tmp_path / "runs" / "toy-replay"
    summaries = trial_summaries(sweep_dir, read_spec(sweep_dir))
    assert len(summaries) == 8 and all(summary.state == "TERMINATED" for summary in summaries)
    assert any(summary.stopped_early for summary in summaries)
    reported = _reported_values(sweep_dir)
    for trial, (run, values) in reported.items():
        assert values == [value for _, value in RUNS[run]["curve"][: len(values)]], trial  # a prefix of its run
    best = max(summary.best_value for summary in summaries)
    assert best == pytest.approx(max(value for _, values in reported.values() for value in values))
    assert best == pytest.approx(read_curves(curves_path).best_value())


def _reported_values(sweep_dir: Path) -> dict[str, tuple[int, list[float]]]:
    """Each trial's replayed run and the values it reported, from Tune's result.json files."""
    reported = {}
    for result_file in (sweep_dir / "tune").glob("*/result.json"):
        rows = [json.loads(line) for line in result_file.read_text().splitlines() if line.strip()]
        reported[result_file.parent.name] = (rows[0][REPLAYED_RUN], [row["accuracy"] for row in rows])
    return reported
