"""The base of every section of a sweep file."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """Unknown keys are errors (with "did you mean", see sweeps.config.messages), and assignments are validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)
