"""What every benchmark shares: where results go, the machine they came from, robust statistics, the tiny
real sweep's files, and the opda curves file.

Figures are ratios measured side by side in one run, or counts; absolute seconds are printed with the
machine (cores, load average, versions) they were measured on, because other work shares these cores.
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys
import time
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
OUT = BENCH_DIR / "out"  # results, runs and scratch (gitignored)
PLOTS = BENCH_DIR / "plots"  # the small PNGs BENCHMARKS.md shows (committed)
TINY_SWEEP = BENCH_DIR / "tiny_sweep.yaml"
OPDA_SWEEP = BENCH_DIR / "opda_sweep.yaml"
OPDA_SOURCE = BENCH_DIR.parent.parent / "shared" / "data" / "opda-deberta" / "deberta-base_tuning.results.jsonl"
OPDA_CURVES = OUT / "opda-deberta-base.curves.jsonl"
# Tune's per-trial and per-result files and the Optuna journal fsync on every write; sweeps whose own
# bookkeeping is not what is measured (M2, M4-simulated) keep them in memory-backed storage when there is one.
FAST_STORAGE = Path("/dev/shm") if Path("/dev/shm").is_dir() else OUT


def machine() -> dict[str, Any]:
    """The machine and software a figure was measured with."""
    import torch

    return {
        "cpu": _cpu_name(), "cores": os.cpu_count(), "load_average_1m": round(os.getloadavg()[0], 2),
        "python": platform.python_version(), "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        **{package: version(package) for package in ("ray", "optuna", "torch", "transformers", "peft")},
    }


def _cpu_name() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.is_file() else []
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return names[0] if names else platform.processor() or "unknown"


def gpu_note() -> str | None:
    """None on a CUDA machine; else the sentence every script prints for its skipped GPU figures."""
    import torch

    return None if torch.cuda.is_available() else "no CUDA GPU: tokens/s vs bare HF on GPU, MFU and LoRA-vs-full " \
        "peak memory are skipped"


def spread(values: Sequence[float]) -> dict[str, float]:
    """Median, quartiles and count; infinite values (a target never reached) count as worst and stay infinite
    (``statistics.quantiles`` would interpolate them into NaN)."""
    ordered = sorted(values)
    return {"median": _quantile(ordered, 0.5), "q1": _quantile(ordered, 0.25), "q3": _quantile(ordered, 0.75),
            "n": len(ordered)}


def _quantile(ordered: Sequence[float], share: float) -> float:
    position = share * (len(ordered) - 1)
    below, above = ordered[math.floor(position)], ordered[math.ceil(position)]
    return below if below == above else below + (above - below) * (position - math.floor(position))


def save(name: str, figures: dict[str, Any], *, module: str | None = None) -> Path:
    """Write ``bench/out/<name>.json`` with the figures, the command that made them (``bench.<module>``, by
    default ``bench.<name>``) and the machine."""
    OUT.mkdir(parents=True, exist_ok=True)
    record = {"command": " ".join([Path(sys.executable).name, "-m", f"bench.{module or name}", *sys.argv[1:]]),
              "finished": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": machine(), **figures}
    path = OUT / f"{name}.json"
    path.write_text(json.dumps(record, indent=2, default=str))
    return path


def tiny_files() -> None:
    """Build the tiny random Llama and the toy QA data that ``tiny_sweep.yaml`` names, once."""
    from tests.helpers.tiny import build_tiny_llama, qa_corpus, write_qa_jsonl

    model_dir, data = OUT / "tiny-llama", OUT / "qa.jsonl"
    if not (model_dir / "config.json").is_file():
        build_tiny_llama(model_dir, corpus=qa_corpus(n=400, seed=0), hidden_size=64, layers=2)
    if not data.is_file():
        write_qa_jsonl(data, n=400, seed=0)


def opda_curves():
    """opda's DeBERTa-base curves (Nicholas Lourie, CC BY-SA 4.0) as a finesweep curves file, read back."""
    from sweeps.run.curves import read_curves
    from sweeps.run.opda import convert_deberta

    if not OPDA_CURVES.is_file():
        convert_deberta(source=OPDA_SOURCE, target=OPDA_CURVES)
    return read_curves(OPDA_CURVES)


def fresh_dir(name: str, *, base: Path = OUT) -> Path:
    """An empty scratch directory ``<base>/bench-runs/<name>`` (emptied if it held a previous run)."""
    import shutil

    path = base / "bench-runs" / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path
