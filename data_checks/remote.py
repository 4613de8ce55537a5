"""A function called by name, so a process that has not imported its module can send it to one
that has: the run's process hands GX work to a GX worker without importing GX itself."""

import importlib
from typing import Any


def call(module: str, name: str, *args: Any) -> Any:
    """`module.name(*args)`, the module imported here (in the worker) if it is not yet."""
    return getattr(importlib.import_module(module), name)(*args)


def load(module: str) -> None:
    """A worker's start: import the module before the first call needs it."""
    importlib.import_module(module)
