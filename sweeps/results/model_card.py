"""The README.md of an exported checkpoint: what it is, how it was chosen, and how to load it with plain
Hugging Face code. Hugging Face reads the YAML front matter (base_model, library_name) on the Hub."""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

import yaml

from sweeps.config.space import effective_space
from sweeps.core.values import format_value
from sweeps.results.checkpoints import KeptCheckpoint
from sweeps.results.pareto import pareto_front, trade_off
from sweeps.spec import SweepSpec
from trainer.prompts import has_chat_template

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase


def model_card(*, spec: SweepSpec, checkpoint: KeptCheckpoint, merged: bool, tokenizer: PreTrainedTokenizerBase,
               why: str, points: Sequence[dict[str, Any]] = ()) -> str:
    """Markdown with front matter: base model, method, hyperparameters, metric and value, why this checkpoint
    (``why``) and, for a sweep with objectives, which point of the Pareto front of ``points`` it is, data,
    version."""
    searched = {path: value for path, value in checkpoint.params.items() if path in effective_space(spec)}
    trial_spec = spec.with_params(searched)  # the trial's own method and base model, when those were searched
    whole_model = merged or trial_spec.method.name in ("full", "freeze")
    header = {"base_model": str(trial_spec.model.path), "library_name": "transformers" if whole_model else "peft",
              "tags": ["finesweep", trial_spec.method.name, "sft" if spec.task.type == "causal_lm" else spec.task.type]}
    parts = [f"---\n{yaml.safe_dump(header, sort_keys=False)}---",
             _summary(spec=trial_spec, checkpoint=checkpoint, merged=merged) + f"\n- exported because {why}"
             + _front_position(spec=spec, trial_id=checkpoint.trial_id, points=points),
             _hyperparameters(spec=trial_spec, params=checkpoint.params),
             _data(spec=trial_spec),
             _usage(merged=merged, tokenizer=tokenizer)]
    return "\n\n".join(parts) + "\n"


def _summary(*, spec: SweepSpec, checkpoint: KeptCheckpoint, merged: bool) -> str:
    metric, method = spec.search.metric, spec.method
    value = checkpoint.metrics.get(metric)
    if method.name in ("full", "freeze"):
        what = "the whole fine-tuned model and its tokenizer"
    elif merged:
        what = "the base model with the adapter merged into its weights (`merge_and_unload`)"
    else:
        what = "a PEFT adapter; the base model is loaded from `base_model_name_or_path` in adapter_config.json"
    return (f"# {spec.name}: trial {checkpoint.trial_id}, step {checkpoint.step}\n\n"
            f"This folder holds {what}.\n\n"
            f"- base model: `{spec.model.path}` ({spec.model.dtype})\n"
            f"- method: {method.name}{_method_settings(method)}\n"
            f"- {metric} ({spec.search.mode}imised): **{format_value(value) if value is not None else 'n/a'}** "
            f"on the eval split at step {checkpoint.step}\n"
            f"- from sweep `{spec.name}` ({spec.search.extent()}, {spec.search.algorithm} search, "
            f"{spec.scheduler.name} early stopping), checkpoint `{checkpoint.name}`\n"
            f"- made with finesweep {_finesweep_version()}")


def _front_position(*, spec: SweepSpec, trial_id: str, points: Sequence[dict[str, Any]]) -> str:
    """Which point of quality against cost this trial is, against the front's best by the first objective."""
    if not spec.search.objectives:
        return ""
    listed = ", ".join(f"{objective.metric} ({objective.mode})" for objective in spec.search.objectives)
    front = pareto_front(list(points), spec=spec)
    mine = next((point for point in points if point["trial_id"] == trial_id), None)
    if mine is None:
        return f"\n- objectives {listed}: this trial reported them not all, so it has no place on the Pareto front"
    values = ", ".join(f"{metric} {format_value(value)}" for metric, value in mine["values"].items())
    on_front = [point["trial_id"] for point in front].index(trial_id) + 1 if mine in front else None
    where = (f"point {on_front} of the {len(front)} on the sweep's Pareto front (no other trial is as good in every "
             f"objective and better in one; ordered by {spec.search.metric})" if on_front
             else "not on the sweep's Pareto front (another trial is as good in every objective and better in one)")
    line = f"\n- objectives {listed}: {values}; {where}"
    if front and front[0]["trial_id"] != trial_id:
        line += (f"; against trial {front[0]['trial_id']}, the front's best {spec.search.metric}: "
                 f"{trade_off(mine, against=front[0], spec=spec)}")
    return line


def _method_settings(method: Any) -> str:
    settings = method.model_dump(exclude={"name"})
    return (": " + ", ".join(f"{key}={format_value(value)}" for key, value in settings.items())) if settings else ""


def _hyperparameters(*, spec: SweepSpec, params: dict[str, Any]) -> str:
    lines = ["## Hyperparameters", "", "Searched (this trial's values):", "", "| parameter | value |", "|---|---|"]
    lines += [f"| {path} | {format_value(value)} |" for path, value in sorted(params.items())]
    lines += ["", "Training (as run, searched values applied):", "", "| setting | value |", "|---|---|"]
    lines += [f"| training.{key} | {value} |" for key, value in spec.training.model_dump().items()]
    return "\n".join(lines)


def _data(*, spec: SweepSpec) -> str:
    dataset = spec.dataset
    cap = f", capped at {dataset.max_eval_examples} examples" if dataset.max_eval_examples else ""
    return ("## Data\n\n"
            f"- file: `{dataset.path}` (prompt column `{dataset.prompt_column}`, response column "
            f"`{dataset.response_column}`), examples truncated to {dataset.max_length} tokens\n"
            f"- split: empty and duplicate pairs dropped, then {dataset.eval_fraction:.0%} held out for eval "
            f"(seed {dataset.seed}){cap}; {spec.search.metric} is measured on that eval split\n"
            f"- loss on the response tokens only")


def _usage(*, merged: bool, tokenizer: PreTrainedTokenizerBase) -> str:
    if has_chat_template(tokenizer):
        prompt_format = ("Prompts were given as one user turn through the tokenizer's chat template "
                         "(`apply_chat_template(..., add_generation_prompt=True)`); prompt the same way.")
        encode = ('text = tokenizer.apply_chat_template([{"role": "user", "content": "Hello"}], '
                  'add_generation_prompt=True, tokenize=False)\n'
                  'inputs = tokenizer(text, add_special_tokens=False, return_tensors="pt")')
    else:
        prompt_format = 'Prompts were given as plain text followed by a newline: `prompt + "\\n"`.'
        encode = 'inputs = tokenizer("Hello\\n", return_tensors="pt")'
    load = ("from transformers import AutoModelForCausalLM, AutoTokenizer\n\npath = \"path/to/this/folder\"\n"
            "model = AutoModelForCausalLM.from_pretrained(path)") if merged else (
            "from peft import AutoPeftModelForCausalLM\nfrom transformers import AutoTokenizer\n\n"
            "path = \"path/to/this/folder\"\nmodel = AutoPeftModelForCausalLM.from_pretrained(path)")
    return (f"## Use\n\n{prompt_format}\n\n```python\n{load}\ntokenizer = AutoTokenizer.from_pretrained(path)\n"
            f"{encode}\noutput = model.generate(**inputs, max_new_tokens=64, do_sample=False)\n"
            "print(tokenizer.decode(output[0, inputs.input_ids.shape[1]:], skip_special_tokens=True))\n```")


def _finesweep_version() -> str:
    try:
        return version("finesweep")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"
