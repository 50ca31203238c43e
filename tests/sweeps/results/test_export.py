"""Choosing and exporting checkpoints: fast on a synthetic sweep (adapters with random LoRA B), and on the
real ``finished_sweep`` for the merged-model equivalence on a trained checkpoint and the CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from search_spaces.space import Choice
from sweeps.config.loading import read_spec
from sweeps.core.errors import UserError
from sweeps.core.layout import CHOSEN_FILE
from sweeps.results.checkpoints import choose_checkpoint, chosen_checkpoint, clear_choice, find_checkpoint
from sweeps.results.export import export_checkpoint, export_source
from sweeps.run.runner import prepare_sweep_dir
from tests.helpers.checkpoints import CHECKPOINTS, LOGIT_TOLERANCE, merged_vs_peft, write_checkpointed_sweep


@pytest.fixture
def synthetic_sweep(tmp_path: Path, tiny_model_dir: Path, qa_data_path: Path) -> Path:
    return write_checkpointed_sweep(tmp_path / "runs", model_dir=tiny_model_dir, data_path=qa_data_path)


def test_a_trials_checkpoint_defaults_to_its_best_and_names_are_checked(synthetic_sweep: Path):
    best = find_checkpoint(sweep_dir=synthetic_sweep, trial_id="aaaa0001")
    assert (best.name, best.step, best.metrics["eval_loss"]) == (*CHECKPOINTS["aaaa0001"][1][:2], 5.4)
    first = CHECKPOINTS["aaaa0001"][0][0]
    assert find_checkpoint(sweep_dir=synthetic_sweep, trial_id="aaaa0001", name=first).step == 3
    for trial_id in ("..", "../aaaa0001", "aaaa0001/..", "/etc", "nope"):
        with pytest.raises(UserError, match="no trial"):
            find_checkpoint(sweep_dir=synthetic_sweep, trial_id=trial_id)
    for name in ("..", f"../bbbb0002/{CHECKPOINTS['bbbb0002'][0][0]}", "checkpoint_x"):
        with pytest.raises(UserError, match="has no checkpoint"):
            find_checkpoint(sweep_dir=synthetic_sweep, trial_id="aaaa0001", name=name)


def test_the_chosen_checkpoint_is_recorded_and_export_takes_it(synthetic_sweep: Path):
    assert chosen_checkpoint(sweep_dir=synthetic_sweep) is None
    record = choose_checkpoint(sweep_dir=synthetic_sweep, trial_id="bbbb0002")
    assert json.loads((synthetic_sweep / CHOSEN_FILE).read_text()) == record
    assert record["trial_id"] == "bbbb0002" and record["value"] == 5.45 and record["metric"] == "eval_loss"
    assert chosen_checkpoint(sweep_dir=synthetic_sweep) == record
    assert export_source(sweep_dir=synthetic_sweep).name == CHECKPOINTS["bbbb0002"][0][0]


def test_adapter_export_copies_the_adapter_with_tokenizer_and_model_card(synthetic_sweep: Path, tmp_path: Path,
                                                                        tiny_model_dir: Path):
    from peft import AutoPeftModelForCausalLM
    from transformers import AutoTokenizer

    out = export_checkpoint(sweep_dir=synthetic_sweep, out_dir=tmp_path / "adapter", merged=False,
                            trial_id="aaaa0001")
    source = synthetic_sweep / "train" / "aaaa0001" / CHECKPOINTS["aaaa0001"][1][0]
    saved, exported = load_file(source / "adapter_model.safetensors"), load_file(out / "adapter_model.safetensors")
    assert saved.keys() == exported.keys() and all(torch.equal(saved[key], exported[key]) for key in saved)
    card = (out / "README.md").read_text()
    for expected in (f"base_model: {tiny_model_dir}", "library_name: peft", "method: lora: ", "r=8",
                     "trial aaaa0001, step 6", "eval_loss (minimised): **5.4**", "| training.learning_rate | 0.001 |",
                     "qa.jsonl", "20% held out for eval (seed 0)", "finesweep 0.1.0", "apply_chat_template"):
        assert expected in card, expected
    assert AutoTokenizer.from_pretrained(out).get_vocab() == AutoTokenizer.from_pretrained(tiny_model_dir).get_vocab()
    AutoPeftModelForCausalLM.from_pretrained(out)  # loads with plain PEFT, the base found from adapter_config


def test_a_whole_model_checkpoint_is_kept_and_exported_as_it_is(synthetic_sweep: Path, tmp_path: Path,
                                                               tiny_model_dir: Path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    # A sweep searching method.name, one of whose trials trained `full`: it saved the whole model and tokenizer.
    spec = read_spec(synthetic_sweep)
    methods = Choice(type="choice", values=["lora", "full"])
    prepare_sweep_dir(spec.model_copy(update={"search_space": {**spec.search_space, "method.name": methods}}))
    folder = synthetic_sweep / "train" / "cccc0003" / "checkpoint_2026-01-01_00-00-04.000004"
    AutoModelForCausalLM.from_pretrained(tiny_model_dir).save_pretrained(folder)
    AutoTokenizer.from_pretrained(tiny_model_dir).save_pretrained(folder)
    params = {"method.name": "full", "training.learning_rate": 1e-4}
    (folder / "finesweep.json").write_text(json.dumps({"step": 6, "params": params, "metrics": {"eval_loss": 5.3}}))
    assert find_checkpoint(sweep_dir=synthetic_sweep, trial_id="cccc0003").path == str(folder)
    out = export_checkpoint(sweep_dir=synthetic_sweep, out_dir=tmp_path / "full", merged=False, trial_id="cccc0003")
    card = (out / "README.md").read_text()
    assert "tags:\n- finesweep\n- full" in card and "library_name: transformers" in card
    assert "exported because a user picked it by trial" in card
    AutoModelForCausalLM.from_pretrained(out)


def test_merged_export_gives_the_logits_of_base_plus_adapter(synthetic_sweep: Path, tmp_path: Path):
    out = export_checkpoint(sweep_dir=synthetic_sweep, out_dir=tmp_path / "merged", merged=True,
                            trial_id="bbbb0002")
    assert not any("lora" in key for key in load_file(out / "model.safetensors"))
    assert "library_name: transformers" in (out / "README.md").read_text()
    source = synthetic_sweep / "train" / "bbbb0002" / CHECKPOINTS["bbbb0002"][0][0]
    difference, adapter_effect = merged_vs_peft(out, checkpoint_dir=source)
    assert difference < LOGIT_TOLERANCE < adapter_effect


def test_export_refuses_a_folder_in_use_and_leaves_nothing_half_written(synthetic_sweep: Path, tmp_path: Path):
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="not an empty folder"):
        export_checkpoint(sweep_dir=synthetic_sweep, out_dir=taken, merged=False)
    with pytest.raises(UserError, match="no trial"):
        export_checkpoint(sweep_dir=synthetic_sweep, out_dir=tmp_path / "new", merged=False, trial_id="..")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["runs", "taken"]


@pytest.mark.slow
def test_merged_export_of_a_trained_checkpoint_matches_peft(finished_sweep: Path, tmp_path: Path):
    source = export_source(sweep_dir=finished_sweep)
    lora_b = [tensor for name, tensor in load_file(Path(source.path) / "adapter_model.safetensors").items()
              if "lora_B" in name]
    assert lora_b and all(tensor.abs().max() > 0 for tensor in lora_b), "untrained adapter: the check means nothing"
    out = export_checkpoint(sweep_dir=finished_sweep, out_dir=tmp_path / "merged", merged=True)
    difference, adapter_effect = merged_vs_peft(out, checkpoint_dir=Path(source.path))
    print(f"\nmerged vs base+adapter (trained trial {source.trial_id}, step {source.step}): max |Δlogit| = "
          f"{difference:.3g}; the adapter itself moves logits by up to {adapter_effect:.3g}")
    assert difference < LOGIT_TOLERANCE < adapter_effect


@pytest.mark.slow
def test_cli_exports_the_best_adapter_and_best_reports_the_choice(finished_sweep: Path, tmp_path: Path):
    from peft import AutoPeftModelForCausalLM

    def finesweep(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "sweeps", *map(str, args)], capture_output=True, text=True)

    sweep = tmp_path / "tiny"
    shutil.copytree(finished_sweep, sweep)  # choosing writes into the sweep; other tests read the original
    exported = finesweep("export", sweep, "--out", tmp_path / "adapter")
    assert exported.returncode == 0, exported.stderr
    AutoPeftModelForCausalLM.from_pretrained(tmp_path / "adapter")
    best = json.loads(finesweep("best", sweep, "--json").stdout)
    assert best["chosen"] is None
    runner_up = next(path.name for path in (sweep / "train").iterdir() if path.name != best["trial_id"])
    choose_checkpoint(sweep_dir=sweep, trial_id=runner_up)
    best_after = json.loads(finesweep("best", sweep, "--json").stdout)
    assert best_after["trial_id"] == best["trial_id"] and best_after["chosen"]["trial_id"] == runner_up
    assert best_after["chosen_is_best"] is False and best_after["value"] == best["value"]  # exact, as reported
    shown = finesweep("best", sweep)
    assert f"chosen: trial {runner_up}" in shown.stdout
    assert shown.stderr.startswith("warning: the chosen checkpoint") and f"--trial {best['trial_id']}" in shown.stderr
    again = finesweep("export", sweep, "--out", tmp_path / "adapter")
    assert again.returncode == 2 and "not an empty folder" in again.stderr
    chosen_export = finesweep("export", sweep, "--out", tmp_path / "chosen", "--json")
    record = json.loads(chosen_export.stdout)  # stdout is the JSON alone; the warning goes to stderr
    assert set(record) == {"path", "trial_id", "checkpoint", "step", "merged", "loader", "model_card"}
    assert record["trial_id"] == runner_up and Path(record["model_card"]).is_file() and not record["merged"]
    assert "is not the best" in chosen_export.stderr
    clear_choice(sweep_dir=sweep)
    assert json.loads(finesweep("best", sweep, "--json").stdout)["chosen_is_best"] is None
