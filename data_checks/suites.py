"""great-expectations 1.x suites per mart, validated on one partition's DataFrame at a time."""

from collections.abc import Callable

import great_expectations as gx
import great_expectations.expectations as gxe
import pandas as pd
from great_expectations.data_context.types.base import ProgressBarsConfig

from policy.config import PRIORITIES


def client_month_suite() -> gx.ExpectationSuite:
    """Invariants of marts.client_month that a published number relies on."""
    suite = gx.ExpectationSuite(name="marts.client_month")
    for column in ("client_id", "month", "plan", "fair_use_status", "fair_use_limit_per_seat"):
        suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column=column))
    suite.add_expectation(gxe.ExpectCompoundColumnsToBeUnique(column_list=["client_id", "month"]))
    suite.add_expectation(
        gxe.ExpectColumnValuesToBeInSet(column="fair_use_status", value_set=["within", "watch", "over"])
    )
    suite.add_expectation(
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="tickets", column_B="standard_units", or_equal=True
        )
    )
    suite.add_expectation(
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="standard_tickets", column_B="standard_units", or_equal=True
        )
    )
    suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column="seats", min_value=0, strict_min=True))
    suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column="units_per_seat", min_value=0))
    suite.add_expectation(
        gxe.ExpectColumnValuesToBeBetween(column="fair_use_limit_per_seat", min_value=0, strict_min=True)
    )
    suite.add_expectation(
        gxe.ExpectColumnValuesToBeBetween(column="peer_percentile", min_value=0, max_value=1)
    )
    suite.add_expectation(
        gxe.ExpectColumnValuesToBeBetween(column="busiest_requesters_share", min_value=0, max_value=1)
    )
    return suite


def ticket_facts_suite() -> gx.ExpectationSuite:
    """Invariants of marts.ticket_facts."""
    suite = gx.ExpectationSuite(name="marts.ticket_facts")
    for column in ("ticket_id", "client_id", "month", "unit_id", "is_standard"):
        suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column=column))
    suite.add_expectation(gxe.ExpectColumnValuesToBeUnique(column="ticket_id"))
    suite.add_expectation(
        gxe.ExpectColumnValuesToBeInSet(column="priority", value_set=list(PRIORITIES))
    )
    suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column="logged_minutes", min_value=0))
    return suite


def validate(df: pd.DataFrame, build: Callable[[], gx.ExpectationSuite]) -> tuple[bool, list[dict]]:
    """Validate a DataFrame against a suite in an ephemeral context; return (success, failures)."""
    context = gx.get_context(mode="ephemeral")
    # Per-metric progress bars would flood the run log once per partition.
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    suite = context.suites.add(build())
    batch = (
        context.data_sources.add_pandas("warehouse")
        .add_dataframe_asset(suite.name)
        .add_batch_definition_whole_dataframe("partition")
        .get_batch(batch_parameters={"dataframe": df})
    )
    result = batch.validate(suite)
    failures = [
        {
            "expectation": r.expectation_config.type,
            "kwargs": {k: v for k, v in r.expectation_config.kwargs.items() if k != "batch_id"},
            "unexpected_count": r.result.get("unexpected_count"),
            "sample": [str(v) for v in (r.result.get("partial_unexpected_list") or [])[:5]],
        }
        for r in result.results
        if not r.success
    ]
    return bool(result.success), failures
