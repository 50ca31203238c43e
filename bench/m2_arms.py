"""The arms M2 compares — each a set of overrides of a bench sweep file — and one replayed sweep of an arm on
the simulated clock (:mod:`sweeps.run.simulate`): the compute it spent until its best-so-far came within the
target of the best value in the file, its final regret, what it spent in all, and its slots' utilisation.

The curve sets are opda's (Nicholas Lourie, CC BY-SA 4.0): DeBERTa-base on MultiNLI (1,024 runs, accuracy every
1,000 steps, cost = examples seen) and AlexNet on ImageNet (512 runs, top-1 every epoch, cost = the runs' own GPU
seconds, a third diverged). Warm-start arms split a file's runs into two seeded halves: a 24-trial default
sweep on one half is the past sweep, and the arm sweeps the other half warm-started from it; their baseline is
random search on that same half.
"""

from __future__ import annotations

import math
import random
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import BENCH_DIR, FAST_STORAGE, OUT

SHARED = BENCH_DIR.parent.parent / "shared" / "data"


@dataclass(frozen=True)
class CurveSet:
    sweep: Path  # the bench sweep file (its search space is opda's sampling distribution)
    source: Path  # opda's results file
    target_gap: float  # "near-best": within this of the best value in the file
    label: str

    @property
    def curves_file(self) -> Path:
        return OUT / f"{self.sweep.stem}.curves.jsonl"


SETS = {
    "deberta": CurveSet(BENCH_DIR / "opda_sweep.yaml", SHARED / "opda-deberta" / "deberta-base_tuning.results.jsonl",
                        0.005, "DeBERTa-base / MultiNLI (0.5 pp: 13% of runs)"),
    # 3 pp: reached by 6% of the runs (1 pp: 1.4%, 5 pp: 10%).
    "alexnet": CurveSet(BENCH_DIR / "alexnet_sweep.yaml", SHARED / "opda-alexnet" / "alexnet_tuning.results.jsonl",
                        0.03, "AlexNet / ImageNet (3 pp: 6% of runs)"),
}
# The literature's beliefs, not fitted to the files. DeBERTa (full fine-tuning): BERT (Devlin et al. 2019) 2e-5 to
# 5e-5 and 2–4 epochs, RoBERTa (Liu et al. 2019) 1e-5 to 3e-5. AlexNet: Krizhevsky et al. 2012 (lr 0.01 at batch
# 128, momentum 0.9, weight decay 5e-4, ~90 epochs), Goyal et al. 2017 (lr 0.1 per 256 images, for ResNet-50),
# Szegedy et al. 2016 (label smoothing 0.1).
PRIORS = {
    "deberta": ["search_space.training.learning_rate.prior={mode: 2.0e-5, spread: 2}",
                "search_space.training.epochs.prior={mode: 3, spread: 1}"],
    "alexnet": ["search_space.training.learning_rate.prior={mode: 0.02, spread: 3}",
                "search_space.training.epochs.prior={mode: 90, spread: 15}",
                "search_space.training.momentum.prior={mode: 0.9, spread: 0.05}",
                "search_space.training.weight_decay.prior={mode: 5.0e-4, spread: 3}",
                "search_space.training.label_smoothing.prior={mode: 0.1, spread: 0.1}"],
}
PRIORS_MARK, WARM_MARK, OTHER_DRAWS_MARK = "<priors>", "<warm start>", "<other draws>"
OTHER_DRAWS = 1000  # the seed offset of random-other-draws
ARMS: dict[str, list[str]] = {
    "random": ["search.algorithm=random", "scheduler.name=none"],  # the baseline: random search, no stopping
    # The same random search with other draws (seed + 1000): how often chance alone ends worse than the baseline.
    "random-other-draws": [OTHER_DRAWS_MARK, "search.algorithm=random", "scheduler.name=none"],
    "default": [],  # finesweep's defaults: TPE, ASHA on progress, rungs from the sweep
    "tpe": ["scheduler.name=none"],  # the default searcher without early stopping
    "random-share": ["search.random_fraction=0.5"],  # the previous default: half the trials drawn at random
    "random+asha": ["search.algorithm=random"],
    "curve": ["scheduler.name=curve"],
    "old-default": ["scheduler.time_unit=reports", "scheduler.grace_period=1", "scheduler.reduction_factor=2"],
    "priors": [PRIORS_MARK],
    "warm": [WARM_MARK],
    "warm+curve": [WARM_MARK, "scheduler.name=curve"],
    "warm+random-share": [WARM_MARK, "search.random_fraction=0.5"],
    "half-random": [WARM_MARK, "search.algorithm=random", "scheduler.name=none"],  # the warm arms' baseline
}
WARM_ARMS = ("warm", "warm+curve", "warm+random-share", "half-random")


