"""The layout of a sweep directory, ``<storage.path>/<name>/``: the one contract between the runner that
writes it and ``best``, ``export`` and the dashboard that read it."""

SPEC_FILE = "sweep.yaml"  # the resolved spec: overrides applied, paths absolute
TUNE_DIR = "tune"  # Ray Tune's experiment: one folder per trial with result.json, params.json, error.txt
TRAIN_DIR = "train"  # Ray Train runs, one per trial id, holding the kept adapter checkpoints
JOURNAL_FILE = "optuna.journal"  # Optuna JournalStorage: the study survives crashes; optuna-dashboard reads it
SUMMARY_FILE = "summary.json"  # written when a run ends: best trial, counts, wall time
CHOSEN_FILE = "chosen.json"  # the checkpoint picked in the dashboard: what `finesweep export` takes by default
