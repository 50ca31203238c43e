"""One real sweep (``finished_sweep``: 4 trials, tiny Llama, embedded Ray, ASHA) checked from every side."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from sweeps.config.loading import read_spec
from sweeps.core.layout import SUMMARY_FILE, TUNE_DIR
from sweeps.results.reading import trial_reports, trial_summaries
from sweeps.run.events import EVENT_KEYS
from tests.helpers.sweeps import run_output
from tests.helpers.wandb_offline import read_offline_run
from trainer.startup import PHASES


def _best_json(sweep_dir: Path) -> dict:
    completed = subprocess.run([sys.executable, "-m", "sweeps", "best", str(sweep_dir), "--json"],
                               capture_output=True, text=True, check=True)
    return json.loads(completed.stdout)


def test_sweep_ran_every_trial_and_asha_stopped_some(finished_sweep: Path):
    summaries = trial_summaries(finished_sweep, read_spec(finished_sweep))
    assert len(summaries) == 4
    assert all(summary.state == "TERMINATED" for summary in summaries), [s.error for s in summaries]
    assert all(summary.best_value is not None for summary in summaries)
    stopped = [summary for summary in summaries if summary.stopped_early]
    finished = [summary for summary in summaries if not summary.stopped_early]
    assert stopped, "ASHA stopped no trial"
    assert finished, "no trial trained to the end"
    # 12 steps with a report every 3 make 4 reports for a trial that trained to the end.
    assert all(summary.iterations == 4 for summary in finished)
    assert all(summary.iterations < 4 for summary in stopped)
    saved = json.loads((finished_sweep / SUMMARY_FILE).read_text())
    assert saved["trials"] == 4 and saved["stopped_early"] == len(stopped) and saved["failed"] == 0


def test_trials_follow_the_search_space(finished_sweep: Path):
    spec = read_spec(finished_sweep)
    for summary in trial_summaries(finished_sweep, spec):
        params = summary.params
        assert 1e-6 <= params["training.learning_rate"] <= 3e-2
        assert params["method.r"] in (2, 4)
        assert params["method.alpha"] == params["method.alpha.factor"] * params["method.r"]


def test_best_json_agrees_with_tune_results(finished_sweep: Path):
    from ray.tune import ExperimentAnalysis, ResultGrid

    spec = read_spec(finished_sweep)
    grid = ResultGrid(ExperimentAnalysis(str(finished_sweep / TUNE_DIR)))
    tune_best = grid.get_best_result(metric=spec.search.metric, mode=spec.search.mode, scope="all")
    best = _best_json(finished_sweep)
    assert best["trial_id"] == tune_best.metrics["trial_id"]
    assert best["value"] == pytest.approx(tune_best.metrics_dataframe[spec.search.metric].min())
    assert best["metric"] == "eval_loss" and best["mode"] == "min"
    assert best["params"] == {key: value for key, value in tune_best.config.items()}
    assert Path(best["checkpoint_path"]).is_dir()


def test_every_trial_records_its_start_up_phases_in_order(finished_sweep: Path):
    for summary in trial_summaries(finished_sweep, read_spec(finished_sweep)):
        assert list(summary.startup) == list(PHASES), summary.startup
        seconds = list(summary.startup.values())
        assert seconds[0] > 0 and seconds == sorted(seconds)
    best = _best_json(finished_sweep)
    assert list(best["startup"]) == list(PHASES)
    text = subprocess.run([sys.executable, "-m", "sweeps", "best", str(finished_sweep)], capture_output=True,
                          text=True, check=True).stdout
    assert f"first step {best['startup']['first_step']:.1f}" in text


def test_best_checkpoint_reloads_with_trained_lora_weights(finished_sweep: Path, tiny_model_dir: Path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    checkpoint = Path(_best_json(finished_sweep)["checkpoint_path"])
    saved = load_file(checkpoint / "adapter_model.safetensors")
    assert any("lora_A" in name for name in saved) and any("lora_B" in name for name in saved)
    # The adapter only: a few KB of LoRA tensors, no base weights.
    assert all("lora_" in name for name in saved)
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model_dir), checkpoint)
    loaded = {name: tensor for name, tensor in model.state_dict().items() if "lora_" in name}
    for name, tensor in saved.items():
        matches = [value for key, value in loaded.items() if key.replace(".default", "") == name]
        assert len(matches) == 1, name
        assert torch.equal(matches[0], tensor), name
    # PEFT starts every lora_B at zero: a non-zero one was trained.
    lora_b = [tensor for name, tensor in saved.items() if "lora_B" in name]
    assert all(tensor.abs().sum() > 0 for tensor in lora_b)


def test_wandb_offline_runs_one_per_trial_in_the_sweep_group(finished_sweep: Path):
    spec = read_spec(finished_sweep)
    run_dirs = sorted((finished_sweep / "wandb").glob("offline-run-*"))
    runs = {run.name: run for run in map(read_offline_run, run_dirs)}
    summaries = {summary.trial_id: summary for summary in trial_summaries(finished_sweep, spec)}
    assert len(run_dirs) == len(summaries) == 4
    assert set(runs) == set(summaries)
    for trial_id, run in runs.items():
        assert run.group == spec.name and run.project == spec.tracking.wandb.project
        assert run.config == summaries[trial_id].params
        assert run.summary["best_eval_loss"] == pytest.approx(summaries[trial_id].best_value)


def test_sample_answers_with_the_best_adapter_as_plain_peft_does(finished_sweep: Path):
    from trainer.inference import generate

    best = _best_json(finished_sweep)
    completed = subprocess.run([sys.executable, "-m", "sweeps", "sample", str(finished_sweep), "--prompt",
                                "what is 2 plus 3?", "--max-new-tokens", "5"], capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
    expected = generate(Path(best["checkpoint_path"]), prompt="what is 2 plus 3?", max_new_tokens=5)
    assert f"reply ({best['trial_id']}): {expected}" in completed.stdout.splitlines(), completed.stdout


def test_json_events_tell_the_sweep_as_its_results_do(finished_sweep: Path):
    spec = read_spec(finished_sweep)
    lines = run_output(finished_sweep).read_text().splitlines()
    events = [json.loads(line) for line in lines]  # every line of stdout is one JSON object
    *trial_events, summary = events
    assert all(tuple(event) == EVENT_KEYS for event in trial_events)
    reports = trial_reports(finished_sweep, spec)
    for trial in trial_summaries(finished_sweep, spec):
        mine = [event for event in trial_events if event["trial_id"] == trial.trial_id]
        ending = "stopped" if trial.stopped_early else "finished"
        assert [event["event"] for event in mine] == ["started", *["reported"] * trial.iterations, ending]
        assert [event["value"] for event in mine if event["event"] == "reported"] == [
            row[spec.search.metric] for row in reports[trial.trial_id]]  # exact, as Tune recorded them
    assert summary["event"] == "summary" and summary["trials"] == 4
    assert summary == {"event": "summary", **json.loads((finished_sweep / SUMMARY_FILE).read_text())}
    saved = summary["saved"]
    assert saved["steps_planned"] == 4 * 12 and 0 < saved["steps_saved"] == 48 - saved["steps_trained"]
