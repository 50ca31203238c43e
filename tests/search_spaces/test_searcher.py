"""The Ray searcher: journaled study, seeding, initial points, grid, resume, checkpointing.

No Ray cluster: ``OptunaSearch`` is driven directly through ``suggest`` / ``on_trial_complete``, the
calls Tune makes.
"""

import itertools
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from pydantic import TypeAdapter
from ray.tune.search.optuna import OptunaSearch

from search_spaces.searcher import build_searcher, check_initial_points, journal_storage
from search_spaces.space import SearchSpace

SPACE = TypeAdapter(SearchSpace).validate_python({
    "training.learning_rate": {"type": "loguniform", "low": 1e-5, "high": 1e-3},
    "method.r": {"type": "choice", "values": [4, 8, 16]},
    "method.alpha": {"type": "tied", "to": "method.r", "factors": [1, 2]},
    "training.batch_size": {"type": "choice", "values": [4, 8]},
})
GRID_SPACE = TypeAdapter(SearchSpace).validate_python({
    "method.r": {"type": "choice", "values": [4, 8]},
    "method.alpha": {"type": "tied", "to": "method.r", "factors": [1, 2]},
    "training.epochs": {"type": "int", "low": 1, "high": 2},
})


def build(journal: Path, **overrides) -> OptunaSearch:
    arguments = {
        "space": SPACE, "metric": "eval_loss", "mode": "min", "algorithm": "tpe", "seed": 0,
        "journal_path": journal, "study_name": "sweep", "initial_points": [],
    }
    return build_searcher(**{**arguments, **overrides})


def run(searcher: OptunaSearch, trials: int) -> list[dict]:
    configs = []
    for index in range(trials):
        configs.append(searcher.suggest(f"trial_{index}"))
        searcher.on_trial_complete(f"trial_{index}", result={"eval_loss": index + 0.5})
    return configs


def load(journal: Path) -> optuna.Study:
    storage = journal_storage(journal)
    return optuna.load_study(study_name="sweep", storage=storage)


@pytest.fixture
def journal(tmp_path: Path) -> Path:
    return tmp_path / "sweep" / "study.journal"


def test_study_is_journaled_and_reloadable(journal: Path) -> None:
    configs = run(build(journal), trials=3)
    study = load(journal)
    assert [trial.state for trial in study.trials] == [optuna.trial.TrialState.COMPLETE] * 3
    assert [trial.value for trial in study.trials] == [0.5, 1.5, 2.5]
    assert study.direction == optuna.study.StudyDirection.MINIMIZE
    for config, trial in zip(configs, study.trials, strict=True):
        assert set(config) == {*SPACE, "method.alpha.factor"}
        assert config["method.alpha"] == trial.params["method.alpha.factor"] * trial.params["method.r"]


def test_same_seed_same_first_configs_through_ray(tmp_path: Path) -> None:
    first = run(build(tmp_path / "a.journal", seed=1), trials=3)
    assert first == run(build(tmp_path / "b.journal", seed=1), trials=3)
    assert first != run(build(tmp_path / "c.journal", seed=2), trials=3)


def test_initial_points_come_first_and_omitted_params_are_sampled(journal: Path) -> None:
    points = [
        {"training.learning_rate": 1e-3, "method.r": 8, "method.alpha": 16},
        {"method.r": 4, "method.alpha.factor": 1},
    ]
    first, second, _ = run(build(journal, initial_points=points), trials=3)
    assert first["training.learning_rate"] == 1e-3
    assert (first["method.r"], first["method.alpha"], first["method.alpha.factor"]) == (8, 16, 2.0)
    assert first["training.batch_size"] in {4, 8}
    assert (second["method.r"], second["method.alpha"]) == (4, 4)
    assert 1e-5 <= second["training.learning_rate"] <= 1e-3


