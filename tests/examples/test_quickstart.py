"""The quickstart (examples/quickstart.yaml) stops at least one trial early, deterministically: checked here
on what decides it without training — its rungs and its seeded searcher's first draws. (The real demo takes
minutes of SmolLM2 on 2 cores, too slow for the suite; its measured run is in the README.)

Why the draws decide it: two trials run at once, so trials 3 and 4 start only after trials 1 and 2 have
ended and recorded their values at ASHA's first rung. ASHA (reduction factor 2) stops a trial whose value
there is worse than the median of the values recorded before it; a trial worse than both of the first two is
worse than that median whichever order it arrives in. After 6 steps, a LoRA run with an effective learning
rate (lr × alpha / r) a hundred times lower has barely moved from the base model's loss, so it is that trial.
"""

from __future__ import annotations

from pathlib import Path

from sweeps.config.advice import scheduler_notes
from sweeps.config.loading import load_spec
from sweeps.run.runner import build_search
from tests.helpers import PROJECT_ROOT

QUICKSTART = PROJECT_ROOT / "examples" / "quickstart.yaml"
MARGIN = 10  # how many times lower the weak trial's effective learning rate must be than both of the first two


def effective_learning_rate(config: dict) -> float:
    return config["training.learning_rate"] * config["method.alpha"] / config["method.r"]


def test_the_quickstart_has_a_rung_below_the_top_and_no_scheduler_advice():
    spec = load_spec(Path(QUICKSTART), check_files=False)
    assert spec.scheduler.name == "asha" and spec.scheduler.time_unit == "progress"
    grace, top = spec.scheduler.rungs(num_trials=spec.search.num_trials, max_t=1.0)
    assert grace < top and spec.search.max_concurrent_trials == 2 < spec.search.num_trials
    assert scheduler_notes(spec) == []
    # A report lands on the first rung: 24 steps, a report every 6, the first rung at a quarter.
    assert spec.training.eval_every_steps == spec.training.max_steps * grace


def test_the_seeded_draws_put_a_much_weaker_trial_after_the_first_two():
    spec = load_spec(Path(QUICKSTART), check_files=False)
    searcher = build_search(spec, journal_path=None)
    searcher.set_search_properties(spec.search.metric, spec.search.mode, {})
    rates = [effective_learning_rate(searcher.suggest(f"trial-{number}")) for number in range(4)]
    first_two, later = rates[:2], rates[2:]
    assert min(later) * MARGIN < min(first_two), rates
