"""What a sweep trains on: the base model's folder and the data file, with how the data is cleaned and split."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from sweeps.spec.section import Section


class ModelSpec(Section):
    path: Path = Field(description="Local Hugging Face model directory (config.json + weights), loaded with "
                       "`from_pretrained`. Relative paths are relative to the sweep file.")
    dtype: Literal["float32", "bfloat16", "float16"] = Field(
        default="float32", description="Weights dtype. float32 on CPU; bfloat16 on recent GPUs halves memory.")



class DatasetSpec(Section):
    path: Path = Field(description="Local data file (.jsonl, .json, .csv or .parquet). Relative to the sweep file.")
    prompt_column: str = Field(default="prompt", description="Column holding the prompt / instruction.")
    response_column: str = Field(default="response", description="Column holding the target response.")
    eval_fraction: float = Field(default=0.2, gt=0, lt=1,
                                 description="Share held out for evaluation (0.2 = the usual 80/20 split).")
    seed: int = Field(default=0, description="Seed of the train/eval split; same seed, same split.")
    max_length: int = Field(default=256, ge=8, description="Tokens per example after truncation "
                            "(prompt + response). Cost grows linearly; 64–512 for chat data.")
    max_eval_examples: int | None = Field(default=None, ge=1, description="Cap on eval examples, to keep "
                                          "frequent evaluations cheap (None = the whole eval split).")
    dedupe: Literal["exact", "normalized", "none"] = Field(
        default="exact", description="Duplicate rows dropped before the split, so none is in both: `exact` "
        "(same text after stripping), `normalized` (also equal ignoring case, punctuation and spacing: catches "
        "scraped near-copies), or `none`.")
    min_chars: int = Field(default=1, ge=1, description="Shortest field kept, in characters after stripping; "
                           "5–10 drops 'ok'-style rows that teach little.")
    max_chars: int | None = Field(default=None, ge=1, description="Longest field kept, "
                                  "in characters (None = no bound). Rows over max_length tokens are cut anyway; "
                                  "this drops outliers instead of training on their first part.")

    @field_validator("max_chars")
    @classmethod
    def _max_above_min(cls, max_chars: int | None, info: ValidationInfo) -> int | None:
        min_chars = info.data.get("min_chars")
        if max_chars is not None and min_chars is not None and max_chars < min_chars:
            raise ValueError(f"`min_chars <= max_chars` must hold, but got (min_chars={min_chars}, "
                             f"max_chars={max_chars})")
        return max_chars
