"""The DuckDB screen of a GX suite agrees with GX: it passes exactly what GX passes, with GX's result.

Small frames, each with one kind of trouble (NULL, NaN, duplicate, out of range, out of set,
pairs out of order, a missing column), validated by GX's pandas engine and screened by DuckDB.
A suite the screen passes must be one GX passes, with the same result field for field; a suite
GX fails must never be screened as passing (its check would then not block).
"""

import json

import duckdb
import great_expectations as gx
import great_expectations.expectations as gxe
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from data_checks.gx_worker import validate_partition
from data_checks.screen import screen

SUITE = [
    gxe.ExpectColumnValuesToNotBeNull(column="id"),
    gxe.ExpectColumnValuesToBeNull(column="flag"),
    gxe.ExpectColumnValuesToBeInSet(column="kind", value_set=["a", "b"]),
    gxe.ExpectColumnValuesToBeUnique(column="id"),
    gxe.ExpectCompoundColumnsToBeUnique(column_list=["kind", "n"]),
    gxe.ExpectColumnValuesToBeBetween(column="x", min_value=0, strict_min=True),
    gxe.ExpectColumnValuesToBeBetween(column="share", min_value=0, max_value=1),
    gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="n", column_B="m", or_equal=True,
                                                ignore_row_if="either_value_is_missing"),
    gxe.ExpectColumnToExist(column="x"),
]

CLEAN = {"id": ["t1", "t2", "t3", "t4"], "flag": [None] * 4, "kind": ["a", "b", None, "a"],
         "n": [3, 2, None, 5], "m": [1, 2, 7, None], "x": [0.5, 1.0, None, 2.0],
         "share": [0.0, 1.0, 0.5, None]}

# name -> (column, values) replacing CLEAN's column; expected: does GX pass the suite?
CASES = {
    "clean": ({}, True),
    "a null id": ({"id": ["t1", None, "t3", None]}, False),
    "a flag set": ({"flag": [None, "file.csv: row 2", None, None]}, False),
    "an unknown kind": ({"kind": ["a", "c", None, "a"]}, False),
    "a duplicate id": ({"id": ["t1", "t1", "t3", "t4"]}, False),
    "a duplicate pair": ({"kind": ["a", "a", None, "b"], "n": [3, 3, None, 5], "m": [1, 1, 7, None]},
                         False),
    "x zero (strict minimum)": ({"x": [0.0, 1.0, None, 2.0]}, False),
    "x NaN is missing": ({"x": [np.nan, 1.0, None, 2.0]}, True),
    "share above one": ({"share": [0.0, 1.5, 0.5, None]}, False),
    "pair out of order": ({"n": [3, 1, None, 5]}, False),
    "no rows": ("empty", True),
}


def _frame(case: str) -> pd.DataFrame:
    change, _ = CASES[case]
    data = {**CLEAN, **(change if change != "empty" else {})}
    frame = pd.DataFrame({k: pd.array(v, dtype="Int64") if k in ("n", "m") else v
                          for k, v in data.items()})
    return frame.iloc[0:0] if change == "empty" else frame


def _comparable(result_json: str) -> list:
    result = json.loads(result_json)
    out = sorted(json.dumps(r, sort_keys=True) for r in result["results"])
    return [result["success"], result["statistics"], out]


@pytest.mark.parametrize("case", CASES)
def test_the_screen_passes_what_gx_passes_with_gx_result(case):
    frame = _frame(case)
    suite = gx.ExpectationSuite(name="screened", expectations=SUITE)
    suite_json = json.dumps(suite.to_json_dict(), default=str)
    by_gx = validate_partition(frame, suite_json, "t")
    assert by_gx.success is CASES[case][1], by_gx.failed
    with duckdb.connect() as con:
        con.register("t", pa.Table.from_pandas(frame, preserve_index=False))
        rows, outcome = screen(con, "SELECT * FROM t", {}, suite, "t")
    assert rows == len(frame)
    if not by_gx.success:
        assert outcome is None, "GX fails the suite: the screen must hand it to GX"
        return
    assert outcome is not None, "a clean partition needs no GX validation"
    assert _comparable(outcome.result_json) == _comparable(by_gx.result_json)


def test_a_missing_column_and_an_untranslated_expectation_go_to_gx():
    with duckdb.connect() as con:
        source = "SELECT 1 AS x, 'a' AS kind"
        missing = gx.ExpectationSuite(name="s", expectations=[gxe.ExpectColumnToExist(column="y")])
        assert screen(con, source, {}, missing, "t") == (1, None)
        regex = gx.ExpectationSuite(name="s", expectations=[
            gxe.ExpectColumnValuesToMatchRegex(column="kind", regex="^a$")])
        assert screen(con, source, {}, regex, "t") == (1, None)
        mostly = gx.ExpectationSuite(name="s", expectations=[
            gxe.ExpectColumnValuesToNotBeNull(column="x", mostly=0.5)])
        assert screen(con, source, {}, mostly, "t") == (1, None)
