"""The warehouse schema: DDL applied once per code version, and each connection's session."""

import hashlib

import duckdb

from warehouse.columns import Table
from warehouse.mart_tables import MART_DDL, MART_TABLES
from warehouse.reconcile import FILE_RECONCILIATION
from warehouse.tables import LAYER_DDL, LAYER_TABLES, REFERENCE_DIGESTS, VALIDATION_RESULTS

DDL = [*LAYER_DDL, *MART_DDL]

# Every table's contract by its qualified name: the DDL above is derived from these (and
# data_checks creates quality.validation_results from its own when it first stores a result).
TABLES: dict[str, Table] = {t.name: t for t in (*LAYER_TABLES, *MART_TABLES, VALIDATION_RESULTS,
                                                   REFERENCE_DIGESTS)}


# rows accepted with a warning, with a message that names the file, the row and the field.
ISSUES = """CREATE OR REPLACE VIEW quality.issues AS
WITH issues AS (
    SELECT CASE WHEN stage = 'landing_files' AND source_file IN (
                    SELECT path FROM raw.landing_files WHERE status = 'rejected')
                THEN 'file rejected' ELSE 'row quarantined' END AS severity, *
    FROM quality.quarantine
    UNION ALL
    SELECT 'warning', * FROM quality.warnings
)
SELECT severity, stage, entity, partition_month, source_file, source_row, record_key, client_id,
       field, raw_value, reason_code,
       CASE WHEN starts_with(reason, source_file || ':') THEN reason
            ELSE concat(source_file, ': ',
                        CASE WHEN source_row IS NOT NULL THEN 'row ' || source_row || ', ' END,
                        CASE WHEN field IS NOT NULL THEN 'field ' || field || ': ' END,
                        reason,
                        CASE WHEN raw_value IS NOT NULL
                             THEN concat(' (value ', chr(39), left(raw_value, 60), chr(39), ')') END)
       END AS message,
       detected_at
FROM issues"""


MACROS = [
    # Booleans as PSAs write them; anything else is NULL (and reported where it matters).
    """CREATE OR REPLACE TEMP MACRO parse_bool(x) AS CASE
        WHEN lower(trim(x)) IN ('true', 't', 'yes', 'y', '1') THEN true
        WHEN lower(trim(x)) IN ('false', 'f', 'no', 'n', '0') THEN false END""",
    "CREATE OR REPLACE TEMP MACRO blank(x) AS x IS NULL OR trim(x) = ''",
    # The review decision in force at the as-of instant, per ticket and question (kind, scope id):
    # the latest one taken by then (a later decision had not been taken; NULL: every decision), the
    # current one first among equal instants; a note is recorded, never in force. Read by
    # models/marts/scope_hits.sql, models/marts/ticket_facts.sql and logic/semantic.py's exemplars.
    # DuckDB checks the table exists when the macro is created: sessions are of a warehouse
    # (ensure_warehouse creates its tables first); it reads the table as it is when called.
    """CREATE OR REPLACE TEMP MACRO decisions_in_force(as_of) AS TABLE
        SELECT ticket_id, kind, scope_id, verdict, reviewer, decided_at
        FROM staging.review_decisions
        WHERE verdict <> 'noted' AND (as_of IS NULL OR decided_at <= CAST(as_of AS TIMESTAMPTZ))
        QUALIFY row_number() OVER (PARTITION BY ticket_id, kind, scope_id
                                   ORDER BY decided_at DESC, is_current DESC,
                                            _source_file DESC, _source_row DESC) = 1""",
]


# The schema this code writes. Its fingerprint is stored in the warehouse, so the 40 DDL
# statements (20 ms; 7 of them replace views) run once per warehouse and code version, not in
# every step: a one-month run has 19 steps that ensure the warehouse.
_SCHEMA = [*DDL, FILE_RECONCILIATION, ISSUES]
SCHEMA_VERSION = hashlib.sha256("\n".join(_SCHEMA).encode()).hexdigest()[:16]


def ensure_warehouse(con: duckdb.DuckDBPyConnection) -> None:
    """Create schemas, tables and views if missing, and prepare this connection's session."""
    # Looked up in the catalog, not by catching a missing table: an error would abort a transaction.
    known = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database()"
        " AND schema_name = 'quality' AND table_name = 'schema_version'").fetchone()[0]
    stored = con.execute("SELECT version FROM quality.schema_version").fetchone() if known else None
    if stored is None or stored[0] != SCHEMA_VERSION:
        for statement in _SCHEMA:
            con.execute(statement)
        con.execute("CREATE OR REPLACE TABLE quality.schema_version AS"
                    " SELECT ? AS version, now() AS applied_at", [SCHEMA_VERSION])
    prepare_session(con)


def prepare_session(con: duckdb.DuckDBPyConnection) -> None:
    """Per connection: UTC, so offset-less timestamps read as UTC, and the temp macros."""
    con.execute("SET TimeZone = 'UTC'")
    # DuckDB checkpoints when a commit leaves more than 16 MB of WAL: at 1M tickets every month
    # of a step did (1.5 s each). The file is checkpointed anyway when the run's warehouse
    # resource closes it (WarehouseResource), so a run checkpoints about once per GB written.
    con.execute("SET checkpoint_threshold = '1GB'")
    for statement in MACROS:
        con.execute(statement)
