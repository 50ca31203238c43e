"""The typed sweep spec: one section per concept, each field's help text its documentation.

One :class:`SweepSpec` flows from the YAML file to each Train worker; the trainer reads typed fields only.
"""

from sweeps.spec.data import DatasetSpec, ModelSpec
from sweeps.spec.methods import METHODS, LoraSpec, MethodSpec
from sweeps.spec.search import SchedulerSpec, SearchSpec
from sweeps.spec.sweep import TAGGED_SECTIONS, SweepSpec
from sweeps.spec.tasks import TASKS, CausalLmTaskSpec, ClassificationTaskSpec, DpoTaskSpec, TaskSpec
from sweeps.spec.training import TrainingSpec

__all__ = [
    "METHODS",
    "TAGGED_SECTIONS",
    "TASKS",
    "CausalLmTaskSpec",
    "ClassificationTaskSpec",
    "DatasetSpec",
    "DpoTaskSpec",
    "LoraSpec",
    "MethodSpec",
    "ModelSpec",
    "SchedulerSpec",
    "SearchSpec",
    "SweepSpec",
    "TaskSpec",
    "TrainingSpec",
]
