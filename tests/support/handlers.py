"""Load a function's ``handler.py`` as Lambda would: by file, with its folder importable."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"


def load_handler(function: str) -> ModuleType:
    """``functions/<function>/handler.py`` under its own module name (every function's file is handler.py)."""
    name = f"{function}_handler"
    if name not in sys.modules:
        folder = FUNCTIONS / function
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
        spec = importlib.util.spec_from_file_location(name, folder / "handler.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]
