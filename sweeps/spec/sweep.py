"""The whole sweep file: one section per concept (see the modules beside this one).

One ``SweepSpec`` flows from the YAML file to each Train worker: a trial's sampled values are applied
onto it with :meth:`SweepSpec.with_params`, which validates again, so the trainer reads typed fields only.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, ValidationInfo, field_validator

from search_spaces.space import SearchSpace
from sweeps.core.layout import SWEEP_NAME
from sweeps.spec.data import DatasetSpec, ModelSpec
from sweeps.spec.methods import METHODS, LoraSpec, MethodSpec
from sweeps.spec.resources import ResourcesSpec, StorageSpec, TrackingSpec
from sweeps.spec.search import SchedulerSpec, SearchSpec
from sweeps.spec.section import Section
from sweeps.spec.tasks import TASKS, CausalLmTaskSpec, TaskSpec
from sweeps.spec.training import TrainingSpec

# The sections that are tagged unions: section → (the key that picks the member, tag → member model).
TAGGED_SECTIONS: dict[str, tuple[str, dict[str, type[Section]]]] = {"method": ("name", METHODS),
                                                                     "task": ("type", TASKS)}


class SweepSpec(Section):
    name: str = Field(description="Sweep name: letters, digits, `-`, `_`, `.`; the sweep directory's name.")
    model: ModelSpec
    task: TaskSpec = Field(default_factory=CausalLmTaskSpec, description="What is trained, chosen by "
                           "`task.type`; each task has its own fields below and reports its own metrics "
                           "(search.metric).")
    dataset: DatasetSpec
    method: MethodSpec = Field(default_factory=LoraSpec, description="Fine-tuning method, chosen by "
                               "`method.name`; each method has its own fields below (and searchable paths). "
                               "More than 1 resources.workers (FSDP2) is supported for lora only.")
    training: TrainingSpec = Field(default_factory=TrainingSpec)
    search: SearchSpec = Field(default_factory=SearchSpec)
    search_space: SearchSpace = Field(default_factory=dict, description="Dotted spec path → distribution.")
    scheduler: SchedulerSpec = Field(default_factory=SchedulerSpec)
    resources: ResourcesSpec = Field(default_factory=ResourcesSpec)
    tracking: TrackingSpec = Field(default_factory=TrackingSpec)
    storage: StorageSpec = Field(default_factory=StorageSpec)

    @field_validator("method", "task", mode="before")
    @classmethod
    def _first_unless_tagged(cls, section: Any, info: ValidationInfo) -> Any:
        # A method without a name is LoRA and a task without a type causal_lm, as before there were others.
        tag, registry = TAGGED_SECTIONS[info.field_name]
        if isinstance(section, dict) and tag not in section:
            return {tag: next(iter(registry)), **section}
        return section

    @field_validator("name")
    @classmethod
    def _name_is_a_folder_name(cls, name: str) -> str:
        if not SWEEP_NAME.fullmatch(name):
            raise ValueError("must be 1–100 of letters, digits, `-`, `_`, `.`, starting with a letter or digit")
        return name

    def with_params(self, params: dict[str, Any]) -> SweepSpec:
        """This spec with a trial's sampled values set at their dotted paths, validated again. A sampled
        ``method.name`` other than the file's starts from that method's defaults: the file's ``method`` section
        describes its own method only (LoRA's target modules may mean nothing to IA3)."""
        data = self.model_dump()
        if params.get("method.name", self.method.name) != self.method.name:
            data["method"] = {}
        for dotted, value in params.items():
            *parents, leaf = dotted.split(".")
            section = data
            for key in parents:
                section = section[key]
            section[leaf] = value
        return SweepSpec.model_validate(data)

    @property
    def sweep_dir(self) -> str:
        """Where this sweep's results, checkpoints, study and W&B files live."""
        return f"{self.storage.path.rstrip('/')}/{self.name}"
