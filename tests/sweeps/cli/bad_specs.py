"""Bad sweep files and overrides, each with the words its error message must hold: the field, the offending
value (where there is one) and what is allowed. ``test_cli.py`` runs each through the real CLI."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DELETE = object()  # an edit value: remove the key


@dataclass(frozen=True)
class BadSpec:
    """The valid tiny sweep with ``edits`` (``section.key`` → value; a search-space parameter is
    ``search_space.<name>``) or replaced by ``text``, run as ``finesweep <command> <spec> <overrides>``."""

    id: str
    expected: tuple[str, ...]
    edits: dict[str, Any] = field(default_factory=dict)
    overrides: tuple[str, ...] = ()
    text: str | bytes | None = None
    spec: str = "sweep.yaml"
    command: str = "validate"
    names_file: bool = True  # the message starts with the sweep file (not so for what the machine lacks)

    def apply(self, raw: dict[str, Any]) -> None:
        for dotted, value in self.edits.items():
            head, _, rest = dotted.partition(".")
            keys = [head, rest] if head == "search_space" and rest else dotted.split(".")
            section = raw
            for key in keys[:-1]:
                section = section.setdefault(key, {})
            if value is DELETE:
                del section[keys[-1]]
            else:
                section[keys[-1]] = value


def _loguniform(low: float, high: float) -> dict[str, Any]:
    return {"type": "loguniform", "low": low, "high": high}


BAD_SPECS = [
    # Keys and types
    BadSpec("unknown-top-level-key", ("trainig: unknown key", "did you mean 'training'?", "allowed: dataset,"),
            edits={"trainig": {"epochs": 2}}, command="run"),
    BadSpec("unknown-nested-key", ("training.learnig_rate: unknown key", "did you mean 'learning_rate'?"),
            edits={"training.learnig_rate": 1e-3}),
    BadSpec("wrong-type", ("training.batch_size: must be an integer", "but got 'eight'"),
            edits={"training.batch_size": "eight"}),
    BadSpec("fraction-out-of-range", ("dataset.eval_fraction: must be < 1", "but got 1.5"),
            edits={"dataset.eval_fraction": 1.5}, command="run"),
    BadSpec("negative-learning-rate", ("training.learning_rate: must be > 0", "but got -1"),
            edits={"training.learning_rate": -1}),
    BadSpec("zero-lora-rank", ("method.r: must be >= 1", "but got 0"), edits={"method.r": 0}),
    BadSpec("bad-name", ("name: must be 1–100 of letters, digits", "but got 'my sweep/1'"),
            edits={"name": "my sweep/1"}, command="run"),
    BadSpec("missing-model", ("model: required section is missing", "give at least model.path"),
            edits={"model": DELETE}),
    BadSpec("unknown-scheduler", ("scheduler.name: must be one of 'asha', 'curve', 'median' or 'none'",
                                  "but got 'hyperband'"),
            edits={"scheduler.name": "hyperband"}),
    BadSpec("misspelled-lr-schedule", ("training.lr_scheduler: must be one of 'linear'", "but got 'cosin'",
                                       "did you mean 'cosine'?"), edits={"training.lr_scheduler": "cosin"}),
    BadSpec("target-modules-not-a-list", ("method.target_modules: must be a list or 'all-linear'", "but got 5"),
            edits={"method.target_modules": 5}),
    BadSpec("section-not-a-mapping", ("training: must be a mapping of keys", "but got 5"), edits={"training": 5}),
    # Methods
    BadSpec("unknown-method", ("method.name: must be one of 'lora', 'qlora', 'adalora'", "but got 'qlor'",
                               "did you mean 'qlora'?"), edits={"method.name": "qlor"}),
    # This machine has no CUDA GPU; on one with CUDA and bitsandbytes this spec would be valid.
    BadSpec("qlora-without-cuda", ("method.name: 'qlora' needs a CUDA GPU and bitsandbytes", "but got 'qlora'",
                                   "no CUDA GPU"),
            edits={"method.name": "qlora", "resources.use_gpu": True}, command="run"),
    BadSpec("field-of-another-method", ("method.r: unknown key; method.r is a field of method.name lora, qlora, "
                                        "not of 'ia3'", "allowed: feedforward_modules, name, target_modules"),
            edits={"method": {"name": "ia3", "r": 4}}),
    BadSpec("searched-field-of-another-method", ("search_space.method.alpha: must be a searchable spec path",
                                                 "method.alpha is a field of method.name lora, qlora, adalora, "
                                                 "not of 'freeze'"),
            edits={"method": {"name": "freeze", "k": 1}}),
    BadSpec("adalora-target-above-init", ("method.target_r: `target_r <= init_r` must hold",
                                          "(target_r=8, init_r=4)"),
            edits={"method": {"name": "adalora", "init_r": 4}}),
    BadSpec("full-on-two-workers", ("resources.workers: more than 1 worker (FSDP2 sharding) is supported for "
                                    "method.name 'lora' only", "but got 2 with method.name='full'"),
            edits={"method": {"name": "full"}, "resources.workers": 2, "search.initial_points": [],
                   "search_space": {"training.learning_rate": _loguniform(1e-5, 1e-3)}}, command="run"),
    BadSpec("misspelled-optimizer", ("training.optimizer: must be one of 'adamw' or 'sgd'", "but got 'adam'",
                                     "did you mean 'adamw'?"), edits={"training.optimizer": "adam"}),
    # Files
    BadSpec("model-without-config", ("model.path: must be a Hugging Face model directory (with config.json)",
                                     "no-model-here', which does not exist"), edits={"model.path": "no-model-here"},
            command="run"),
    BadSpec("missing-data-file", ("dataset.path: must be an existing data file (.jsonl, .json, .csv, .parquet)",
                                  "missing.jsonl', which does not exist"), edits={"dataset.path": "missing.jsonl"}),
    BadSpec("bad-data-suffix", ("dataset.path: must end in .jsonl, .json, .csv, .parquet", "but got 'sweep.yaml'"),
            edits={"dataset.path": "sweep.yaml"}),
    BadSpec("missing-sweep-file", ("missing.yaml: file not found",), spec="missing.yaml", command="run"),
    BadSpec("sweep-file-is-a-folder", ("cannot be read: Is a directory",), spec="."),
    BadSpec("sweep-file-not-utf8", ("cannot be read: not UTF-8 text",), text=b"name: tiny\xff\n"),
    BadSpec("invalid-yaml", ("not valid YAML: expected ',' or ']'", "line 3", "flow sequence from line 2"),
            text="name: tiny\nmodel: [unclosed\n"),
    BadSpec("spec-is-a-list", ("must be a mapping of sections (name:, model:, dataset:, ...)", "but got a list"),
            text="- name: tiny\n"),
    BadSpec("empty-spec", ("must be a mapping of sections", "but got an empty file"), text=""),
    # Tasks
    BadSpec("unknown-task-type", ("task.type: must be one of 'causal_lm', 'classification'", "but got 'clasification'",
                                  "did you mean 'classification'?"), edits={"task": {"type": "clasification"}}),
    BadSpec("classification-mode-contradicts-metric", ("search.mode: must be 'max' for accuracy", "but got 'min'"),
            edits={"task": {"type": "classification", "text_column": "prompt", "label_column": "response"},
                   "search.metric": "accuracy"}),
    BadSpec("classification-label-column-missing", ("task.label_column: must name a column of qa.jsonl",
                                                    "but got 'topic'"),
            edits={"task": {"type": "classification", "text_column": "prompt", "label_column": "topic"}}),
    BadSpec("classification-with-prefix-tuning", ("method.name: must be 'lora', 'adalora', 'ia3'",
                                                  "for task.type 'classification', but got 'prefix_tuning'"),
            edits={"task": {"type": "classification", "text_column": "prompt", "label_column": "response"},
                   "method": {"name": "prefix_tuning"}, "search.initial_points": [],
                   "search_space": {"training.learning_rate": _loguniform(1e-5, 1e-3)}}),
    # Cross checks
    BadSpec("metric-not-reported", ("search.metric: must be a metric the causal_lm task reports",
                                    "(eval_loss or perplexity or rouge_l)", "but got 'accuracy'"),
            edits={"search.metric": "accuracy"}),
    BadSpec("mode-contradicts-metric", ("search.mode: must be 'min' for eval_loss", "but got 'max'"),
            edits={"search.mode": "max"}),
    BadSpec("grace-period-after-max-t", ("scheduler.grace_period: `grace_period <= max_t` must hold",
                                         "grace_period=5.0, max_t=2.0"),
            edits={"scheduler.grace_period": 5, "scheduler.max_t": 2, "scheduler.time_unit": "reports"}),
    # Search space
    BadSpec("loguniform-low-zero", ("search_space.training.learning_rate: `low > 0` must hold", "low=0.0",
                                    "use uniform instead"),
            edits={"search_space.training.learning_rate": _loguniform(0, 1e-3)}),
    BadSpec("low-not-below-high", ("search_space.training.weight_decay: `low < high` must hold",
                                   "low=0.1, high=0.1"),
            edits={"search_space.training.weight_decay": {"type": "uniform", "low": 0.1, "high": 0.1}}),
    BadSpec("int-log-below-one", ("search_space.training.eval_every_steps: log=true needs `low >= 1`", "low=0"),
            edits={"search_space.training.eval_every_steps": {"type": "int", "low": 0, "high": 8, "log": True}}),
    BadSpec("empty-choice", ("search_space.training.batch_size.values: must be a list of at least 1 item",
                             "but got []"),
            edits={"search_space.training.batch_size": {"type": "choice", "values": []}}),
    BadSpec("tied-to-unknown-param", ("search_space.method.alpha: `to` must name another searched numeric "
                                      "parameter, but got 'method.rank'", "searched: method.r,"),
            edits={"search_space.method.alpha": {"type": "tied", "to": "method.rank", "factors": [1, 2]}}),
    BadSpec("tied-to-text-param", ("search_space.method.alpha: `to` must name another searched numeric parameter",
                                   "'training.lr_scheduler' takes one of ['linear', 'cosine']"),
            edits={"search_space.training.lr_scheduler": {"type": "choice", "values": ["linear", "cosine"]},
                   "search_space.method.alpha": {"type": "tied", "to": "training.lr_scheduler", "factors": [1]}}),
    BadSpec("float-distribution-on-int-field", ("search_space.method.r: an integer field takes int, choice or tied",
                                                "but got uniform"),
            edits={"search_space.method.r": {"type": "uniform", "low": 2, "high": 8}}),
    BadSpec("unknown-search-path", ("search_space.training.learnign_rate: must be a searchable spec path",
                                    "'training.learnign_rate'", "did you mean 'training.learning_rate'?"),
            edits={"search_space.training.learnign_rate": _loguniform(1e-5, 1e-3)}),
    BadSpec("unknown-distribution-type", ("search_space.training.learning_rate.type: must be one of 'loguniform'",
                                          "but got 'logunif'", "did you mean 'loguniform'?"),
            edits={"search_space.training.learning_rate": {"type": "logunif", "low": 1e-5, "high": 1e-3}}),
    BadSpec("misspelled-distribution-key", ("search_space.training.learning_rate.hgh: unknown key",
                                            "did you mean 'high'?", "allowed: high, low, prior, type"),
            edits={"search_space.training.learning_rate": {"type": "loguniform", "low": 1e-5, "hgh": 1e-3}}),
    BadSpec("unknown-preset", ("search.preset: preset must be one of lora-small, lora-wide", "but got 'lora-smal'",
                               "did you mean 'lora-small'?"), edits={"search.preset": "lora-smal"}),
    BadSpec("grid-with-loguniform", ("search.algorithm: grid search needs finite parameters (choice, int, tied",
                                     "continuous: training.learning_rate"),
            edits={"search.algorithm": "grid", "search.initial_points": []}),
    BadSpec("empty-search-space", ("search_space: empty; give at least one parameter or a search.preset",),
            edits={"search_space": {}}, command="run"),
    BadSpec("initial-point-out-of-range", ("search.initial_points.0.training.learning_rate: must be a number in "
                                           "[1e-06, 0.03]", "but got 5.0"),
            edits={"search.initial_points": [{"training.learning_rate": 5.0}]}),
    BadSpec("initial-point-unknown-key", ("search.initial_points.0.method.rank: must be a searched parameter",
                                          "did you mean 'method.r'?"),
            edits={"search.initial_points": [{"method.rank": 4}]}),
    BadSpec("dedupe-misspelled", ("dataset.dedupe: must be one of 'exact', 'normalized' or 'none'",
                                  "but got 'normalised'", "did you mean 'normalized'?"),
            edits={"dataset.dedupe": "normalised"}),
    BadSpec("length-bounds-crossed", ("dataset.max_chars: `min_chars <= max_chars` must hold",
                                      "(min_chars=50, max_chars=10)"),
            edits={"dataset.min_chars": 50, "dataset.max_chars": 10}),
    BadSpec("rouge-metric-without-samples", ("task.rouge_samples: search.metric 'rouge_l' needs generations",
                                             "`rouge_samples >= 1` must hold, but got 0"),
            edits={"search.metric": "rouge_l", "search.mode": "max"}),
    BadSpec("rouge-under-fsdp", ("task.rouge_samples: generating under FSDP is not supported",
                                 "but got 2 workers"),
            edits={"task.rouge_samples": 4, "resources.workers": 2}),
    # Budgets and objectives (search.budget, search.objectives)
    BadSpec("budget-in-two-units", ("search.budget: give exactly one of gpu_hours, cpu_hours, train_tokens",
                                    "but got cpu_hours, train_tokens"),
            edits={"search.budget": {"cpu_hours": 1, "train_tokens": 1000}}),
    BadSpec("gpu-budget-without-gpus", ("search.budget.gpu_hours: the trials hold no GPU (resources.use_gpu is false)",
                                        "but got gpu_hours=2", "use cpu_hours"),
            edits={"search.budget": {"gpu_hours": 2}}, command="run"),
    BadSpec("one-objective", ("search.objectives: give two or more (a quality and a cost), but got 1",),
            edits={"search.objectives": [{"metric": "eval_loss", "mode": "min"}]}),
    BadSpec("objective-misspelt", ("search.objectives.1.metric: must be one of eval_loss", "train_tokens",
                                   "but got 'train_tokns'", "did you mean 'train_tokens'?"),
            edits={"search.objectives": [{"metric": "eval_loss", "mode": "min"},
                                         {"metric": "train_tokns", "mode": "min"}]}),
    BadSpec("cost-objective-maximised", ("search.objectives.1.mode: must be 'min' for trainable_params",
                                         "but got 'max'"),
            edits={"search.objectives": [{"metric": "eval_loss", "mode": "min"},
                                         {"metric": "trainable_params", "mode": "max"}]}),
    BadSpec("objectives-with-warm-start", ("search.warm_start: past trials carry one value each, which a study of 2 "
                                           "objectives cannot take", "drop warm_start or search.objectives"),
            edits={"search.objectives": [{"metric": "eval_loss", "mode": "min"},
                                         {"metric": "train_tokens", "mode": "min"}], "search.warm_start": ["old"]}),
    BadSpec("nsga2-without-objectives", ("search.algorithm: nsga2 is a multi-objective sampler", "but got none"),
            edits={"search.algorithm": "nsga2"}),
    # Which method, which base model: searched choices and conditional spaces
    BadSpec("searched-method-unknown", ("search_space.method.name: every value must be one of lora, qlora",
                                        "but got 'ia4'"),
            edits={"search_space.method.name": {"type": "choice", "values": ["lora", "ia4"]}}),
    BadSpec("condition-picks-a-method-without-the-field", ("search_space.method.r.when: method.name 'ia3' has no "
                                                           "field 'r'", "keep only methods that have it"),
            edits={"search_space.method.name": {"type": "choice", "values": ["lora", "ia3"]},
                   "search_space.method.r": {"type": "choice", "values": [2, 4],
                                             "when": {"method.name": ["lora", "ia3"]}}}),
    BadSpec("condition-on-a-non-choice", ("search_space.method.r.when: must name a `choice` parameter given before "
                                          "this one", "but got 'training.learning_rate'"),
            edits={"search_space.method.r": {"type": "choice", "values": [2, 4],
                                             "when": {"training.learning_rate": [0.001]}}}),
    BadSpec("searched-model-missing", ("search_space.model.path: must be a Hugging Face model directory",
                                       "nowhere'"),
            edits={"search_space.model.path": {"type": "choice", "values": ["nowhere"]}}, command="run"),
    BadSpec("grid-over-a-conditional-space", ("search.algorithm: grid search needs every parameter in every trial",
                                              "conditional (when): method.r, method.alpha"),
            edits={"search.algorithm": "grid", "search.initial_points": [],
                   "search_space.training.learning_rate": {"type": "choice", "values": [1e-3]},
                   "search_space.method.name": {"type": "choice", "values": ["lora", "ia3"]}}),
    # Overrides on the command line
    BadSpec("override-without-value", ("override 'search.num_trials': expected KEY=VALUE",),
            overrides=("search.num_trials",), command="run"),
    BadSpec("override-of-unknown-key", ("search.num_trails: unknown key", "did you mean 'num_trials'?"),
            overrides=("search.num_trails=8",)),
    BadSpec("override-out-of-range", ("search.num_trials: must be >= 1", "but got 0"),
            overrides=("search.num_trials=0",), command="run"),
    BadSpec("override-invalid-yaml", ("override 'method.target_modules=[q_proj': value is not valid YAML",),
            overrides=("method.target_modules=[q_proj",)),
    BadSpec("override-of-search-param", ("search_space.training.learning_rate: `low < high` must hold",
                                         "low=0.01, high=0.001"),
            overrides=("search_space.training.learning_rate.low=1e-2", "search_space.training.learning_rate.high=1e-3",
                       "search.initial_points=[]")),
]