def test_invalid_initial_points_are_all_reported() -> None:
    points = [
        {"training.learnig_rate": 1e-3, "method.r": 5, "training.batch_size": True},
        {"method.r": 8, "method.alpha": 12},
        {"method.alpha": 16},
        {"method.alpha.factor": 3},
        {"method.r": 8, "method.alpha": 16, "method.alpha.factor": 1},
    ]
    errors = check_initial_points(points, space=SPACE, algorithm="tpe")
    assert [(field, message.split(";")[0]) for field, message in errors] == [
        ("search.initial_points.0.training.learnig_rate",
         "must be a searched parameter, but got 'training.learnig_rate'"),
        ("search.initial_points.0.method.r", "must be one of [4, 8, 16], but got 5"),
        ("search.initial_points.0.training.batch_size", "must be one of [4, 8], but got True"),
        ("search.initial_points.1.method.alpha",
         "must be method.r times one of [1.0, 2.0], but got 12 with method.r=8"),
        ("search.initial_points.2.method.alpha",
         "a tied value needs 'method.r' in the same point (or give 'method.alpha.factor' instead)"),
        ("search.initial_points.3.method.alpha.factor", "must be one of [1.0, 2.0], but got 3"),
        ("search.initial_points.4.method.alpha",
         "must agree with method.alpha.factor=1, but got 16 (factor 2.0)"),
    ]
    assert "did you mean 'training.learning_rate'?" in errors[0][1]


def test_invalid_initial_point_fails_before_the_journal_is_written(journal: Path) -> None:
    with pytest.raises(ValueError, match=r"search.initial_points.0.method.r: must be one of \[4, 8, 16\]"):
        build(journal, initial_points=[{"method.r": 5}])
    assert not journal.exists()


def test_grid_needs_whole_initial_points() -> None:
    partial, whole = {"method.r": 8}, {"method.r": 8, "method.alpha.factor": 2, "training.epochs": 1}
    errors = check_initial_points([partial, whole], space=GRID_SPACE, algorithm="grid")
    message = "grid search needs every searched parameter, but got none for method.alpha, training.epochs"
    assert errors == [("search.initial_points.0", message)]


def test_grid_search_through_ray_enumerates_the_product(journal: Path) -> None:
    configs = run(build(journal, space=GRID_SPACE, algorithm="grid"), trials=8)
    points = [(c["method.r"], c["method.alpha"], c["training.epochs"]) for c in configs]
    assert sorted(points) == sorted(
        (r, factor * r, epochs) for r, factor, epochs in itertools.product([4, 8], [1, 2], [1, 2])
    )
    assert all(trial.state.is_finished() for trial in load(journal).trials)


def test_grid_over_a_continuous_space_fails_before_the_journal_is_written(journal: Path) -> None:
    with pytest.raises(ValueError, match=r"continuous: training.learning_rate$"):
        build(journal, algorithm="grid")
    assert not journal.exists()


def test_unknown_algorithm_is_rejected(journal: Path) -> None:
    with pytest.raises(ValueError, match=r"algorithm must be one of tpe, random, grid, nsga2, but got 'bayes'"):
        build(journal, algorithm="bayes")


def test_resumed_study_does_not_enqueue_initial_points_again(journal: Path) -> None:
    point = {"training.learning_rate": 1e-4, "method.r": 16, "method.alpha": 16}
    build(journal, initial_points=[point])
    resumed = build(journal, initial_points=[point])
    assert [trial.state for trial in load(journal).trials] == [optuna.trial.TrialState.WAITING]
    assert resumed.suggest("trial_0")["training.learning_rate"] == 1e-4


def test_checkpointed_searcher_restores_and_keeps_journaling(journal: Path, tmp_path: Path) -> None:
    searcher = build(journal)
    run(searcher, trials=2)
    searcher.save(str(tmp_path / "searcher.pkl"))
    restored = OptunaSearch()
    restored.restore(str(tmp_path / "searcher.pkl"))
    restored.suggest("trial_9")
    restored.on_trial_complete("trial_9", result={"eval_loss": 9.0})
    assert [trial.value for trial in load(journal).trials] == [0.5, 1.5, 9.0]


def test_importing_the_package_loads_neither_optuna_nor_ray() -> None:
    code = (
        "import sys, search_spaces, search_spaces.optuna_space, search_spaces.searcher\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'optuna', 'ray'}))"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == "[]"