def replay_arm(*, set_name: str, arm: str, trials: int, concurrency: int, seed: int) -> dict[str, Any]:
    """One replayed sweep of ``arm`` (see the module docstring) and what it cost."""
    from sweeps.run.curves import read_curves
    from sweeps.run.replay import replay_spec
    from sweeps.run.simulate import simulate

    started = time.monotonic()
    curve_set = SETS[set_name]
    curves = read_curves(curve_set.curves_file)
    overrides = [item for item in ARMS[arm] if item not in (PRIORS_MARK, WARM_MARK, OTHER_DRAWS_MARK)]
    overrides += PRIORS[set_name] if PRIORS_MARK in ARMS[arm] else []
    if WARM_MARK in ARMS[arm]:
        past, curves = _halves(curves, seed=seed)
        overrides += [f"search.warm_start=[{_past_sweep(curve_set, past, seed=seed)}]"] if arm != "half-random" else []
    draws = seed + OTHER_DRAWS if OTHER_DRAWS_MARK in ARMS[arm] else seed
    overrides += [f"search.num_trials={trials}", f"search.max_concurrent_trials={concurrency}", f"search.seed={draws}"]
    sweep = simulate(replay_spec(spec_path=curve_set.sweep, overrides=overrides, curves=curves), curves=curves)
    best_so_far = sweep.budget_curve()
    target = curves.best_value() - curve_set.target_gap
    return {"set": set_name, "arm": arm, "trials": trials, "concurrency": concurrency, "seed": seed,
            "budget_to_target": next((spent for spent, best in best_so_far if best >= target), math.inf),
            "regret": curves.best_value() - best_so_far[-1][1], "cost": sweep.total_cost(),
            "utilisation": sweep.total_cost() / (concurrency * sweep.wall_time()),
            "stopped": sum(trial.stopped_early for trial in sweep.trials), "seconds": time.monotonic() - started,
            "curve": _changes(best_so_far)}


def _halves(curves: Any, *, seed: int) -> tuple[Any, Any]:
    from sweeps.run.curves import Curves

    order = list(range(len(curves.runs)))
    random.Random(1000 + seed).shuffle(order)
    return tuple(Curves(header=curves.header, runs=[curves.runs[i] for i in order[part::2]]) for part in (0, 1))


def _past_sweep(curve_set: CurveSet, past: Any, *, seed: int) -> Path:
    """A 24-trial default sweep (4 at a time) on ``past``, written as a curves file to warm-start from."""
    from sweeps.config.space import effective_space
    from sweeps.run.curves import write_curves
    from sweeps.run.replay import replay_spec
    from sweeps.run.simulate import simulate

    spec = replay_spec(spec_path=curve_set.sweep, overrides=["search.num_trials=24", "search.max_concurrent_trials=4",
                                                             f"search.seed={seed + 500}"], curves=past)
    target = Path(tempfile.mkdtemp(dir=FAST_STORAGE)) / "past.curves.jsonl"
    write_curves(simulate(spec, curves=past).as_curves(recorded=past, space=effective_space(spec)), target)
    return target


def _changes(curve: list[tuple[float, float]]) -> list[tuple[float, float]]:
    # The best-so-far is a step function: its changes and its end are all a plot needs.
    kept = [point for index, point in enumerate(curve) if index == 0 or point[1] != curve[index - 1][1]]
    return [*kept, curve[-1]] if kept and kept[-1] != curve[-1] else kept
