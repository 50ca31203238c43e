"""``search.warm_start``: the trials of earlier sweeps (their directories) and of curves files enter a new
sweep's study before it samples, so the sampler starts informed (re-tuning after a data refresh, or from
published curves). Each source must optimise the same metric in the same direction; a trial whose parameters
the new space cannot take is left out (counted in the run's log)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from sweeps.config.loading import read_spec
from sweeps.config.space import effective_space
from sweeps.core.errors import UserError
from sweeps.core.layout import JOURNAL_FILE
from sweeps.run.curves import read_curves, read_header

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

    from sweeps.spec import SweepSpec

log = logging.getLogger(__name__)


def warm_start_problems(spec: SweepSpec) -> list[str]:
    """What is wrong with ``search.warm_start``'s sources, read cheaply (no Optuna): existence, kind, metric."""
    problems = []
    for index, source in enumerate(spec.search.warm_start):
        field = f"search.warm_start.{index}: {str(source)!r}"
        try:
            metric, mode = _objective(Path(source))
        except UserError as error:
            problems.append(f"{field}: {error}")
            continue
        if (metric, mode) != (spec.search.metric, spec.search.mode):
            problems.append(f"{field}: its trials optimise {metric} ({mode}), but this sweep's search.metric is "
                            f"{spec.search.metric} ({spec.search.mode}); a warm start must share metric and mode")
    return problems


def _objective(source: Path) -> tuple[str, str]:
    if source.is_dir():
        past = read_spec(source)
        if not (source / JOURNAL_FILE).is_file():
            raise UserError(f"holds no study journal ({JOURNAL_FILE}): the sweep never started")
        return past.search.metric, past.search.mode
    if source.is_file():
        header = read_header(source)
        return header.metric, header.mode
    raise UserError("no such sweep directory or curves file")


def past_trials(spec: SweepSpec) -> list[FrozenTrial]:
    """Every trial of the warm-start sources that fits the sweep's space, as finished Optuna trials."""
    space, trials = effective_space(spec), []
    for source in spec.search.warm_start:
        found = _sweep_trials(Path(source), space=space) if Path(source).is_dir() else _curves_trials(
            Path(source), space=space)
        kept = [trial for trial in found if trial is not None]
        log.info("warm start: %d trials from %s (%d left out: the search space cannot take their parameters)",
                 len(kept), source, len(found) - len(kept))
        trials += kept
    return trials


def reference_curves(spec: SweepSpec) -> list[list[tuple[float, float]]]:
    """The finished runs of the warm-start sources as ``(progress, value)`` curves, for ``scheduler.name: curve``."""
    curves = []
    for source in map(Path, spec.search.warm_start):
        if source.is_dir():
            finished = [trial.intermediate_values for trial in _study(source).get_trials(deepcopy=False)
                        if trial.state.name == "COMPLETE" and trial.intermediate_values]
            curves += [[(step / max(values), value) for step, value in sorted(values.items())] for values in finished]
        else:
            curves += [[(step / run.planned(), value) for step, value in run.curve]
                       for run in read_curves(source).runs if run.finished]
    return curves


def _study(sweep_dir: Path):
    import optuna

    from search_spaces.searcher import journal_storage

    return optuna.load_study(study_name=read_spec(sweep_dir).name, storage=journal_storage(sweep_dir / JOURNAL_FILE))


def _sweep_trials(sweep_dir: Path, *, space) -> list[FrozenTrial | None]:
    from search_spaces.past_trials import copied_trial

    return [copied_trial(trial, space=space, source=str(sweep_dir)) for trial in _study(sweep_dir).get_trials(
        deepcopy=False)]


def _curves_trials(path: Path, *, space) -> list[FrozenTrial | None]:
    from search_spaces.past_trials import recorded_trial

    return [recorded_trial(params=run.params, curve=run.curve, space=space,
                           state="complete" if run.finished else "pruned", source=str(path))
            for run in read_curves(path).runs]
