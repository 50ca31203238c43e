"""Tune's experiment state in the sweep directory, made whole again after a copy that a full disk cut short.

Tune writes its state (``experiment_state-*.json``, the searcher's pickle, each trial's params and error
files) in a staging folder of the driver's Ray session, and copies that folder into the sweep directory file
by file, each truncated first. A disk that fills during a copy leaves truncated files there: the sweep no
longer loads (``best``, the dashboard) or resumes, while the staging folder still holds them whole. On the
machine that ran it, ``resume`` finishes that copy from the dead driver's session (``driver.json``) before Tune
reads anything.
"""

from __future__ import annotations

import json
from pathlib import Path

from sweeps.core.errors import UserError
from sweeps.core.files import write_atomically
from sweeps.core.layout import TUNE_DIR

STATE_GLOB = "experiment_state-*.json"


def finish_interrupted_copy(sweep_dir: Path, *, ray_session: str | None) -> list[Path]:
    """Copy each file of the driver's staging folder that the sweep directory lacks or holds cut short; a
    UserError if Tune's experiment state is still unreadable. Returns the files copied."""
    tune_dir = Path(sweep_dir) / TUNE_DIR
    staged = _staging_folder(ray_session, tune_dir=tune_dir)
    copied = []
    for source in sorted(staged.rglob("*")) if staged else []:
        target = tune_dir / source.relative_to(staged)
        if source.is_file() and (not target.is_file() or target.stat().st_size != source.stat().st_size):
            target.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(target, source.read_bytes())
            copied.append(target)
    for state in tune_dir.glob(STATE_GLOB):
        try:
            json.loads(state.read_text())
        except ValueError:
            raise UserError(f"{state} is cut short (a disk that filled while Tune copied it?) and the Ray session "
                            "that wrote it is gone; the sweep cannot be resumed from it") from None
    return copied


def _staging_folder(ray_session: str | None, *, tune_dir: Path) -> Path | None:
    """The staging folder in ``ray_session`` of the run whose experiment state the sweep directory holds."""
    if not ray_session:
        return None
    names = {state.name for state in tune_dir.glob(STATE_GLOB)}
    for folder in sorted(Path(ray_session).glob(f"artifacts/*/{TUNE_DIR}/driver_artifacts"), reverse=True):
        if names & {state.name for state in folder.glob(STATE_GLOB)}:
            return folder
    return None
