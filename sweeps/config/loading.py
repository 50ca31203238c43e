"""Read a sweep file, apply ``key.sub=value`` overrides, and validate everything before anything starts.

Every problem is collected and raised once as :class:`SpecError`, each line naming the file, the field,
the value and what is allowed, so a user fixes the whole file in one pass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from sweeps.config.checks import cross_check
from sweeps.config.messages import validation_problems
from sweeps.config.yaml_files import parse_yaml, read_yaml_mapping, yaml_problem
from sweeps.core.errors import SpecError, UserError
from sweeps.core.layout import SPEC_FILE
from sweeps.spec import SweepSpec


def load_spec(path: Path | str, overrides: Sequence[str] = (), *, check_files: bool = True,
              metrics: Mapping[str, str] | None = None) -> SweepSpec:
    """The validated spec of the sweep file at ``path`` with ``overrides`` applied; relative paths in it
    are resolved against the file's folder. Raises :class:`SpecError` listing every problem.

    ``check_files=False`` skips checking what must exist on this machine: the model and data (replay, or
    a spec whose paths exist only on the cluster), and a CUDA GPU for qlora. ``metrics`` (name → mode)
    replaces the task's metrics when the trials report others: a replayed curves file's."""
    path = Path(path)
    source = str(path)
    raw = read_yaml_mapping(path)
    problems = apply_overrides(raw, overrides)
    raw = _with_paths_resolved(raw, base_dir=path.resolve().parent)
    spec = None
    try:
        spec = SweepSpec.model_validate(raw)
    except ValidationError as error:
        problems += validation_problems(error, raw)
    if spec is not None:
        problems += cross_check(spec, check_files=check_files, metrics=metrics)
    if problems:
        raise SpecError(source, problems)
    return spec


def apply_overrides(raw: dict[str, Any], overrides: Sequence[str]) -> list[str]:
    """Set each ``a.b.c=value`` (value parsed as YAML) in ``raw``; returns the malformed ones. A search-space
    parameter is addressed by its full name: ``search_space.training.learning_rate.high=1e-3``."""
    problems = []
    for override in overrides:
        dotted, sep, text = override.partition("=")
        if not sep or not dotted:
            problems.append(f"override {override!r}: expected KEY=VALUE, e.g. search.num_trials=8")
            continue
        try:
            value = parse_yaml(text) if text else ""
        except yaml.YAMLError as error:
            problems.append(f"override {override!r}: value is not valid YAML: {yaml_problem(error)}")
            continue
        *parents, leaf = _override_keys(dotted)
        section = raw
        for key in parents:
            if not isinstance(section.get(key), dict):
                section[key] = {}
            section = section[key]
        section[leaf] = value
    return problems


def _override_keys(dotted: str) -> list[str]:
    # A search-space parameter's name holds a dot itself: search_space.training.learning_rate.low.
    keys = dotted.split(".")
    if keys[0] == "search_space" and len(keys) >= 3:
        return [keys[0], ".".join(keys[1:3]), *keys[3:]]
    return keys


def _with_paths_resolved(raw: dict[str, Any], *, base_dir: Path) -> dict[str, Any]:
    # The file is the user's frame of reference, not the shell's working directory.
    for section in ("model", "dataset"):
        block = raw.get(section)
        if isinstance(block, dict) and isinstance(block.get("path"), str):
            block["path"] = str((base_dir / Path(block["path"]).expanduser()).resolve())
    storage = raw.get("storage")
    if isinstance(storage, dict) and isinstance(storage.get("path"), str) and "://" not in storage["path"]:
        storage["path"] = str((base_dir / Path(storage["path"]).expanduser()).resolve())
    models = (raw.get("search_space") or {}).get("model.path") if isinstance(raw.get("search_space"), dict) else None
    if isinstance(models, dict) and isinstance(models.get("values"), list):
        models["values"] = [str((base_dir / Path(item).expanduser()).resolve()) if isinstance(item, str) else item
                            for item in models["values"]]
    search = raw.get("search")
    if isinstance(search, dict) and isinstance(search.get("warm_start"), list):
        search["warm_start"] = [str((base_dir / Path(item).expanduser()).resolve()) if isinstance(item, str) else item
                                for item in search["warm_start"]]
    return raw


def read_spec(sweep_dir: Path) -> SweepSpec:
    """The resolved spec a sweep was started with, saved in its directory. A saved spec that cannot be read
    or no longer validates (edited by hand, written by another finesweep version) raises :class:`SpecError`."""
    spec_path = Path(sweep_dir) / SPEC_FILE
    if not spec_path.is_file():
        raise UserError(f"{sweep_dir}: not a finesweep sweep directory (no {SPEC_FILE})")
    raw = read_yaml_mapping(spec_path)
    try:
        return SweepSpec.model_validate(raw)
    except ValidationError as error:
        raise SpecError(str(spec_path), validation_problems(error, raw)) from None
