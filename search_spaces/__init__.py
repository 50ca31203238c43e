"""Declarative search spaces: YAML distributions, their translation to Optuna, named presets."""

from search_spaces.space import Choice, IntRange, LogUniform, ParamSpec, SearchSpace, Tied, Uniform

__all__ = ["Choice", "IntRange", "LogUniform", "ParamSpec", "SearchSpace", "Tied", "Uniform"]
