"""The demo's preparation script, loaded as the module it is not (examples/ is a folder of scripts)."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from tests.helpers import PROJECT_ROOT

PREPARE_DEMO = PROJECT_ROOT / "examples" / "prepare_demo.py"


def load_prepare_demo() -> ModuleType:
    """examples/prepare_demo.py as a module: examples/ is a folder of scripts, not a package."""
    spec = importlib.util.spec_from_file_location("prepare_demo", PREPARE_DEMO)
    module = importlib.util.module_from_spec(spec)
    # @dataclass looks its module up in sys.modules while the class is being built.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
