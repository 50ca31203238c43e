"""A sweep's progress output, driven through Tune's callback methods with stand-in trials (no Ray started):
one plain line per trial event when the output is not a terminal, one JSON line per event with
``--json-events``, and a table that keeps ids, states and values whole at 80 columns."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from rich.console import Console

from sweeps.run.events import EVENT_KEYS, SweepTally
from sweeps.run.progress import SweepProgress, trial_table

LONG_PARAMS = {"training.learning_rate": 3.2e-4, "method.r": 16, "method.alpha": 32, "method.alpha.factor": 2,
               "training.warmup_ratio": 0.05, "training.weight_decay": 0.01, "method.target_modules": "q_proj,v_proj"}


def trial(trial_id: str, tmp_path=None, error: str | None = None) -> SimpleNamespace:
    error_file = None
    if error is not None:
        error_file = tmp_path / f"{trial_id}.error.txt"
        error_file.write_text(f"Failure # 1\nTraceback (most recent call last):\n  ...\n{error}\n")
    return SimpleNamespace(trial_id=trial_id, config={"training.learning_rate": 1e-3, "method.r": 8},
                           error_file=str(error_file) if error_file else None)


def report(step: int, value: float, *, of: int = 12) -> dict:
    return {"training_iteration": step // 3, "step": step, "progress": step / of, "eval_loss": value,
            "training_finished": step == of}


def play(progress: SweepProgress, tmp_path) -> None:
    """Three trials: one trains to the end, one is stopped after its first report, one fails."""
    done, stopped, failed = trial("aaaa0001"), trial("bbbb0002"), trial("cccc0003", tmp_path, "ValueError: boom")
    progress.setup()
    for t in (done, stopped):
        progress.on_trial_start(0, [], t)
    progress.on_trial_result(0, [], done, report(3, 5.5))
    progress.on_trial_result(0, [], stopped, report(3, 5.9))
    progress.on_trial_complete(0, [], stopped)
    progress.on_trial_start(0, [], failed)
    for step, value in ((6, 5.4), (9, 5.3125), (12, 5.2987654321)):
        progress.on_trial_result(0, [], done, report(step, value))
    progress.on_trial_complete(0, [], done)
    progress.on_trial_error(0, [], failed)
    progress.on_experiment_end([])


def test_without_a_terminal_each_event_is_one_plain_line(capsys: pytest.CaptureFixture, tmp_path):
    play(SweepProgress(metric="eval_loss", mode="min", planned=3), tmp_path)
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == ""  # the summary that follows is set apart from the events
    events = lines[:-1]
    assert len(events) == 3 + 5 + 3  # started, reported, and one end per trial
    assert [line.split("] ", 1)[1] for line in events if " started: " in line] == [
        f"trial {trial_id} started: r=8 learning_rate=0.001" for trial_id in ("aaaa0001", "bbbb0002", "cccc0003")]
    reported = [line for line in events if " reported " in line]
    assert len(reported) == 5 and "at step 3 (25%): eval_loss=5.5 " in reported[0]
    assert "trial bbbb0002 stopped early at step 3 (25%): eval_loss=5.9" in events[4]
    assert "1 of 3 trials ended (0 done, 1 stopped, 0 failed), 1 running" in events[4]
    finished = next(line for line in events if "aaaa0001 finished" in line)
    assert "eval_loss=5.29877" in finished and "best eval_loss=5.29877 (aaaa0001)" in finished
    assert events[-1].endswith("trial cccc0003 failed: ValueError: boom · 3 of 3 trials ended (1 done, 1 stopped, "
                               "1 failed), 0 running · best eval_loss=5.29877 (aaaa0001)")


def test_json_events_carry_every_documented_key(capsys: pytest.CaptureFixture, tmp_path):
    play(SweepProgress(metric="eval_loss", mode="min", planned=3, json_events=True), tmp_path)
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert all(tuple(event) == EVENT_KEYS for event in events)
    assert [event["event"] for event in events if event["trial_id"] == "aaaa0001"] == [
        "started", "reported", "reported", "reported", "reported", "finished"]
    stopped = next(event for event in events if event["event"] == "stopped")
    assert (stopped["trial_id"], stopped["step"], stopped["value"]) == ("bbbb0002", 3, 5.9)
    finished = next(event for event in events if event["event"] == "finished")
    # Exact values: a reader of the events gets what the trial reported, not a rounded copy.
    assert finished["value"] == finished["sweep_best"] == 5.2987654321
    assert finished["counts"] == {"pending": 0, "running": 1, "done": 1, "stopped": 1, "failed": 0}
    assert events[-1]["event"] == "failed" and events[-1]["error"] == "ValueError: boom"
    assert events[0]["eta_s"] is None and finished["eta_s"] is not None


def test_time_left_follows_the_pace_so_far(monkeypatch: pytest.MonkeyPatch):
    now = [0.0]
    monkeypatch.setattr("sweeps.run.events.time.monotonic", lambda: now[0])
    tally = SweepTally(metric="eval_loss", mode="min", planned=4)
    tally.restart_clock()
    tally.started("aaaa0001", params={})
    assert tally.eta_seconds() is None  # no pace yet
    now[0] = 100.0
    tally.reported("aaaa0001", result=report(6, 5.0))
    # Half a trial in 100 s; 3.5 trials to go.
    assert tally.eta_seconds() == pytest.approx(700)
    tally.ended("aaaa0001")  # stopped at half its training: a whole trial is behind the sweep now
    assert tally.eta_seconds() == pytest.approx(300)


def test_a_sweep_that_a_budget_ends_counts_trials_without_a_total_or_a_time_left():
    tally = SweepTally(metric="eval_loss", mode="min", planned=None)
    tally.restart_clock()
    tally.started("aaaa0001", params={})
    tally.reported("aaaa0001", result=report(6, 5.0))
    assert tally.eta_seconds() is None and tally.counts()["pending"] == 0
    assert tally.status_line().startswith("0 trials ended (0 done, 0 stopped, 0 failed), 1 running · best")


def test_the_live_table_keeps_ids_states_and_values_whole_at_80_columns():
    tally = SweepTally(metric="eval_loss", mode="min", planned=2)
    tally.started("0f72b86d", params=LONG_PARAMS)
    tally.reported("0f72b86d", result=report(3, 5.402134418487549))
    tally.ended("0f72b86d")
    console = Console(width=80, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(trial_table(tally))
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "0f72b86d" in text and "stopped" in text and "5.4" in text and "3 (25%)" in text and "…" not in text
    # The hyperparameters wrap onto more lines rather than push the table wider.
    assert len(text.splitlines()) > 8
