"""What a user reads when trials fail: each kind of error once, with its first trial and where the whole
traceback is; no finished trial is what makes `run` and `resume` exit 1."""

from __future__ import annotations

from sweeps.results.reading import TrialSummary
from sweeps.results.summary import RunSummary, first_failures


def _trial(trial_id: str, state: str, error: str | None = None) -> TrialSummary:
    return TrialSummary(trial_id=trial_id, state=state, params={}, iterations=0, last_value=None, best_value=None,
                        best_checkpoint=None, stopped_early=False, error=error,
                        error_file=f"runs/x/tune/{trial_id}/error.txt" if error else None)


def _summary(trials: list[TrialSummary]) -> RunSummary:
    return RunSummary(sweep_dir="runs/x", best=None, trials=len(trials),
                      finished=sum(trial.state == "TERMINATED" for trial in trials), stopped_early=0,
                      failed=sum(trial.state == "ERROR" for trial in trials), unfinished=0,
                      failures=first_failures(trials), wall_seconds=1.0)


def test_each_kind_of_failure_is_shown_once_with_its_first_trial_and_traceback():
    nan = "trainer.report.NonFiniteLossError: the training loss became nan at step {}, so the trial stopped"
    trials = [_trial("aaaa0001", "ERROR", nan.format(7)), _trial("bbbb0002", "TERMINATED"),
              _trial("cccc0003", "ERROR", "ValueError: no examples left"), _trial("dddd0004", "ERROR", nan.format(12))]
    failures = first_failures(trials)
    assert [(failure["trial_id"], failure["same"]) for failure in failures] == [("aaaa0001", 1), ("cccc0003", 0)]
    text = _summary(trials).failure_text()
    assert "trial aaaa0001 failed: " + nan.format(7) in text
    assert "traceback: runs/x/tune/aaaa0001/error.txt; 1 more trial(s) failed the same way" in text
    assert "trial cccc0003 failed: ValueError: no examples left" in text and "dddd0004" not in text
    assert "no trial finished" not in text  # bbbb0002 finished


def test_a_run_without_a_finished_trial_says_so():
    summary = _summary([_trial("aaaa0001", "ERROR", "StopIteration")])
    assert summary.finished == 0
    assert summary.failure_text().endswith("no trial finished: every one failed or was interrupted")
    assert "0 finished (0 stopped early), 1 failed" in summary.text()
