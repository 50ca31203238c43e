"""Bad sweep directories (for ``best``, ``resume``, ``export``, ``sample``, ``curves``, ``dashboard``), curves
files for ``replay``, and hostile or impossible sweep files and overrides, each with the words its error
message must hold. ``test_bad_inputs.py`` runs each through the CLI."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.sweeps.cli.bad_specs import BadSpec

Damage = Callable[[Path], None]
LR_ONLY = ("search.initial_points=[]",
           "search_space={training.learning_rate: {type: loguniform, low: 1.0e-5, high: 1.0e-3}}")
# A 9-level alias bomb: about 3 × 10^8 values once expanded, from a few hundred bytes.
ALIAS_BOMB = "".join(f"{name}: &{name} [{', '.join([f'*{prev}'] * 9) if prev else ', '.join(['x'] * 9)}]\n"
                     for prev, name in zip(["", *"abcdefgh"], "abcdefghi", strict=True))


@dataclass(frozen=True)
class BadSweepDir:
    """A copy of a checkpointed sweep directory (``{sweep}``), changed by ``damage``, given to ``args``;
    ``{folder}`` is the case's own folder."""

    id: str
    expected: tuple[str, ...]
    args: tuple[str, ...]
    damage: Damage = lambda sweep: None


def _write(name: str, text: str) -> Damage:
    return lambda sweep: (sweep / name).write_text(text)


def _tune_state(name: str, text: str) -> Damage:
    def damage(sweep: Path) -> None:
        (sweep / "tune").mkdir()
        (sweep / "tune" / name).write_text(text)
    return damage


def _classification(sweep: Path) -> None:
    spec = yaml.safe_load((sweep / "sweep.yaml").read_text())
    spec["task"] = {"type": "classification", "text_column": "prompt", "label_column": "response"}
    (sweep / "sweep.yaml").write_text(yaml.safe_dump(spec))


