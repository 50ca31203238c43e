"""What the study learns from each trial (``SweepSearch``): a trial the scheduler stopped, or that failed, is
pruned with its reports under their optimizer steps, a finished one complete with its last value, every
trial names its Tune trial, and imported past trials are in the study before the first sample.

Driven the way Ray Tune's controller drives a searcher (``suggest``, ``on_trial_result``, ``on_trial_complete``).
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import optuna
import pytest
from optuna.trial import TrialState
from pydantic import TypeAdapter

from search_spaces.past_trials import IMPORTED_FROM, copied_trial, recorded_trial
from search_spaces.searcher import build_searcher, journal_storage
from search_spaces.space import SearchSpace
from search_spaces.study import TUNE_TRIAL_ID, reopen_trials, settle_study

SPACE = TypeAdapter(SearchSpace).validate_python({
    "training.learning_rate": {"type": "loguniform", "low": 1e-5, "high": 1e-3},
    "method.r": {"type": "choice", "values": [4, 8]},
    "method.alpha": {"type": "tied", "to": "method.r", "factors": [1, 2]},
})


def build(journal: Path | None, **overrides):
    arguments = {"space": SPACE, "metric": "eval_loss", "mode": "min", "algorithm": "tpe", "seed": 0,
                 "journal_path": journal, "study_name": "sweep", "initial_points": []}
    return build_searcher(**{**arguments, **overrides})


def trials(journal: Path) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name="sweep", storage=journal_storage(journal)).trials


def report(searcher, trial_id: str, *, losses: list[float], finished: bool) -> dict:
    result = {}
    for index, loss in enumerate(losses, start=1):
        result = {"eval_loss": loss, "step": 30 * index, "training_iteration": index, "training_finished": False}
        if index < len(losses):
            searcher.on_trial_result(trial_id, result)
    return {**result, "training_finished": finished}


def test_a_stopped_trial_is_pruned_with_every_report_under_its_step(tmp_path: Path):
    journal = tmp_path / "study.journal"
    searcher = build(journal)
    searcher.suggest("aaa")
    # Tune never passes the report that stopped a trial to on_trial_result, only to on_trial_complete.
    searcher.on_trial_complete("aaa", result=report(searcher, "aaa", losses=[3.0, 2.5], finished=False))
    searcher.suggest("bbb")
    searcher.on_trial_complete("bbb", result=report(searcher, "bbb", losses=[3.0, 2.0, 1.5], finished=True))
    stopped, finished = trials(journal)
    assert stopped.state == TrialState.PRUNED and stopped.intermediate_values == {30: 3.0, 60: 2.5}
    assert finished.state == TrialState.COMPLETE and finished.value == 1.5
    assert finished.intermediate_values == {30: 3.0, 60: 2.0, 90: 1.5}
    assert [trial.user_attrs[TUNE_TRIAL_ID] for trial in (stopped, finished)] == ["aaa", "bbb"]


def test_a_failed_trial_is_pruned_so_the_sampler_moves_away_from_it(tmp_path: Path):
    journal = tmp_path / "study.journal"
    searcher = build(journal)
    searcher.suggest("early")
    searcher.on_trial_complete("early", error=True)  # failed before any report
    searcher.suggest("late")
    searcher.on_trial_complete("late", result=report(searcher, "late", losses=[4.0], finished=False), error=True)
    early, late = trials(journal)
    assert early.state == late.state == TrialState.PRUNED
    assert early.intermediate_values == {} and late.intermediate_values == {30: 4.0}


def test_a_trial_told_before_the_searcher_was_saved_is_not_told_again(tmp_path: Path):
    """A resumed sweep restarts a trial that ended after Tune's last snapshot: the study already holds its end,
    and the repeated reports and completion change nothing."""
    journal = tmp_path / "study.journal"
    searcher = build(journal)
    searcher.suggest("aaa")
    result = report(searcher, "aaa", losses=[3.0, 2.0], finished=True)
    searcher.on_trial_complete("aaa", result=result)
    restored = build(journal)  # the searcher as Tune's older snapshot had it: the trial still open
    restored._ot_trials, restored._completed_trials = dict(searcher._ot_trials), set()
    restored.on_trial_result("aaa", {**result, "step": 90, "eval_loss": 9.0})
    restored.on_trial_complete("aaa", result={**result, "training_finished": False})
    [trial] = trials(journal)
    assert trial.state == TrialState.COMPLETE and trial.value == 2.0 and 90 not in trial.intermediate_values


def test_settling_tells_the_study_what_became_of_the_trials_a_dead_driver_left_running(tmp_path: Path):
    journal = tmp_path / "study.journal"
    searcher = build(journal, algorithm="random")
    for trial_id in ("done", "stopped", "failed", "running", "never-ran"):
        searcher.suggest(trial_id)
    tune_trials = {  # as Tune's experiment holds them after the resumed run
        "done": SimpleNamespace(status="TERMINATED", last_result={"eval_loss": 1.5, "training_finished": True}),
        "stopped": SimpleNamespace(status="TERMINATED", last_result={"eval_loss": 2.5, "training_finished": False}),
        "failed": SimpleNamespace(status="ERROR", last_result={}),
        "running": SimpleNamespace(status="PAUSED", last_result={"eval_loss": 2.0}),
    }
    study = optuna.load_study(study_name="sweep", storage=journal_storage(journal))
    assert settle_study(study, metric="eval_loss", trials=tune_trials) == [0, 1, 2, 4]
    states = {trial.user_attrs[TUNE_TRIAL_ID]: (trial.state, trial.value) for trial in trials(journal)}
    assert states == {"done": (TrialState.COMPLETE, 1.5), "stopped": (TrialState.PRUNED, None),
                      "failed": (TrialState.PRUNED, None), "running": (TrialState.RUNNING, None),
                      "never-ran": (TrialState.FAIL, None)}


def test_a_failed_trial_that_a_resume_runs_again_is_a_new_attempt_in_the_study(tmp_path: Path):
    journal = tmp_path / "study.journal"
    searcher = build(journal, algorithm="random")
    searcher.suggest("failed")
    searcher.on_trial_complete("failed", error=True)
    searcher.suggest("finished")
    searcher.on_trial_complete("finished", result=report(searcher, "finished", losses=[2.0], finished=True))
    study = optuna.load_study(study_name="sweep", storage=journal_storage(journal))
    assert reopen_trials(study, tune_trial_ids=["failed", "unknown"]) == ["failed"]
    first, _, again = trials(journal)
    assert (first.state, again.state) == (TrialState.PRUNED, TrialState.RUNNING)
    assert again.params == first.params and again.user_attrs[TUNE_TRIAL_ID] == "failed"
    # What Tune then says of the failed id reaches neither attempt; settling tells the new one its end.
    searcher.on_trial_result("failed", {"eval_loss": 1.0, "step": 30, "training_iteration": 1})
    searcher.on_trial_complete("failed", result={"eval_loss": 1.0, "training_finished": True})
    settle_study(study, metric="eval_loss", trials={"failed": SimpleNamespace(
        status="TERMINATED", last_result={"eval_loss": 1.0, "training_finished": True})})
    first, _, again = trials(journal)
    assert first.state == TrialState.PRUNED and first.intermediate_values == {}
    assert again.state == TrialState.COMPLETE and again.value == 1.0


def _recorded(lr: float, r: int, alpha: int, *, loss: float) -> optuna.trial.FrozenTrial | None:
    return recorded_trial(params={"training.learning_rate": lr, "method.r": r, "method.alpha": alpha,
                                  "training.epochs": 3},  # a parameter this space does not search: ignored
                          curve=[(10, loss + 1), (20, loss)], space=SPACE, state="complete", source="past.jsonl")


def test_recorded_runs_become_trials_of_this_space_or_are_left_out():
    trial = _recorded(1e-4, 8, 16, loss=0.5)
    assert trial.params == {"training.learning_rate": 1e-4, "method.r": 8, "method.alpha.factor": 2.0}
    assert trial.value == 0.5 and trial.intermediate_values == {10: 1.5, 20: 0.5}
    assert trial.user_attrs[IMPORTED_FROM] == "past.jsonl"
    assert _recorded(1e-2, 8, 16, loss=0.5) is None  # lr outside the space
    assert _recorded(1e-4, 8, 12, loss=0.5) is None  # alpha not a factor of r in the space
    assert recorded_trial(params={"training.learning_rate": 1e-4}, curve=[(10, 1.0)], space=SPACE,
                          state="complete", source="x") is None  # method.r missing
    pruned = recorded_trial(params={"training.learning_rate": 1e-4, "method.r": 4, "method.alpha": 4},
                            curve=[(10, 2.0)], space=SPACE, state="pruned", source="x")
    assert pruned.state == TrialState.PRUNED and pruned.value is None


def test_a_warm_started_study_holds_the_imported_trials_before_the_first_sample(tmp_path: Path):
    past = [trial for trial in (_recorded(2e-4, 8, 8, loss=0.3), _recorded(5e-5, 4, 8, loss=0.9)) if trial]
    journal = tmp_path / "study.journal"
    searcher = build(journal, past_trials=past)
    imported = trials(journal)
    assert [trial.value for trial in imported] == [0.3, 0.9]
    assert all(trial.user_attrs[IMPORTED_FROM] == "past.jsonl" for trial in imported)
    searcher.suggest("first")
    assert len(trials(journal)) == 3
    # A resumed study already holds them: building the searcher again does not import them twice.
    build(journal, past_trials=past)
    assert len(trials(journal)) == 3


def test_another_sweeps_trials_copy_into_this_space(tmp_path: Path):
    journal = tmp_path / "old.journal"
    searcher = build(journal)
    searcher.suggest("aaa")
    searcher.on_trial_complete("aaa", result=report(searcher, "aaa", losses=[2.0, 1.0], finished=True))
    (old,) = trials(journal)
    copied = copied_trial(old, space=SPACE, source="runs/old")
    assert copied.params == old.params and copied.value == 1.0 and copied.intermediate_values == {30: 2.0, 60: 1.0}
    assert copied.user_attrs == {TUNE_TRIAL_ID: "aaa", IMPORTED_FROM: "runs/old"}
    narrower = TypeAdapter(SearchSpace).validate_python({"method.r": {"type": "choice", "values": [16]}})
    assert copied_trial(old, space=narrower, source="runs/old") is None


@pytest.mark.parametrize("weight", [1e6, 1e-6])
def test_a_prior_guides_early_samples_only_as_much_as_its_weight_says(weight: float):
    space = TypeAdapter(SearchSpace).validate_python({"training.learning_rate": {
        "type": "loguniform", "low": 1e-6, "high": 1e-1, "prior": {"mode": 1e-4, "spread": 1.5}}})
    searcher = build(None, space=space, algorithm="random", prior_weight=weight)
    values = []
    for index in range(40):
        values.append(searcher.suggest(str(index))["training.learning_rate"])
        searcher.on_trial_complete(str(index), result={"eval_loss": 1.0, "training_finished": True})
    near = sum(1e-4 / 1.5 ** 2 <= value <= 1e-4 * 1.5 ** 2 for value in values)
    # Within two spreads of the mode: ~95% of draws from the prior, ~7% of uniform draws over 5 decades.
    assert near >= 32 if weight > 1 else near <= 10


def test_a_grid_sweep_whose_last_cell_fails_goes_on(tmp_path: Path):
    # GridSampler asks Optuna to stop once the grid is done; outside Optuna's own loop that raised, and the
    # whole sweep crashed when its last grid cell failed or was stopped.
    journal = tmp_path / "study.journal"
    space = TypeAdapter(SearchSpace).validate_python({"method.r": {"type": "choice", "values": [4, 8]}})
    searcher = build(journal, space=space, algorithm="grid")
    for trial_id in ("aaa", "bbb"):
        searcher.suggest(trial_id)
    searcher.on_trial_complete("aaa", result=report(searcher, "aaa", losses=[2.0], finished=True))
    searcher.on_trial_complete("bbb", error=True)
    assert [trial.state for trial in trials(journal)] == [TrialState.COMPLETE, TrialState.PRUNED]


def test_several_objectives_make_a_multi_objective_study_and_a_stopped_trial_is_still_pruned(tmp_path: Path):
    journal = tmp_path / "study.journal"
    searcher = build(journal, metric=["eval_loss", "train_tokens"], mode=["min", "min"])
    searcher.suggest("done")
    searcher.on_trial_complete("done", result={"eval_loss": 1.0, "train_tokens": 500, "training_finished": True})
    searcher.suggest("cut")
    searcher.on_trial_complete("cut", result={"eval_loss": 3.0, "train_tokens": 100, "training_finished": False})
    study = optuna.load_study(study_name="sweep", storage=journal_storage(journal))
    assert len(study.directions) == 2
    done, cut = study.trials
    assert done.state == TrialState.COMPLETE and done.values == [1.0, 500]
    assert cut.state == TrialState.PRUNED and cut.values is None
