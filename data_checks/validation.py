"""Run a great-expectations 1.x suite on one partition's DataFrame and keep the result for Data Docs.

GX's SQL datasource does not work against DuckDB 2.0, so each check's query selects only the
columns its suite needs for one month (set-based work such as "does this client resolve" is done in
that SQL and arrives as a column the suite checks). The suites are data
(`data_checks.expectations`, GX's JSON), and their row-level expectations are first counted in
DuckDB over that query (`data_checks.screen`, one statement for all the step's months): a
partition where all pass gets the result GX gives a passing batch without leaving DuckDB or
importing GX. A partition where any fails is fetched and
validated by GX in an ephemeral context, so failures are GX's own: a large one in worker
processes over several months (`gx_pool`, started on the first), a small one in the run's GX
process (started by the first check step of a run over several months, else on the first such
partition, so a one-month run whose checks all pass never imports GX).
"""

import json
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass

import dagster as dg
import duckdb
import pandas as pd
import pyarrow as pa
from dagster_duckdb import DuckDBResource

from data_checks import expectations as ex
from data_checks import remote
from data_checks.gx_processes import (
    GX_WORKER,
    gx_pool,
    gx_process,
    result_of,
    start_gx_process,
    submit,
)
from data_checks.outcome import Outcome, to_pandas
from data_checks.screen import screen, screen_months
from orchestration.partitions import combine_month_checks
from orchestration.resources import PipelineSettings
from orchestration.sql_checks import SqlCheck
from policy.config import PolicyConfig
from warehouse.columns import Table
from warehouse.concurrency import month_workers
from warehouse.schema import TABLES, prepare_session
from warehouse.sqlquote import sql_literal
from warehouse.tables import VALIDATION_RESULTS

# The latest validation per check and partition (its contract: warehouse.tables).
RESULTS_DDL = VALIDATION_RESULTS.ddl()[0]


Expectations = Callable[[PolicyConfig], list[ex.Expectation]]
Fetch = Callable[[duckdb.DuckDBPyConnection, dict], pd.DataFrame]


@dataclass(frozen=True)
class CheckSpec:
    """One Dagster asset check that runs one GX suite (named like the check) on one partition."""

    name: str
    asset: dg.AssetsDefinition
    layer: str
    blocking: bool  # True: a failure is ERROR and stops publishing; False: a WARN
    description: str
    table: str
    fetch: str | Fetch  # SQL over `$month` (partitioned assets) or a function (con, params)
    expectations: Expectations

    @property
    def partitioned(self) -> bool:
        return self.asset.partitions_def is not None


