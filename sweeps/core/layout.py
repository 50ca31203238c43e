"""The layout of a sweep directory, ``<storage.path>/<name>/``: the one contract between the runner that
writes it and ``best``, ``export`` and the dashboard that read it, with the shapes of the names in it."""

import re

SPEC_FILE = "sweep.yaml"  # the resolved spec: overrides applied, paths absolute
TUNE_DIR = "tune"  # Ray Tune's experiment: one folder per trial with result.json, params.json, error.txt
ERROR_FILE = "error.txt"  # in a failed trial's Tune folder: the whole traceback of its failure
TRAIN_DIR = "train"  # Ray Train runs, one per trial id, holding the kept adapter checkpoints
JOURNAL_FILE = "optuna.journal"  # Optuna JournalStorage: the study survives crashes; optuna-dashboard reads it
SUMMARY_FILE = "summary.json"  # written when a run ends: best trial, counts, wall time
DATA_CACHE_DIR = "data-cache"  # prepared data (cleaned, split, tokenized), one entry per data inputs
CHOSEN_FILE = "chosen.json"  # the checkpoint picked in the dashboard: what `finesweep export` takes by default
DRIVER_FILE = "driver.json"  # the process running the sweep, so `resume` can tell a live one from a dead one

# A sweep's name is its folder's name: a plain name, never `..` or a path.
SWEEP_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
# Tune's trial ids (8 hex digits) and Ray's checkpoint folders: strict shapes, so never `..` or `/`.
TRIAL_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
CHECKPOINT_NAME = re.compile(r"checkpoint_[A-Za-z0-9_.-]{1,64}")
# The file inside each checkpoint that says what produced it (step, params, metrics), for `best`, `export` and humans.
CHECKPOINT_INFO = "finesweep.json"
