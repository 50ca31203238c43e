"""A sweep's prepared data, made once and memory-mapped by every trial.

Loading, cleaning, dedupe, splitting and tokenising depend only on the data file, the spec's ``dataset`` and
``task`` sections and the tokenizer, never on a trial's hyperparameters (unless the sweep searches a data
field, which then keys an entry per value). The first trial to need an entry builds it with HF ``datasets``
(``save_to_disk``) under ``<sweep>/data-cache/<key>/``; later trials, and a resumed sweep, ``load_from_disk``
it: Arrow files memory-mapped, not read into each process. An entry appears whole or not at all (built in a
temporary folder, then renamed), so trials that start together may both build, the first rename wins, and
both read the same data.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sweeps.core.layout import DATA_CACHE_DIR

if TYPE_CHECKING:
    from datasets import DatasetDict

    from sweeps.spec import SweepSpec

# Part of every key: raise it when the preparation code changes what it produces for the same inputs.
PREPARATION_VERSION = 1
# A model folder's weights are not the tokenizer; every other file (tokenizer, its config, the chat template,
# config.json) is read into the key.
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf", ".h5", ".msgpack", ".ckpt")
EXTRAS_FILE = "extras.json"
DATA_FOLDER = "data"

Prepared = tuple["DatasetDict", dict[str, Any]]


def cache_key(spec: SweepSpec) -> str:
    """The entry of ``spec``'s prepared data: a hash of the data file (path, size, modification time, as HF
    ``datasets`` keys data files), the ``dataset`` and ``task`` sections and the model folder's tokenizer files."""
    data_file = spec.dataset.path.resolve()
    stat = data_file.stat()
    inputs = {"version": PREPARATION_VERSION, "file": [str(data_file), stat.st_size, stat.st_mtime_ns],
              "dataset": spec.dataset.model_dump(mode="json"), "task": spec.task.model_dump(mode="json"),
              "tokenizer": _tokenizer_digest(Path(spec.model.path))}
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]


def _tokenizer_digest(model_dir: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(model_dir.iterdir()):
        if path.is_file() and not path.name.endswith(WEIGHT_SUFFIXES):
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def prepared_data(spec: SweepSpec, *, prepare: Callable[[], Prepared]) -> Prepared:
    """``prepare()``'s splits and JSON-able extras for ``spec``, from the sweep's cache: built by the first
    caller, memory-mapped by every caller. Outside a sweep (no sweep directory yet: a bare ``build_trainer``)
    or with remote storage (``s3://``: not a folder this process can rename in), ``prepare()`` runs as is."""
    from datasets import load_from_disk

    sweep_dir = Path(spec.sweep_dir)
    if "://" in spec.sweep_dir or not sweep_dir.is_dir():
        return prepare()
    entry = sweep_dir / DATA_CACHE_DIR / cache_key(spec)
    if not entry.is_dir():
        _build(entry, prepare=prepare)
    return load_from_disk(str(entry / DATA_FOLDER)), json.loads((entry / EXTRAS_FILE).read_text())


def _build(entry: Path, *, prepare: Callable[[], Prepared]) -> None:
    entry.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{entry.name}-", dir=entry.parent))
    try:
        splits, extras = prepare()
        splits.save_to_disk(str(building / DATA_FOLDER))
        (building / EXTRAS_FILE).write_text(json.dumps(extras))
        # Another trial's entry may have landed meanwhile: rename refuses a non-empty target, and theirs is kept.
        with contextlib.suppress(OSError):
            os.rename(building, entry)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    if not entry.is_dir():
        raise RuntimeError(f"{entry}: the prepared data could not be saved")
