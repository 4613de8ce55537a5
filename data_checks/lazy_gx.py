"""great-expectations, imported on first use rather than when the code location loads.

Importing GX costs about 5 s of wall time and 4 s of CPU (scipy, altair, its expectation
registry). Loading the Definitions only declares the checks: the suites are built when a check
step runs (`CheckSpec.expectations(policy)`), so every process that loads the code location without
running a suite (the CLI's other commands, the UI, sensors, the tests that only read the
Definitions, a publishing run) need not pay it. `tests/test_startup.py` keeps it so.
"""

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    """A module's attributes, the module imported at the first attribute read."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attr)


gx = LazyModule("great_expectations")
gxe = LazyModule("great_expectations.expectations")
gx_results = LazyModule("great_expectations.core.expectation_validation_result")
