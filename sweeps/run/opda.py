"""Converters from Nicholas Lourie's published random-search results (opda, https://github.com/nicholaslourie/opda,
CC BY-SA 4.0) to curves files: DeBERTa-base on MultiNLI and AlexNet on ImageNet. Keep the attribution wherever
the converted files go."""

from __future__ import annotations

import json
import math
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from sweeps.core.errors import UserError
from sweeps.run.curves import Curves, CurvesHeader, RecordedRun, write_curves

ATTRIBUTION = "data: Nicholas Lourie, CC BY-SA 4.0, https://github.com/nicholaslourie/opda"
# The DeBERTa runs evaluate every 1,000 steps plus at each epoch's end; only the cadence (and the last point) is
# kept, so that every run reports on one cadence.
DEBERTA_CADENCE = 1000
IMAGENET_TRAIN_IMAGES = 1_281_167  # ILSVRC-2012's training set: one AlexNet epoch


def convert_opda(*, source: Path, target: Path, validation_set: str = "matched") -> tuple[int, str]:
    """Convert either opda results file (told apart by its fields); returns the runs written and which it was."""
    rows = _rows(source)
    if rows and "learning_curves" in rows[0]:
        if validation_set not in rows[0]["learning_curves"]:
            raise UserError(f"--validation-set: must be one of {', '.join(rows[0]['learning_curves'])}, but got "
                            f"{validation_set!r}")
        return convert_deberta(source=source, target=target, validation_set=validation_set), "DeBERTa"
    if rows and "learning_curve" in rows[0]:
        return convert_alexnet(source=source, target=target), "AlexNet"
    raise UserError(f"{source}: not an opda tuning results file (no learning_curves or learning_curve field in its "
                    f"first line)")


def convert_deberta(*, source: Path, target: Path, validation_set: str = "matched") -> int:
    """Write opda's ``deberta-base_tuning.results.jsonl`` as a curves file of accuracy on ``validation_set``
    (mode max, cost = examples seen); returns the number of runs.

    Parameters map to spec paths: num_train_epochs → training.epochs, train_batch_size → training.batch_size,
    learning_rate → training.learning_rate, cls_drop_out → method.dropout, and warmup_steps →
    training.warmup_ratio as warmup_steps / (total_model_steps / num_train_epochs), i.e. the share of the
    *first epoch* opda sampled (Uniform[0, 0.6]), not finesweep's share of all steps.
    """
    runs = [_deberta_run(row, validation_set=validation_set) for row in _rows(source)]
    write_curves(Curves(header=CurvesHeader(metric="accuracy", mode="max"), runs=runs), target)
    return len(runs)


def _deberta_run(row: dict[str, Any], *, validation_set: str) -> RecordedRun:
    steps_per_epoch = row["total_model_steps"] / row["num_train_epochs"]
    params = {
        "training.learning_rate": row["learning_rate"],
        "training.batch_size": row["train_batch_size"],
        "training.epochs": row["num_train_epochs"],
        "training.warmup_ratio": round(row["warmup_steps"] / steps_per_epoch, 6),
        "method.dropout": row["cls_drop_out"],
    }
    points = row["learning_curves"][validation_set]
    last_step = points[-1][0]
    curve = [(step, value) for step, value in points if step % DEBERTA_CADENCE == 0 or step == last_step]
    return RecordedRun(params=params, curve=curve)


def convert_alexnet(*, source: Path, target: Path) -> int:
    """Write opda's ``alexnet_tuning.results.jsonl`` as a curves file of top-1 accuracy (mode max, cost = the
    runs' own GPU seconds); returns the number of runs.

    One point per epoch at optimizer step (epoch + 1) × ceil(1,281,167 / batch size). Parameters map to spec
    paths: epochs → training.epochs, batch_size → training.batch_size, lr → training.learning_rate,
    lr_peak_epoch → training.warmup_ratio as lr_peak_epoch / epochs (the share of training spent rising to the
    peak, opda's Uniform[0, 0.8]), momentum → training.momentum, weight_decay → training.weight_decay,
    label_smoothing → training.label_smoothing. A run whose loss became NaN (``nan_train_loss``) failed at the
    epoch after its last recorded one, at the cost of its last point plus one epoch (the median epoch time of
    the finished runs with its batch size when it has no point): finesweep stops a trial at its first NaN loss.
    """
    rows = list(_rows(source))
    epoch_seconds = _median_epoch_seconds(rows)
    runs = [_alexnet_run(row, epoch_seconds=epoch_seconds[row["batch_size"]]) for row in rows]
    header = CurvesHeader(metric="accuracy", mode="max", cost_unit="gpu_seconds")
    write_curves(Curves(header=header, runs=runs), target)
    return len(runs)


def _alexnet_run(row: dict[str, Any], *, epoch_seconds: float) -> RecordedRun:
    steps_per_epoch = math.ceil(IMAGENET_TRAIN_IMAGES / row["batch_size"])
    params = {
        "training.learning_rate": row["lr"],
        "training.batch_size": row["batch_size"],
        "training.epochs": row["epochs"],
        "training.warmup_ratio": round(row["lr_peak_epoch"] / row["epochs"], 6),
        "training.momentum": row["momentum"],
        "training.weight_decay": row["weight_decay"],
        "training.label_smoothing": row["label_smoothing"],
    }
    points = row["learning_curve"]
    curve = [((point["epoch"] + 1) * steps_per_epoch, point["top_1"]) for point in points]
    cost = [point["time"] for point in points]
    failed = None
    if row["nan_train_loss"]:
        epoch_cost = cost[-1] - cost[-2] if len(cost) > 1 else cost[-1] if cost else epoch_seconds
        failed = {"step": (len(points) + 1) * steps_per_epoch, "cost": (cost[-1] if cost else 0) + epoch_cost}
    return RecordedRun(params=params, curve=curve, cost=cost, planned_steps=row["epochs"] * steps_per_epoch,
                       failed=failed)


def _median_epoch_seconds(rows: list[dict[str, Any]]) -> dict[int, float]:
    seconds = defaultdict(list)
    for row in rows:
        if not row["nan_train_loss"]:
            seconds[row["batch_size"]].append(row["learning_curve"][-1]["time"] / len(row["learning_curve"]))
    return {batch: statistics.median(values) for batch, values in seconds.items()}


def _rows(source: Path) -> list[dict[str, Any]]:
    try:
        text = Path(source).read_text(encoding="utf-8")
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    except OSError as error:
        raise UserError(f"{source}: cannot read it ({error.strerror})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UserError(f"{source}: not JSON lines ({error})") from None
