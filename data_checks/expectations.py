"""GX expectation suites as data: what a check step needs without importing great-expectations.

A suite is a name and a list of expectations, each GX's expectation type and the arguments it was
given. `Suite.to_json_dict()` is the JSON GX's own `ExpectationSuite.to_json_dict()` gives for the
same suite (a test compares the two on every suite), so the suites GX stores, loads and renders
are unchanged; GX reads that JSON where it validates a failing partition and renders Data Docs.
Importing GX costs about 4 s of CPU per process, and a run whose partitions all pass the DuckDB
screen (`data_checks.screen`) no longer needs it to check them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import version
from typing import Any


@cache
def gx_version() -> str:
    """The installed great-expectations' version (GX writes it in every suite and result)."""
    return version("great_expectations")


@dataclass(frozen=True)
class Expectation:
    """One GX expectation: its type (GX's snake-case name) and the arguments it was given."""

    type: str
    kwargs: dict[str, Any] = field(default_factory=dict)

    def to_json_dict(self) -> dict:
        """GX's `ExpectationConfiguration.to_json_dict()` of the same expectation."""
        return {"type": self.type, "kwargs": dict(self.kwargs), "meta": {}, "severity": "critical"}


@dataclass(frozen=True)
class Suite:
    """A GX ExpectationSuite as data: its name (the check's) and its expectations."""

    name: str
    expectations: list[Expectation]

    def to_json_dict(self) -> dict:
        """GX's `ExpectationSuite.to_json_dict()` of the same suite (never saved: no id)."""
        return {"name": self.name, "id": None,
                "expectations": [e.to_json_dict() for e in self.expectations],
                "meta": {"great_expectations_version": gx_version()}, "notes": None}


# GX's models coerce these arguments: a bound is a float, a set and a column list are lists.
_FLOATS = ("min_value", "max_value")
_LISTS = ("value_set", "column_list")


def _kind(type_name: str) -> Callable[..., Expectation]:
    """A constructor named and called like GX's class: the arguments as GX keeps them (None is
    left out, as GX leaves an unset argument out of its JSON)."""

    def make(**kwargs: Any) -> Expectation:
        kept = {}
        for key, value in kwargs.items():
            if value is None:
                continue
            if key in _FLOATS and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if key in _LISTS:
                value = list(value)
            kept[key] = value
        return Expectation(type_name, kept)

    return make


ExpectColumnToExist = _kind("expect_column_to_exist")
ExpectColumnValuesToNotBeNull = _kind("expect_column_values_to_not_be_null")
ExpectColumnValuesToBeNull = _kind("expect_column_values_to_be_null")
ExpectColumnValuesToBeInSet = _kind("expect_column_values_to_be_in_set")
ExpectColumnValuesToBeUnique = _kind("expect_column_values_to_be_unique")
ExpectColumnValuesToBeBetween = _kind("expect_column_values_to_be_between")
ExpectCompoundColumnsToBeUnique = _kind("expect_compound_columns_to_be_unique")
ExpectColumnPairValuesAToBeGreaterThanB = _kind("expect_column_pair_values_a_to_be_greater_than_b")
ExpectColumnValuesToMatchRegex = _kind("expect_column_values_to_match_regex")
