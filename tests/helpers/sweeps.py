"""Sweep files over the tiny model, as the tests write them."""

from __future__ import annotations

from pathlib import Path

import yaml


def write_tiny_sweep(path: Path, *, model_dir: Path, data_path: Path, **sections: dict) -> Path:
    """A sweep file over the tiny model: 4 trials, 12 steps, a report every 3 steps. ``sections`` replace
    whole top-level sections (``search={...}``) for tests that need other settings."""
    spec = {
        "name": "tiny",
        "model": {"path": str(model_dir)},
        "dataset": {"path": str(data_path), "max_length": 32, "max_eval_examples": 24},
        "training": {"max_steps": 12, "eval_every_steps": 3, "batch_size": 8},
        "search": {"num_trials": 4, "seed": 0, "max_concurrent_trials": 1,
                   # A strong first trial makes ASHA's first rung a bar the weak later ones fall under.
                   "initial_points": [{"training.learning_rate": 3e-2, "method.r": 4}]},
        "search_space": {
            "training.learning_rate": {"type": "loguniform", "low": 1e-6, "high": 3e-2},
            "method.r": {"type": "choice", "values": [2, 4]},
            "method.alpha": {"type": "tied", "to": "method.r", "factors": [1, 2]},
        },
        # Rungs at a quarter, half and all of each trial's 12 steps (reports at 3, 6, 9, 12).
        "scheduler": {"name": "asha", "grace_period": 0.25, "reduction_factor": 2},
        "storage": {"path": str(path.parent / "runs")},
        **sections,
    }
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def run_output(sweep_dir: Path) -> Path:
    """Where a test keeps what ``finesweep run`` printed for the sweep in ``sweep_dir``: beside it, since
    tests copy sweep directories and must not carry the file along."""
    return sweep_dir.parent / f"{sweep_dir.name}.run-output"
