"""Declarative search spaces: YAML distributions, their translation to Optuna, named presets."""

from search_spaces.presets import PRESET_HELP, PRESETS, preset_space
from search_spaces.space import Choice, IntRange, LogUniform, ParamSpec, SearchSpace, Tied, Uniform

__all__ = [
    "PRESETS",
    "PRESET_HELP",
    "Choice",
    "IntRange",
    "LogUniform",
    "ParamSpec",
    "SearchSpace",
    "Tied",
    "Uniform",
    "preset_space",
]
