"""Work side by side on the warehouse: one connection per month or file, `month_workers()` at once."""

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import duckdb
from dagster_duckdb import DuckDBResource

from warehouse.schema import prepare_session


def month_workers() -> int:
    """How many months a step computes at once (MSP_MONTH_WORKERS; default: the machine's cores).

    A month of even a large provider fits in one DuckDB row group, and DuckDB parallelises a
    statement by row group: one month keeps one core busy, so months run side by side, each on
    its own connection to the same database (DuckDB allows concurrent writers of different rows).
    """
    value = os.environ.get("MSP_MONTH_WORKERS", "")
    return max(1, int(value)) if value.strip() else os.cpu_count() or 1


T = TypeVar("T")
R = TypeVar("R")


def side_by_side(
    duckdb_resource: DuckDBResource,
    items: list[T],
    work: Callable[[duckdb.DuckDBPyConnection, T], R],
) -> list[R]:
    """`work(con, item)` for every item, `month_workers()` at a time, each on its own connection.

    For work on disjoint rows that keeps one core busy (a month's statements, a file's insert);
    results come back in item order. The caller ensures the schema first.
    """

    def on_own_connection(item: T) -> R:
        with duckdb_resource.get_connection() as con:
            prepare_session(con)
            return work(con, item)

    workers = min(month_workers(), len(items))
    if workers <= 1:
        return [on_own_connection(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="side-by-side") as pool:
        return list(pool.map(on_own_connection, items))