BAD_SWEEP_DIRS = [
    BadSweepDir("best-of-no-sweep", ("not a finesweep sweep directory (no sweep.yaml)",), ("best", "{folder}")),
    BadSweepDir("best-saved-spec-not-yaml", ("sweep.yaml: not valid YAML", "line 2"), ("best", "{sweep}"),
                _write("sweep.yaml", "name: x\nmodel: [oops\n")),
    BadSweepDir("best-saved-spec-invalid", ("sweep.yaml: dataset: required section is missing",), ("best", "{sweep}"),
                _write("sweep.yaml", "name: x\nmodel: {path: /m}\n")),
    BadSweepDir("best-saved-spec-alias-bomb", ("sweep.yaml: refused: its aliases (*name) expand to more than",),
                ("best", "{sweep}"), _write("sweep.yaml", ALIAS_BOMB)),
    BadSweepDir("best-tune-state-corrupt", ("Tune's record of the trials cannot be read",), ("best", "{sweep}"),
                _tune_state("experiment_state-2026-01-01_00-00-00.json", "{not json")),
    BadSweepDir("best-before-any-report", ("no trial has reported eval_loss yet",), ("best", "{sweep}", "--json")),
    BadSweepDir("resume-never-started", ("the sweep never started (no tune/)",), ("resume", "{sweep}")),
    BadSweepDir("resume-without-tune-state", ("holds no state Tune can resume from (no tuner.pkl",),
                ("resume", "{sweep}"), _tune_state("experiment_state-2026-01-01_00-00-00.json", "{}")),
    BadSweepDir("resume-saved-spec-duplicate-keys", ("sweep.yaml: duplicate key 'name' at line 2 (first at line 1)",),
                ("resume", "{sweep}"), lambda sweep: (sweep / "sweep.yaml").write_text(
                    "name: a\n" + (sweep / "sweep.yaml").read_text())),
    BadSweepDir("resume-saved-spec-python-tag", ("the tag !!python/object/apply:os.system is not allowed",),
                ("resume", "{sweep}"), _write("sweep.yaml", "name: !!python/object/apply:os.system [true]\n")),
    BadSweepDir("export-checkpoint-without-trial", ("--checkpoint needs --trial",),
                ("export", "{sweep}", "--out", "{folder}/out", "--checkpoint", "checkpoint_x")),
    BadSweepDir("export-unknown-trial", ("no trial 'ffff0000' with checkpoints",),
                ("export", "{sweep}", "--out", "{folder}/out", "--trial", "ffff0000")),
    BadSweepDir("export-unknown-checkpoint", ("trial aaaa0001 has no checkpoint 'checkpoint_x'",),
                ("export", "{sweep}", "--out", "{folder}/out", "--trial", "aaaa0001", "--checkpoint", "checkpoint_x")),
    BadSweepDir("export-traversing-trial", ("no trial '../../etc' with checkpoints",),
                ("export", "{sweep}", "--out", "{folder}/out", "--trial", "../../etc")),
    BadSweepDir("export-over-a-full-folder", ("already exists and is not an empty folder",),
                ("export", "{sweep}", "--out", "{sweep}", "--trial", "aaaa0001")),
    BadSweepDir("export-classification", ("`finesweep export` handles causal-LM checkpoints",),
                ("export", "{sweep}", "--out", "{folder}/out"), _classification),
    BadSweepDir("sample-classification", ("`finesweep sample` handles causal-LM checkpoints",),
                ("sample", "{sweep}"), _classification),
    BadSweepDir("sample-before-any-report", ("no trial has reported eval_loss yet",), ("sample", "{sweep}")),
    BadSweepDir("curves-before-any-trial", ("no trial has ended yet",), ("curves", "{sweep}", "{folder}/c.jsonl")),
    BadSweepDir("dashboard-of-no-folder", ("no such folder; give the storage.path",),
                ("dashboard", "{folder}/nothing")),
    BadSweepDir("dashboard-public-without-token", ("--host 0.0.0.0 serves beyond this machine",),
                ("dashboard", "{folder}", "--host", "0.0.0.0")),
    BadSweepDir("dashboard-token-file-missing", ("--token-file", "no such file"),
                ("dashboard", "{folder}", "--token-file", "{folder}/token")),
    BadSweepDir("dashboard-token-too-short", ("the dashboard token must be at least 16 characters",),
                ("dashboard", "{folder}", "--token-file", "{sweep}/token"), _write("token", "short\n")),
    BadSweepDir("replay-curves-missing", ("cannot read the curves file (No such file or directory)",),
                ("replay", "{folder}/none.jsonl", "--spec", "{sweep}/sweep.yaml")),
    BadSweepDir("replay-curves-not-json", ("curves.jsonl:1: not valid JSON",),
                ("replay", "{sweep}/curves.jsonl", "--spec", "{sweep}/sweep.yaml"),
                _write("curves.jsonl", "{metric: eval_loss\n{}\n")),
    BadSweepDir("replay-curves-header-only", ("a curves file needs a header line and at least one run",),
                ("replay", "{sweep}/curves.jsonl", "--spec", "{sweep}/sweep.yaml"),
                _write("curves.jsonl", '{"metric": "eval_loss", "mode": "min"}\n')),
]

