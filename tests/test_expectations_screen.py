"""The DuckDB screen of a GX suite agrees with GX: it passes exactly what GX passes, with GX's result.

Small frames, each with one kind of trouble (NULL, NaN, duplicate, out of range, out of set,
pairs out of order, a missing column), validated by GX's pandas engine and screened by DuckDB.
A suite the screen passes must be one GX passes, with the same result field for field; a suite
GX fails must never be screened as passing (its check would then not block). The suites are data
(`data_checks.expectations`) whose JSON is GX's own for the same suite.
"""

import json
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from data_checks import expectations as ex
from data_checks.checks import SPECS
from data_checks.expectations import Suite
from data_checks.screen import screen, screen_months
from policy.config import default_policy

if TYPE_CHECKING:
    from great_expectations import ExpectationSuite

# GX (and data_checks.gx_worker, which imports it) costs about 3.5 s of CPU to import: imported in
# the tests that call it, not at collection, so only the worker that runs them pays, and it is
# test_expectations' worker, whose screened-results test imports it too (`--dist loadgroup`).
pytestmark = pytest.mark.xdist_group("tests/test_expectations.py")

SUITE = [
    ex.ExpectColumnValuesToNotBeNull(column="id"),
    ex.ExpectColumnValuesToBeNull(column="flag"),
    ex.ExpectColumnValuesToBeInSet(column="kind", value_set=["a", "b"]),
    ex.ExpectColumnValuesToBeUnique(column="id"),
    ex.ExpectCompoundColumnsToBeUnique(column_list=["kind", "n"]),
    ex.ExpectColumnValuesToBeBetween(column="x", min_value=0, strict_min=True),
    ex.ExpectColumnValuesToBeBetween(column="share", min_value=0, max_value=1),
    ex.ExpectColumnPairValuesAToBeGreaterThanB(column_A="n", column_B="m", or_equal=True,
                                               ignore_row_if="either_value_is_missing"),
    ex.ExpectColumnToExist(column="x"),
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
    suite = Suite("screened", SUITE)
    suite_json = json.dumps(suite.to_json_dict(), default=str)
    import great_expectations as gx

    from data_checks.gx_worker import validate_partition

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
    # Written without GX's result classes, the JSON is theirs key for key, in their order.
    assert outcome.result_json == json.dumps(
        gx.core.ExpectationSuiteValidationResult(**_as_gx(json.loads(outcome.result_json)))
        .to_json_dict(), default=str)


def _as_gx(result: dict) -> dict:
    """A result's JSON back as the arguments of GX's result classes."""
    from great_expectations.core.expectation_validation_result import (
        ExpectationValidationResult,
    )
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    return {**result, "results": [
        ExpectationValidationResult(**{**r, "expectation_config": ExpectationConfiguration(
            **r["expectation_config"])}) for r in result["results"]]}


def _gx_suite(suite: Suite) -> "ExpectationSuite":
    import great_expectations as gx
    from great_expectations.expectations.registry import get_expectation_impl

    return gx.ExpectationSuite(name=suite.name, expectations=[
        get_expectation_impl(e.type)(**e.kwargs) for e in suite.expectations])


def test_every_suite_as_data_is_the_suite_gx_builds():
    """The suites GX stores, loads and renders are the JSON of the same suite built by GX."""
    policy = default_policy()
    for suite in [Suite("screened", SUITE),
                  *(Suite(spec.name, spec.expectations(policy)) for spec in SPECS)]:
        assert suite.to_json_dict() == _gx_suite(suite).to_json_dict(), suite.name
        assert (json.dumps(suite.to_json_dict(), default=str)
                == json.dumps(_gx_suite(suite).to_json_dict(), default=str)), suite.name


def test_a_missing_column_and_an_untranslated_expectation_go_to_gx():
    with duckdb.connect() as con:
        source = "SELECT 1 AS x, 'a' AS kind"
        missing = Suite("s", [ex.ExpectColumnToExist(column="y")])
        assert screen(con, source, {}, missing, "t") == (1, None)
        regex = Suite("s", [ex.ExpectColumnValuesToMatchRegex(column="kind", regex="^a$")])
        assert screen(con, source, {}, regex, "t") == (1, None)
        mostly = Suite("s", [ex.ExpectColumnValuesToNotBeNull(column="x", mostly=0.5)])
        assert screen(con, source, {}, mostly, "t") == (1, None)


def test_a_steps_results_replace_their_partitions_in_one_write():
    """The results of a step are written at once, set-based (one commit, not one per partition):
    each replaces its own check and month (NULL for an unpartitioned check), nothing else."""
    from data_checks.validation import _STORED, _write, ensure_results_table

    def row(check: str, month: str | None, success: bool) -> list:
        values = {"check_name": check, "layer": "marts", "asset": "a", "table_name": "t",
                  "month": month, "severity": "ERROR", "success": success, "rows_validated": 3,
                  "failed_expectations": 0 if success else 1, "dagster_run_id": None,
                  "suite_json": "{}", "result_json": json.dumps({"success": success})}
        return [values[c] for c in _STORED]

    with duckdb.connect() as con:
        ensure_results_table(con)
        _write(con, [row("c", "2026-01-01", True), row("c", "2026-02-01", True),
                     row("d", "2026-01-01", True), row("u", None, True)])
        _write(con, [row("c", "2026-02-01", False), row("u", None, False)])
        _write(con, [])
        stored = con.execute(
            "SELECT check_name, CAST(month AS VARCHAR), success, result_json::VARCHAR"
            " FROM quality.validation_results ORDER BY ALL").fetchall()
    assert stored == [("c", "2026-01-01", True, '{"success": true}'),
                      ("c", "2026-02-01", False, '{"success": false}'),
                      ("d", "2026-01-01", True, '{"success": true}'),
                      ("u", None, False, '{"success": false}')]


def test_a_suites_query_is_bound_once_for_all_its_months():
    """The screen keeps a query's columns and types for its other months (`known`): the same
    verdicts and results as binding it for each month, failing months included."""
    suite = Suite("screened", SUITE)
    source = "SELECT * EXCLUDE (month) FROM months WHERE month = $month"
    frames = []
    for month, case in (("2026-01", "clean"), ("2026-02", "an unknown kind"), ("2026-03", "clean")):
        frame = _frame(case)
        frame.insert(0, "month", month)
        frames.append(frame)
    known: dict = {}
    with duckdb.connect() as con:
        con.register("months", pa.Table.from_pandas(pd.concat(frames), preserve_index=False))
        for month in ("2026-01", "2026-02", "2026-03"):
            alone = screen(con, source, {"month": month}, suite, "t")
            kept = screen(con, source, {"month": month}, suite, "t", known)
            assert kept == alone, month
            assert (kept[1] is None) is (month == "2026-02"), month
    assert list(known) == [source]


def test_a_suites_months_screened_in_one_statement_as_one_by_one():
    """`screen_months` (one statement over the run's months, grouped by month) gives each month
    the rows and verdict `screen` gives it alone: every case of CASES a month (failing months
    stay failing, so GX validates them and a blocking check still blocks; passing months get the
    same GX result), a month without rows, and a uniqueness suite across months (a duplicate in
    another month is not one)."""
    suite = Suite("screened", SUITE)
    source = "SELECT * EXCLUDE (month) FROM months WHERE month = $month"
    frames, months = [], []
    for i, case in enumerate(CASES):
        month = f"2025-{i + 1:02d}-01"
        months.append(month)
        frame = _frame(case)
        frame.insert(0, "month", pd.Timestamp(month).date())
        frames.append(frame)
    months.append("2026-06-01")  # no rows
    with duckdb.connect() as con:
        con.register("months", pa.Table.from_pandas(pd.concat(frames), preserve_index=False))
        batched = screen_months(con, source, {}, months, suite, "t")
        alone = {month: screen(con, source, {"month": month}, suite, "t") for month in months}
    assert batched == alone
    assert [m for m in months if batched[m][1] is None] == [
        months[i] for i, (_, passes) in enumerate(CASES.values()) if not passes]
    assert batched["2026-06-01"][0] == 0


def test_every_suites_query_runs_over_months_in_one_statement():
    """Each suite's own query (`data_checks.checks.SPECS`, those over `$month`) binds and runs as
    one statement over several months on an empty warehouse: no fetch falls outside the
    lateral form."""
    from warehouse.schema import ensure_warehouse, prepare_session

    policy = default_policy()
    with duckdb.connect() as con:
        ensure_warehouse(con)
        prepare_session(con)
        for spec in SPECS:
            if callable(spec.fetch) or "$month" not in spec.fetch:
                continue
            suite = Suite(spec.name, spec.expectations(policy))
            months = ["2025-01-01", "2025-02-01"]
            assert screen_months(con, spec.fetch, {}, months, suite, spec.table) == {
                m: screen(con, spec.fetch, {"month": m}, suite, spec.table) for m in months}
