"""Samplers mixed into the sweep's own (``search.random_fraction``, priors): each draws from its own stream."""

from __future__ import annotations

from pydantic import TypeAdapter

from search_spaces.searcher import build_searcher
from search_spaces.space import SearchSpace

SPACE = TypeAdapter(SearchSpace).validate_python({
    "training.learning_rate": {"type": "loguniform", "low": 1e-6, "high": 1e-3},
    "training.warmup_ratio": {"type": "uniform", "low": 0.0, "high": 0.6},
})


def configs(*, random_fraction: float, trials: int) -> list[tuple[float, float]]:
    searcher = build_searcher(space=SPACE, metric="eval_loss", mode="min", algorithm="tpe", seed=0,
                              journal_path=None, study_name="sweep", initial_points=[],
                              random_fraction=random_fraction)
    drawn = []
    for index in range(trials):
        config = searcher.suggest(str(index))
        drawn.append((config["training.learning_rate"], config["training.warmup_ratio"]))
        searcher.on_trial_complete(str(index), result={"eval_loss": float(index), "training_finished": True})
    return drawn


def test_the_random_share_never_repeats_the_configs_of_tpes_own_random_start():
    # TPE draws its first 10 trials at random from a generator seeded with the sweep's seed; a random share seeded
    # the same way proposed those very configs again, spending trials on runs already made.
    drawn = configs(random_fraction=0.5, trials=10)
    assert drawn != configs(random_fraction=0.0, trials=10)  # the share drew some of them
    assert len(set(drawn)) == len(drawn)
