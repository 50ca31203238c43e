"""The folder layout is the data path: each layer imports only the layers below it (pyproject.toml's
import-linter contract), and no module imports itself round a cycle, lazy and type-checking imports
included."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

from tests.helpers import PROJECT_ROOT

ROOT = PROJECT_ROOT
PACKAGES = ("sweeps", "trainer", "search_spaces", "cluster", "dashboard")
# The layers of the data path, bottom first (pyproject.toml's contract lists them top first).
LAYERS = ("sweeps.core", "search_spaces", "sweeps.spec", "sweeps.config", "trainer", "sweeps.run", "sweeps.results",
          "cluster", "dashboard", "sweeps.cli")


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES, include_external_packages=False, exclude_type_checking_imports=False)


def test_the_layers_contract_holds() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    completed = subprocess.run([str(lint_imports)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "1 kept, 0 broken" in completed.stdout


def test_no_two_layers_import_each_other(graph: grimp.ImportGraph) -> None:
    outside = [module for module in graph.modules if module not in ("sweeps", "sweeps.__main__")
               and not any(module == layer or module.startswith(f"{layer}.") for layer in LAYERS)]
    assert outside == [], "modules in no layer"
    both_ways = [(a, b) for a, b in itertools.combinations(LAYERS, 2)
                 if graph.direct_import_exists(importer=a, imported=b, as_packages=True)
                 and graph.direct_import_exists(importer=b, imported=a, as_packages=True)]
    assert both_ways == []


def test_no_module_is_part_of_an_import_cycle(graph: grimp.ImportGraph) -> None:
    cycles = [sorted(component) for component in _strongly_connected(graph) if len(component) > 1]
    assert cycles == []


def _strongly_connected(graph: grimp.ImportGraph) -> list[set[str]]:
    """Tarjan's components of the module import graph (a package's ``__init__`` is a module too)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components: list[set[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = set()
            while (member := stack.pop()) != module:
                component.add(member)
            components.append(component | {module})

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return components
