"""Writes every stage shares: first failing rule, month replace, quarantine, warnings, judged marks."""

import duckdb

from warehouse.sqlquote import month_in, sql_literal


def first_failure(rules: list[tuple[str, str, str, str]], place: str | None = None) -> str:
    """SELECT-list columns naming the first rule a row breaks: reason_code, field, raw_value, reason.

    Each rule is (reason_code, field, SQL condition that is true when the row is bad, message).
    `place` is an SQL expression over the row naming where in its file it was written (NULL when
    its row number says it all); a reason then starts with it.
    """
    def case(pick) -> str:
        return "CASE " + " ".join(f"WHEN {cond} THEN {pick(code, field, msg)}"
                                  for code, field, cond, msg in rules) + " END"

    reason = case(lambda code, field, msg: sql_literal(msg))
    return ", ".join([
        case(lambda code, field, msg: sql_literal(code)) + " AS reason_code",
        case(lambda code, field, msg: sql_literal(field)) + " AS field",
        case(lambda code, field, msg: f'CAST("{field}" AS VARCHAR)') + " AS raw_value",
        (f"coalesce({place} || ': ', '') || {reason}" if place else reason) + " AS reason",
    ])


def replace_month(
    con: duckdb.DuckDBPyConnection, table: str, month: str, select_sql: str, params: dict
) -> None:
    """Idempotent partition write: delete the month's rows and insert `select_sql`, in one transaction."""
    con.execute("BEGIN TRANSACTION")
    con.execute(f"DELETE FROM {table} WHERE month = ?", [month])
    con.execute(f"INSERT INTO {table} BY NAME {select_sql}", params)
    con.execute("COMMIT")


def quarantine_replace(
    con: duckdb.DuckDBPyConnection,
    stage: str,
    entity: str,
    partition_month: str | None,
    rows_table: str,
    key_column: str,
    client_column: str | None = None,
) -> int:
    """Replace a stage's quarantine rows for a partition with the rejected rows of `rows_table`.

    `rows_table` carries the lineage columns and the columns of `first_failure`; rows whose
    reason_code is set are the rejected ones. `client_column` is an SQL expression over the row
    (alias `r`) that tells its client, for the data-quality section of that client's report.
    Returns how many rows are quarantined.
    """
    where = "partition_month IS NULL" if partition_month is None else "partition_month = ?"
    key = [] if partition_month is None else [partition_month]
    con.execute(f"DELETE FROM quality.quarantine WHERE stage = ? AND {where}", [stage, *key])
    con.execute(
        f"""INSERT INTO quality.quarantine BY NAME
            SELECT ? AS stage, ? AS entity, CAST(? AS DATE) AS partition_month,
                   _source_file AS source_file, _source_row AS source_row,
                   {key_column} AS record_key, {client_column or 'NULL'} AS client_id,
                   field, raw_value, reason_code, reason,
                   now() AS detected_at
            FROM {rows_table} AS r WHERE reason_code IS NOT NULL""",
        [stage, entity, partition_month],
    )
    return con.execute(
        f"SELECT count(*) FROM quality.quarantine WHERE stage = ? AND {where}", [stage, *key]
    ).fetchone()[0]


def mark_judged(con: duckdb.DuckDBPyConnection, stage: str, partition_month: str | None) -> None:
    """Record that `stage` has judged every row of the partition (see quality.file_reconciliation)."""
    where = "partition_month IS NULL" if partition_month is None else "partition_month = ?"
    key = [] if partition_month is None else [partition_month]
    con.execute(f"DELETE FROM quality.stage_runs WHERE stage = ? AND {where}", [stage, *key])
    con.execute("INSERT INTO quality.stage_runs VALUES (?, CAST(? AS DATE), now())",
                [stage, partition_month])


def mark_judged_months(con: duckdb.DuckDBPyConnection, stage: str, months: list[str]) -> None:
    """mark_judged for every month of a range at once (a stage that judges a range in one pass)."""
    con.execute("DELETE FROM quality.stage_runs WHERE stage = $stage"
                f" AND {month_in('partition_month', months)}", {"stage": stage})
    con.execute("INSERT INTO quality.stage_runs SELECT $stage, CAST(unnest($months) AS DATE), now()",
                {"stage": stage, "months": months})


def warnings_replace(
    con: duckdb.DuckDBPyConnection,
    stage: str,
    entity: str,
    partition_month: str | None,
    select_sql: str,
    params: dict | None = None,
) -> int:
    """Replace a stage's warnings for a partition with the rows of `select_sql`.

    `select_sql` yields source_file, source_row, record_key, client_id, field, raw_value,
    reason_code and reason for rows that are accepted but deserve a caveat.
    """
    where = "partition_month IS NULL" if partition_month is None else "partition_month = ?"
    key = [] if partition_month is None else [partition_month]
    con.execute(f"DELETE FROM quality.warnings WHERE stage = ? AND {where}", [stage, *key])
    con.execute(
        f"""INSERT INTO quality.warnings BY NAME
            SELECT {sql_literal(stage)} AS stage, {sql_literal(entity)} AS entity,
                   CAST({'NULL' if partition_month is None else sql_literal(partition_month)} AS DATE)
                       AS partition_month, w.*, now() AS detected_at
            FROM ({select_sql}) AS w""",
        params or {},
    )
    return con.execute(
        f"SELECT count(*) FROM quality.warnings WHERE stage = ? AND {where}", [stage, *key]
    ).fetchone()[0]
