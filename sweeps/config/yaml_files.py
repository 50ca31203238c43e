"""YAML as finesweep reads it: sweep files, override values, the spec saved in a sweep directory.

PyYAML's safe loader (no Python objects), guarded against what a file from anyone can hold: aliases that
expand a few hundred bytes into billions of values (an "alias bomb"), tags asking for Python objects or
custom types, and duplicate keys, which YAML resolves by silently keeping the last. Every duplicate is
reported at once; the other faults stop the reading at their line.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from sweeps.core.errors import SpecError

# Values (scalars, lists, mappings) after every alias is expanded. A sweep file holds a few hundred; a
# 335-byte alias bomb holds billions, and would take gigabytes once anything walks it.
MAX_EXPANDED_VALUES = 100_000
_STANDARD_TAG = "tag:yaml.org,2002:"


class YamlFault(yaml.YAMLError):
    """A document PyYAML can read but finesweep refuses: too large once expanded, or a forbidden tag."""

    def __init__(self, problem: str, node: Node):
        self.problem, self.line, self.column = problem, node.start_mark.line + 1, node.start_mark.column + 1
        super().__init__(f"{problem} at line {self.line}, column {self.column}")


class DuplicateKeys(yaml.YAMLError):
    """Every key a document gives twice in one mapping, one sentence each."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


class _Loader(yaml.SafeLoader):
    """The safe loader, with ``1e-4`` a float as in YAML 1.2 (YAML 1.1 reads it as a string unless written
    ``1.0e-4``: a learning rate in an initial point or a choice must not silently become text)."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self.duplicates: list[str] = []

    def get_single_node(self) -> Node | None:
        node = super().get_single_node()
        if node is not None:
            _expanded_size(node, sizes={}, open_nodes=set())
        return node

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        first_line: dict[Any, int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag == f"{_STANDARD_TAG}merge":
                continue
            key, line = self.construct_object(key_node), key_node.start_mark.line + 1
            if key in first_line:
                self.duplicates.append(f"duplicate key {key!r} at line {line} (first at line {first_line[key]}): "
                                       f"YAML would keep only the last one; give each key once")
            first_line.setdefault(key, line)
        return super().construct_mapping(node, deep=deep)


def _refuse_tag(loader: _Loader, node: Node) -> None:
    tag = node.tag.replace(_STANDARD_TAG, "!!")
    raise YamlFault(f"the tag {tag} is not allowed (a sweep file holds plain values: no Python objects or "
                    f"custom types)", node)


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"), list("-+0123456789")
)
_Loader.add_constructor(None, _refuse_tag)


def _expanded_size(node: Node, *, sizes: dict[int, int], open_nodes: set[int]) -> int:
    """How many values ``node`` holds once its aliases are expanded (each shared node counted once per use,
    computed once); raises :class:`YamlFault` past :data:`MAX_EXPANDED_VALUES` or for an alias to itself."""
    if id(node) in sizes:
        return sizes[id(node)]
    if id(node) in open_nodes:
        raise YamlFault("an alias refers to the node that contains it (a recursive document)", node)
    open_nodes.add(id(node))
    children: list[Node] = []
    if isinstance(node, SequenceNode):
        children = node.value
    elif isinstance(node, MappingNode):
        children = [part for pair in node.value for part in pair]
    size = 1 + sum(_expanded_size(child, sizes=sizes, open_nodes=open_nodes) for child in children)
    if size > MAX_EXPANDED_VALUES:
        raise YamlFault(f"its aliases (*name) expand to more than {MAX_EXPANDED_VALUES:,} values, which no sweep "
                        f"needs (an alias bomb?); write the values out", node)
    open_nodes.discard(id(node))
    sizes[id(node)] = size
    return size


def parse_yaml(text: str) -> Any:
    """The value of the YAML document ``text``. Raises ``yaml.YAMLError`` (see :func:`yaml_problem`) and
    :class:`DuplicateKeys`."""
    loader = _Loader(text)
    try:
        value = loader.get_single_data()
    except RecursionError:
        raise yaml.YAMLError("nested too deeply to read") from None
    finally:
        loader.dispose()
    if loader.duplicates:
        raise DuplicateKeys(loader.duplicates)
    return value


def yaml_problem(error: yaml.YAMLError) -> str:
    """One line saying what is wrong with a document and where (PyYAML's own text spans several lines and
    names the stream "<unicode string>", not the file)."""
    if not isinstance(error, yaml.MarkedYAMLError) or error.problem_mark is None:
        return str(error).replace("\n", " ")
    mark = error.problem_mark
    where = f"{error.problem} at line {mark.line + 1}, column {mark.column + 1}"
    if error.context and error.context_mark is not None:
        where += f" ({error.context} from line {error.context_mark.line + 1}, column {error.context_mark.column + 1})"
    return where


def read_yaml_mapping(path: Path, *, what: str = "a mapping of sections (name:, model:, dataset:, ...)"
                      ) -> dict[str, Any]:
    """The mapping the YAML file at ``path`` holds; anything else, or a file that cannot be read or parsed,
    raises :class:`SpecError` naming the file, the line and the problem."""
    try:
        raw = parse_yaml(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError(str(path), ["file not found"]) from None
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise SpecError(str(path), [f"cannot be read: {reason}"]) from None
    except DuplicateKeys as error:
        raise SpecError(str(path), error.problems) from None
    except YamlFault as error:
        raise SpecError(str(path), [f"refused: {error}"]) from None
    except yaml.YAMLError as error:
        raise SpecError(str(path), [f"not valid YAML: {yaml_problem(error)}"]) from None
    if not isinstance(raw, dict):
        got = "an empty file" if raw is None else f"a {type(raw).__name__}"
        raise SpecError(str(path), [f"must be {what}, but got {got}"])
    return raw