def arrow(con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> pa.Table:
    """The query's result as an Arrow table (the `$name` parameters it uses taken from `params`).

    DuckDB's `.df()` builds every string column through Python objects: 0.65 s for a month's 700k
    events at 1M tickets, against 0.11 s through Arrow and `gx_worker.to_pandas`, with the same
    dtypes for strings and timestamps and the same validation results on every suite.
    """
    used = {k: v for k, v in params.items() if f"${k}" in sql}
    return con.sql(sql, params=used).to_arrow_table()


def frame(con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> pd.DataFrame:
    """The query's result as the DataFrame GX validates."""
    return to_pandas(arrow(con, sql, params))


def _fetch(con: duckdb.DuckDBPyConnection, spec: CheckSpec, params: dict) -> pd.DataFrame | pa.Table:
    if callable(spec.fetch):
        return spec.fetch(con, params)
    return arrow(con, spec.fetch, params)


def _screened(
    con: duckdb.DuckDBPyConnection, spec: CheckSpec, suite: ex.Suite, params: dict,
    known: dict | None = None,
) -> tuple[pd.DataFrame | pa.Table | None, int, Outcome | None]:
    """The partition screened in DuckDB alone (`data_checks.screen`): (data fetched, rows, outcome:
    None when GX must validate). A function's fetch is run and its rows screened as a view (its
    columns' types may differ by month, so they are not kept in `known`)."""
    if not callable(spec.fetch):
        rows, outcome = screen(con, spec.fetch, params, suite, spec.table, known)
        return None, rows, outcome
    data = spec.fetch(con, params)
    view = f"_screened_{spec.name}"
    con.register(view, data)
    try:
        rows, outcome = screen(con, f"SELECT * FROM {view}", {}, suite, spec.table)
    finally:
        con.unregister(view)
    return data, rows, outcome


def _done(outcome: Outcome) -> Future:
    done: Future = Future()
    done.set_result(outcome)
    return done

# A failing partition smaller than this is validated by GX in the run's GX process (started on
# the first one; on one core GX validates in this process): starting the workers (importing GX,
# about 3 s of CPU each) costs more than GX spends on a few small frames, such as the
# client_month_volume_anomaly warnings of a year (100 to 500 rows a month).
POOL_ROWS = 50_000

def ensure_results_table(con: duckdb.DuckDBPyConnection) -> None:
    """Create quality.validation_results if missing (once per step, not per month)."""
    con.execute("CREATE SCHEMA IF NOT EXISTS quality")
    con.execute(RESULTS_DDL)


def _stored(
    spec: CheckSpec, month: str | None, run_id: str | None, suite_json: str, rows: int,
    outcome: Outcome,
) -> tuple[list, dg.AssetCheckResult]:
    """The partition's row of quality.validation_results (for Data Docs) and its Dagster result."""
    severity = dg.AssetCheckSeverity.ERROR if spec.blocking else dg.AssetCheckSeverity.WARN
    row = [spec.name, spec.layer, spec.asset.key.to_user_string(), spec.table, month,
           severity.value, outcome.success, rows, len(outcome.failed), run_id, suite_json,
           outcome.result_json]
    return row, dg.AssetCheckResult(
        passed=outcome.success,
        severity=severity,
        asset_key=spec.asset.key,
        check_name=spec.name,
        metadata={
            "layer": spec.layer,
            "rows_validated": rows,
            "expectations": outcome.expectations,
            "failed_expectations": dg.MetadataValue.json(outcome.failed),
        },
    )


# The columns of a stored result as `_stored` lists them (validated_at is the write's time).
_STORED = ("check_name", "layer", "asset", "table_name", "month", "severity", "success",
           "rows_validated", "failed_expectations", "dagster_run_id", "suite_json", "result_json")


def _write(con: duckdb.DuckDBPyConnection, rows: list[list]) -> None:
    """Replace the partitions' stored results: one set-based delete and insert, one commit.

    A year's run stores about 450 results; a transaction each (delete, insert, commit) took 5.3 s
    of wall time for the 409 of the 100k benchmark, this 0.05 to 0.3 s.
    """
    if not rows:
        return
    new = pa.table({name: [row[i] for row in rows] for i, name in enumerate(_STORED)})
    columns = ", ".join(_STORED)
    values = ", ".join("CAST(month AS DATE)" if c == "month" else c for c in _STORED)
    con.register("_new_results", new)
    try:
        con.execute("BEGIN TRANSACTION")
        con.execute(
            "DELETE FROM quality.validation_results v WHERE EXISTS (SELECT 1 FROM _new_results n"
            " WHERE n.check_name = v.check_name"
            " AND CAST(n.month AS DATE) IS NOT DISTINCT FROM v.month)")
        con.execute(f"INSERT INTO quality.validation_results ({columns}, validated_at)"
                    f" SELECT {values}, now() FROM _new_results")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("_new_results")


@dataclass
class _Tally:
    """One suite's validations in a step: rows, failed expectations, first fetch, last result."""

    rows: int = 0
    failed: int = 0
    started: float | None = None
    ended: float = 0.0


def _named(failure: dict) -> str:
    """A failed expectation as the log names it: its type, its column when it has one, and for a
    flag column (expected empty) its first offending value, which names the file and row."""
    column = failure["kwargs"].get("column")
    named = f"{failure['expectation']} ({column})" if column else failure["expectation"]
    sample = failure.get("sample") or []
    if failure["expectation"] == "expect_column_values_to_be_null" and sample:
        named += f", e.g. {sample[0]}"
    return named


def run_checks(
    specs: list[CheckSpec],
    con: duckdb.DuckDBPyConnection,
    settings: PipelineSettings,
    months: list[str | None],
    run_id: str | None,
    log: Callable[[str], None] = print,
    warn: Callable[[str], None] = print,
) -> dict[str, dict[str | None, dg.AssetCheckResult]]:
    """Fetch each suite's partition, validate it, store the result for Data Docs: per check, per month.

    The step's results are stored in one transaction at its end (also when a validation raises:
    what was validated before it is kept).

    With worker processes, a (suite, month) validates in a worker while the next is fetched here;
    at most one large partition per worker waits, so memory holds a few months' rows, not the
    range's. A small failing partition waits for the run's GX process (importing GX on the other
    core when it is a one-month run's first) while the step screens the rest. One summary
    line goes to `log`, and one line per failing (suite, month), to `warn` if the suite blocks:
    each Dagster log line is a write to the run's event log (~8 ms), and a year's run validates
    about 450 (suite, month)s; each check's own figures are in its metadata and in Data Docs.
    """
    policy = settings.policy()
    ensure_results_table(con)
    pool: ProcessPoolExecutor | None = None  # started only once a partition needs GX itself
    in_flight = 0
    waiting: deque[tuple[CheckSpec, str, str | None, int, Future]] = deque()
    in_pool: set[int] = set()  # the waiting futures a worker validates (id of the future)
    results: dict[str, dict[str | None, dg.AssetCheckResult]] = {spec.name: {} for spec in specs}
    tallies = {spec.name: _Tally() for spec in specs}

    def store_oldest() -> None:
        spec, suite_json, month, rows, future = waiting.popleft()
        in_pool.discard(id(future))
        try:
            outcome = result_of(future)
        except Exception as exc:
            exc.add_note(f"while validating {spec.name} for month {(month or 'all')[:7]}")
            raise
        row, results[spec.name][month] = _stored(spec, month, run_id, suite_json, rows, outcome)
        stored.append(row)
        tally = tallies[spec.name]
        tally.rows += rows
        tally.failed += len(outcome.failed)
        tally.ended = time.perf_counter()
        if outcome.failed:
            # A blocking suite's failure is a warning (the run stops on it), a warn-severity one
            # information: the UI shows it as a warning, the terminal of `make demo` stays quiet.
            (warn if spec.blocking else log)(
                f"{spec.name}{f' {month[:7]}' if month else ''}: {len(outcome.failed)} failed"
                f" expectation(s) in {rows} rows of {spec.table}:"
                f" {', '.join(_named(f) for f in outcome.failed)}")

    stored: list[list] = []  # written once, when the step's validations are done or one raises
    known: dict = {}  # each suite's query: its columns and types, bound for its first month
    try:
        for spec in specs:
            suite = ex.Suite(spec.name, spec.expectations(policy))
            suite_json = json.dumps(suite.to_json_dict(), default=str)
            tallies[spec.name].started = time.perf_counter()
            batch = {} if callable(spec.fetch) else screen_months(
                con, spec.fetch, {"policy": policy}, months, suite, spec.table, known)
            for month in months:
                params = {"month": month, "policy": policy}
                data, rows, passed = ((None, *batch[month]) if month in batch
                                      else _screened(con, spec, suite, params, known))
                if passed is not None:
                    waiting.append((spec, suite_json, month, rows, _done(passed)))
                else:
                    if pool is None and len(months) > 1 and rows >= POOL_ROWS:
                        pool = gx_pool()
                        in_flight = month_workers() if pool else 0
                    data = _fetch(con, spec, params) if data is None else data
                    if rows < POOL_ROWS:
                        start_gx_process()
                    # GX validates it: in a worker, in the run's GX process, or here (GX then
                    # imported here, once).
                    there = pool if rows >= POOL_ROWS else gx_process()
                    future = submit(there, remote.call, GX_WORKER, "validate_partition", data,
                                    suite_json, spec.table)
                    if there is not None and there is pool:
                        in_pool.add(id(future))
                    waiting.append((spec, suite_json, month, len(data), future))
                while waiting and (waiting[0][4].done() or len(in_pool) > in_flight):
                    store_oldest()
        while waiting:
            store_oldest()
    finally:
        _write(con, stored)
    if specs:
        seconds = {name: t.ended - t.started for name, t in tallies.items()}
        slowest = max(seconds, key=seconds.__getitem__)
        span = f" in {len(months)} month(s)" if months != [None] else ""
        log(f"{len(specs)} suite(s){span}: {sum(t.rows for t in tallies.values())} rows validated,"
            f" {sum(t.failed for t in tallies.values())} failed expectation(s),"
            f" {max(t.ended for t in tallies.values()) - min(t.started for t in tallies.values()):.2f} s"
            f" (slowest {slowest}, {seconds[slowest]:.2f} s)")
    return results


def build_checks(
    specs: list[CheckSpec], sql: Sequence[SqlCheck] = ()
) -> dg.AssetChecksDefinition:
    """The asset checks of one asset, its SQL checks and its suites, run in one Dagster step.

    Each suite and each SQL check is its own asset check (its own result and history; a suite
    its Data Docs page); running an asset's checks in one step spares the per-step cost (a
    one-month run had 32 suite steps, then 10 suite steps and 9 SQL check steps) and, over several
    months, keeps the GX workers busy from one suite to the next. Every check is `blocking`, so
    downstream assets (and data_docs) wait for them; only ERROR severity stops them, a WARN lets
    the month publish. A subset (one check from the UI) runs alone. A SQL check that raises
    fails the step, after the asset's other checks have reported.
    """
    asset = (specs or sql)[0].asset
    others = sorted({c.name for c in [*specs, *sql] if c.asset is not asset})
    if others:
        raise ValueError(f"build_checks takes one asset's checks: {', '.join(others)} guard"
                         f" another asset than {asset.key.to_user_string()}")

    @dg.multi_asset_check(
        name=f"{asset.key.to_python_identifier()}_checks",
        description=f"SQL checks and great-expectations suites of {asset.key.to_user_string()}",
        specs=[dg.AssetCheckSpec(c.name, asset=asset, description=c.description,
                                 blocking=True, partitions_def=asset.partitions_def)
               for c in [*sql, *specs]],
        can_subset=True,
    )
    def _checks(
        context: dg.AssetCheckExecutionContext, duckdb: DuckDBResource, settings: PipelineSettings
    ) -> Iterator[dg.AssetCheckResult]:
        names = {key.name for key in context.selected_asset_check_keys}
        raised: list[Exception] = []
        for check in sql:
            if check.name in names:
                try:
                    yield check.run(context, duckdb)
                except Exception as exc:
                    exc.add_note(f"while running the SQL check {check.name}")
                    raised.append(exc)
        selected = [spec for spec in specs if spec.name in names]
        if selected:
            months = list(context.partition_keys) if asset.partitions_def else [None]
            if len(months) > 1:
                # Over several months a partition fails the screen in nearly every run (at 100k,
                # six months of fourteen warn of a volume anomaly): GX is imported now, beside
                # the run, not waited for at the first failure. A one-month run, such as the
                # monthly close, imports it only when a partition fails.
                start_gx_process()
            with duckdb.get_connection() as con:
                prepare_session(con)
                results = run_checks(selected, con, settings, months, context.run.run_id,
                                     context.log.info, context.log.warning)
            for spec in selected:
                yield combine_month_checks(results[spec.name])
        if raised:
            raise raised[0]

    return _checks


def against_contract(table: Table) -> str:
    """SQL with one row per column of the table's contract (warehouse.schema.TABLES): the column's
    name as `missing_column` when the table lacks it, as `wrong_type` with both types when the table
    has another type; both NULL when the column is as declared. It reads the catalog, not the rows."""
    schema, name = table.name.split(".")
    declared = ", ".join(f"({sql_literal(c.name)}, typeof(CAST(NULL AS {c.type})), {i})"
                         for i, c in enumerate(table.columns))
    return f"""SELECT CASE WHEN t.column_name IS NULL THEN c.name END AS missing_column,
                      CASE WHEN t.data_type <> c.type
                           THEN concat(c.name, ' is ', t.data_type, ', the contract says ', c.type)
                      END AS wrong_type
               FROM (VALUES {declared}) c(name, type, position)
               LEFT JOIN information_schema.columns t
                 ON t.table_catalog = current_database() AND t.table_schema = {sql_literal(schema)}
                AND t.table_name = {sql_literal(name)} AND t.column_name = c.name
               ORDER BY c.position"""


def as_declared(_policy: PolicyConfig) -> list[ex.Expectation]:
    """Every contract column present, with its declared type (the rows of `against_contract`)."""
    return [ex.ExpectColumnValuesToBeNull(column="missing_column"),
            ex.ExpectColumnValuesToBeNull(column="wrong_type")]


def contract_check(asset: dg.AssetsDefinition, layer: str, table: str, note: str = "") -> CheckSpec:
    """The blocking `<asset>_required_columns` check: `table` has its contract's columns and types
    (`note` says, after "its contract", what the contract holds)."""
    return CheckSpec(
        name=f"{asset.key.to_python_identifier()}_required_columns", asset=asset, layer=layer,
        blocking=True,
        description=f"{table} has every column of its contract{note}, with the declared type.",
        table=table,
        fetch=against_contract(TABLES[table]),
        expectations=as_declared,
    )