# Sweep files and overrides: hostile YAML, values no field can take, and what this machine cannot give.
MORE_BAD_SPECS = [
    BadSpec("yaml-alias-bomb", ("refused: its aliases (*name) expand to more than 100,000 values",),
            text=ALIAS_BOMB + "name: *i\n"),
    BadSpec("yaml-alias-bomb-in-a-search-space", ("refused: its aliases",),
            text=ALIAS_BOMB + "search_space: {method.r: {type: choice, values: *i}}\n", command="run"),
    BadSpec("yaml-recursive-alias", ("refused: an alias refers to the node that contains it",),
            text="name: &a [*a]\n"),
    BadSpec("yaml-python-object-tag", ("refused: the tag !!python/object/apply:os.system is not allowed",
                                       "line 1, column 7"), text="name: !!python/object/apply:os.system [echo hi]\n"),
    BadSpec("yaml-python-name-tag", ("the tag !!python/name:os.system is not allowed",),
            text="name: !!python/name:os.system ''\n"),
    BadSpec("yaml-custom-tag", ("the tag !include is not allowed",), text="name: tiny\nmodel: !include secret.yaml\n"),
    BadSpec("yaml-duplicate-key", ("duplicate key 'training' at line 3 (first at line 2): YAML would keep only the "
                                   "last one",),
            text="name: tiny\ntraining: {max_steps: 4}\ntraining: {max_steps: 8}\n"),
    BadSpec("yaml-duplicate-nested-keys", ("duplicate key 'max_steps' at line 3 (first at line 2)",
                                           "duplicate key 'seed' at line 5 (first at line 4)"),
            text="training:\n  max_steps: 4\n  max_steps: 8\n  seed: 1\n  seed: 2\n"),
    BadSpec("yaml-nested-too-deep", ("not valid YAML: nested too deeply to read",), text="name: " + "[" * 5000),
    BadSpec("yaml-two-documents", ("not valid YAML: but found another document at line 2",),
            text="name: a\n---\nname: b\n"),
    BadSpec("yaml-nul-byte", ("not valid YAML", "special characters are not allowed"), text="name: a\x00b\n"),
    BadSpec("override-python-tag", ("override 'name=!!python/object/apply:os.system [ls]': value is not valid "
                                    "YAML", "not allowed"), overrides=("name=!!python/object/apply:os.system [ls]",)),
    BadSpec("override-undefined-alias", ("override 'name=*a': value is not valid YAML", "undefined alias"),
            overrides=("name=*a",)),
    BadSpec("override-duplicate-key", ("value is not valid YAML", "duplicate key 'r'"),
            overrides=("method={r: 4, r: 8}",)),
    BadSpec("infinite-learning-rate", ("training.learning_rate: must be a finite number, but got inf",),
            overrides=("training.learning_rate=.inf",), command="run"),
    BadSpec("nan-weight-decay", ("training.weight_decay: must be a finite number, but got nan",),
            overrides=("training.weight_decay=.nan",)),
    BadSpec("infinite-search-bound", ("search_space.training.learning_rate.high: must be a finite number",),
            overrides=("search_space.training.learning_rate.high=.inf",)),
    BadSpec("negative-rank-in-a-choice", ("search_space.method.r: every value must be >= 1 (the rule of method.r), "
                                          "but it can sample -4",),
            overrides=("search_space.method.r={type: choice, values: [-4, 8]}", "search.initial_points=[]"),
            command="run"),
    BadSpec("tied-alpha-below-zero", ("search_space.method.alpha: every value must be > 0",),
            overrides=("search_space.method.r={type: choice, values: [-2, 4]}", "search.initial_points=[]")),
    BadSpec("batch-range-from-zero", ("search_space.training.batch_size: every value must be >= 1", "sample 0"),
            overrides=("search_space.training.batch_size={type: int, low: 0, high: 8}",)),
    BadSpec("warmup-reaching-one", ("search_space.training.warmup_ratio: every value must be < 1", "sample 1.0"),
            overrides=("search_space.training.warmup_ratio={type: uniform, low: 0, high: 1}",)),
    BadSpec("negative-weight-decay-range", ("search_space.training.weight_decay: every value must be >= 0",
                                            "sample -0.1"),
            overrides=("search_space.training.weight_decay={type: uniform, low: -0.1, high: 0.1}",)),
    BadSpec("zero-epochs-choice", ("search_space.training.epochs: every value must be > 0", "sample 0"),
            overrides=("search_space.training.epochs={type: choice, values: [0, 1]}",)),
    BadSpec("misspelt-schedule-choice", ("search_space.training.lr_scheduler: every value must be one of 'linear'",
                                         "sample 'cosin'"),
            overrides=("search_space.training.lr_scheduler={type: choice, values: [linear, cosin]}",)),
    BadSpec("zero-eval-cadence-range", ("search_space.training.eval_every_steps: every value must be >= 1",),
            overrides=("search_space.training.eval_every_steps={type: int, low: 0, high: 6, step: 3}",)),
    BadSpec("gpu-on-a-machine-without", ("resources.use_gpu: each of a trial's 1 Train worker(s) needs 1 CPU and 1 "
                                         "GPU", "this machine", "0 GPUs"),
            overrides=("resources.use_gpu=true",), command="run", names_file=False),
    BadSpec("cpus-beyond-the-machine", ("resources.cpus_per_worker: each of a trial's 1 Train worker(s) needs 64 "
                                        "CPUs on one node", "this machine offers at most"),
            overrides=("resources.cpus_per_worker=64",), command="run", names_file=False),
    BadSpec("workers-beyond-the-machine", ("resources.workers: a trial needs 64 Train workers of 1 CPU each",
                                           "this machine fits"),
            overrides=("resources.workers=64", "training.batch_size=64", *LR_ONLY), command="run", names_file=False),
    BadSpec("storage-under-proc", ("storage.path: must be a folder sweeps can be written to, but got '/proc/x/runs'",
                                   "nothing can be written"), overrides=("storage.path=/proc/x/runs",), command="run"),
    BadSpec("storage-is-a-file", ("storage.path: must be a folder sweeps can be written to", "sweep.yaml is a file"),
            overrides=("storage.path=sweep.yaml/runs",)),
]
