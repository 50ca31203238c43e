"""The base of every section of a sweep file."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """Unknown keys are errors (with "did you mean", see sweeps.config.messages), assignments are validated,
    and no number may be infinite or NaN (YAML reads `.inf` and `.nan` as floats)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)
