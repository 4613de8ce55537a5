"""The raw, quality and staging tables, one contract each, and their DDL (created in this order by
warehouse.schema)."""

from warehouse.columns import Column, Table
from warehouse.contract import DELIVERED, delivered

# Where each raw row came from: the file, its row, and when it was loaded.
LINEAGE = (
    Column("_file_id", "VARCHAR", True, "sha256 of the delivering file (raw.landing_files)"),
    Column("_source_file", "VARCHAR", True, "the delivering file, relative to the landing folder"),
    Column("_source_row", "BIGINT", True, "the data row of that file"),
    Column("_loaded_at", "TIMESTAMPTZ", True, "when the row was loaded"),
    Column("_extra", "JSON", False, "the file's columns beyond the contract, never dropped"),
)

LANDING_FILES = Table("raw.landing_files", (
    Column("file_id", "VARCHAR", True, "sha256 of the file's bytes"),
    Column("entity", "VARCHAR", True),
    Column("path", "VARCHAR", True, "relative to the landing folder"),
    Column("format", "VARCHAR", True),
    Column("bytes", "BIGINT", True),
    Column("data_rows", "BIGINT"),
    Column("first_seen_at", "TIMESTAMPTZ", True),
    Column("status", "VARCHAR", True, "accepted | duplicate | rejected | replaced"),
    Column("duplicate_of", "VARCHAR"),
    Column("reason", "VARCHAR"),
    Column("columns", "VARCHAR[]"),
    Column("extra_columns", "VARCHAR[]"),
    Column("min_month", "DATE"),
    Column("max_month", "DATE"),
    Column("reason_code", "VARCHAR", added=True),
    Column("encoding", "VARCHAR", added=True),
    Column("rejected_rows", "BIGINT[]", meaning="data rows the file reader could not parse"
           " (quarantined at landing), e.g. a cut-off last line", added=True),
    Column("warnings", "VARCHAR[]", added=True),
    Column("modified_ns", "BIGINT", meaning="modification time when registered (with `bytes`: an"
           " unchanged file is not read again)", added=True),
    Column("mixed_line_endings", "BOOLEAN", meaning="a CSV file whose lines end in CRLF and in LF:"
           " read with the lenient reader", added=True),
    Column("loaded_rows", "BIGINT", meaning="its rows in raw once loaded (recorded by the raw"
           " load, so a run does not count every file's rows); NULL until then", added=True),
    Column("loaded_at", "TIMESTAMPTZ", meaning="when loaded_rows was recorded: a file loaded after"
           " a month's judged files were recorded is reconciled with them", added=True),
), primary_key=("path", "file_id"))


def _raw(entity: str) -> Table:
    """A raw table: the entity's contract columns as delivered text, then the lineage."""
    text = tuple(c.but(type="VARCHAR", required=False, meaning=f"as delivered: {c.meaning}")
                 for c in DELIVERED[entity])
    month = (Column("_partition_month", "DATE", True, "the month partition the row is filed in"),)
    return Table(f"raw.{entity}", (*text, *LINEAGE, *(month if entity == "tickets" else ())))


RAW = {entity: _raw(entity) for entity in DELIVERED}

# A row a stage judged: quarantined (quality.quarantine) or accepted with a caveat
# (quality.warnings); the two tables have these columns, and quality.issues unions them.
ISSUE_COLUMNS = (
    Column("stage", "VARCHAR", True, "the asset that judged the row"),
    Column("entity", "VARCHAR", True),
    Column("partition_month", "DATE", meaning="NULL for unpartitioned assets"),
    Column("source_file", "VARCHAR"),
    Column("source_row", "BIGINT", meaning="NULL for an issue of the whole file"),
    Column("record_key", "VARCHAR", meaning="e.g. the ticket id, when there is one"),
    Column("client_id", "VARCHAR", meaning="the client the row belongs to, when it can be told"),
    Column("field", "VARCHAR"),
    Column("raw_value", "VARCHAR"),
    Column("reason_code", "VARCHAR", True),
    Column("reason", "VARCHAR", True),
    Column("detected_at", "TIMESTAMPTZ", True),
)
QUARANTINE = Table("quality.quarantine", ISSUE_COLUMNS)
# Rows accepted with a caveat (a file read as Latin-1, a priority not in the map, ...).
WARNINGS = Table("quality.warnings", ISSUE_COLUMNS)
# Which stage has judged which month: rows of a month not judged yet are pending, not lost.
STAGE_RUNS = Table("quality.stage_runs", (
    Column("stage", "VARCHAR", True),
    Column("partition_month", "DATE", meaning="NULL for unpartitioned stages"),
    Column("finished_at", "TIMESTAMPTZ", True),
))
# The files holding the rows a child stage judged in each month, recorded as it judges them: a
# month's file reconciliation reads its scope here instead of passing over every raw row.
JUDGED_FILES = Table("quality.judged_files", (
    Column("stage", "VARCHAR", True, "staging_ticket_events | staging_time_entries"),
    Column("month", "DATE", True),
    Column("file_id", "VARCHAR", meaning="NULL (with path) on the row saying the month is recorded,"
           " which a month judged before this record existed lacks"),
    Column("path", "VARCHAR"),
    Column("recorded_at", "TIMESTAMPTZ", True, "files first seen later are reconciled with them"),
))
MOVED_TICKETS = Table("quality.moved_tickets", (
    Column("month", "DATE", True, "the partition an older version was filed under"),
    Column("ticket_id", "VARCHAR", True),
    Column("latest_month", "DATE", True, "where the latest version lives (and is counted)"),
    Column("raw_rows", "INTEGER", True, "raw rows of this month superseded from elsewhere"),
))
STALE_MONTHS = Table("quality.stale_months", (
    Column("month", "DATE", True, "its marts count tickets now staged in another month"),
    Column("detected_at", "TIMESTAMPTZ", True, "cleared when the month is staged again"),
))

# One row per check and partition (month NULL for unpartitioned assets): the latest validation,
# which the data_docs asset renders. Created by data_checks when it first stores a result; Dagster
# keeps the history of every evaluation.
VALIDATION_RESULTS = Table("quality.validation_results", (
    Column("check_name", "VARCHAR", True, "the Dagster asset check, also the GX suite name"),
    Column("layer", "VARCHAR", True, "raw | staging | marts"),
    Column("asset", "VARCHAR", True),
    Column("table_name", "VARCHAR", True),
    Column("month", "DATE", meaning="NULL for an unpartitioned asset"),
    Column("severity", "VARCHAR", True, "ERROR (blocks publishing) | WARN"),
    Column("success", "BOOLEAN", True),
    Column("rows_validated", "BIGINT", True),
    Column("failed_expectations", "INTEGER", True),
    Column("dagster_run_id", "VARCHAR"),
    Column("validated_at", "TIMESTAMPTZ", True),
    Column("suite_json", "JSON", True, "the expectation suite as validated"),
    Column("result_json", "JSON", True, "the GX ExpectationSuiteValidationResult"),
))

# One row per reference-data asset (contracts, calendars): what it last staged from and wrote, so a
# run re-stages only when either changed (warehouse.digests).
REFERENCE_DIGESTS = Table("quality.reference_digests", (
    Column("name", "VARCHAR", True, "the asset that staged the data"),
    Column("inputs", "VARCHAR", True, "sha256 of its inputs when it last staged them"),
    Column("outputs", "VARCHAR", True, "sha256 of its tables right after"),
    Column("staged_at", "TIMESTAMPTZ", True),
), primary_key=("name",))


def _staged(entity: str, names: str) -> tuple[Column, ...]:
    """Contract columns of `entity` as staging types them (space-separated names, in order)."""
    return tuple(delivered(entity, name) for name in names.split())


_SOURCE = (Column("_source_file", "VARCHAR", True), Column("_source_row", "BIGINT", True))

CLIENTS = Table("staging.clients", (
    *_staged("clients", "client_id name timezone country subdivision plan seats"),
    delivered("clients", "after_hours_coverage").but(required=True),
    delivered("clients", "included_scope").but(required=True),
    *_staged("clients", "hourly_rate business_hours response_targets"),
    delivered("clients", "closures").but(required=True),
    delivered("clients", "valid_from"),
    Column("valid_to", "DATE", meaning="exclusive; NULL while in force"),
    Column("_source_file", "VARCHAR"),
    Column("_source_row", "BIGINT"),
    delivered("clients", "currency").but(meaning="ISO 4217 code the contract bills in; the policy's"
                                         " currency when the row names none"),
))
TICKETS = Table("staging.tickets", (
    *_staged("tickets", "ticket_id client_id"),
    Column("month", "DATE", True, "first of the creation month in the client's zone"),
    *_staged("tickets", "requester created_at"),
    Column("created_local", "TIMESTAMP", True, "created_at in the client's zone"),
    *_staged("tickets", "subject description category source"),
    Column("is_provider_initiated", "BOOLEAN", True),
    delivered("tickets", "declared_emergency"),
    Column("triage_priority_raw", "VARCHAR", meaning="triage_priority as delivered"),
    Column("triage_priority", "VARCHAR", meaning="the policy priority `priority_map` maps it to"),
    Column("final_priority_raw", "VARCHAR", meaning="final_priority as delivered"),
    Column("final_priority", "VARCHAR", meaning="the policy priority `priority_map` maps it to"),
    *_staged("tickets", "parent_ticket_id affected_users status resolved_at updated_at source_sla_met"),
    Column("versions_delivered", "INTEGER", True),
    *_SOURCE,
))
TICKET_EVENTS = Table("staging.ticket_events", (
    Column("month", "DATE", True, "the ticket's month"),
    *_staged("ticket_events", "event_id ticket_id event_at event_type actor_type actor is_public"
                              " new_value"),
    *_SOURCE,
))
TIME_ENTRIES = Table("staging.time_entries", (
    Column("month", "DATE", True, "the ticket's month"),
    *_staged("time_entries", "entry_id ticket_id started_at minutes work_type billable note"),
    Column("outside_hours", "BOOLEAN", meaning="started while the client's business calendar was closed"),
    *_SOURCE,
))
REVIEW_DECISIONS = Table("staging.review_decisions", (
    delivered("review_decisions", "ticket_id"),
    delivered("review_decisions", "decision").but(
        meaning="as delivered, e.g. 'scope:onsite=approved'"),
    Column("kind", "VARCHAR", True, "scope | emergency"),
    Column("scope_id", "VARCHAR", meaning="for scope decisions"),
    Column("verdict", "VARCHAR", True, "approved | rejected | noted | confirmed | denied"),
    *_staged("review_decisions", "reviewer decided_at note"),
    Column("is_current", "BOOLEAN", True, "the latest decision on this ticket and question"),
    *_SOURCE,
))
CALENDAR_INTERVALS = Table("staging.calendar_intervals", (
    Column("calendar_id", "VARCHAR", True, "a client id, or '24x7'"),
    Column("open_at", "TIMESTAMPTZ", True),
    Column("close_at", "TIMESTAMPTZ", True),
    Column("minutes", "DOUBLE", True),
    Column("cum_before", "DOUBLE", True, "business minutes of the calendar before open_at"),
))
# The instants each calendar's intervals cover: outside them a calendar is unknown, not closed.
CALENDAR_INTERVALS_COVERAGE = Table("staging.calendar_intervals_coverage", (
    Column("calendar_id", "VARCHAR", meaning="a client id, or '24x7'"),
    Column("covered_from", "TIMESTAMPTZ", meaning="local midnight of the first covered day"),
    Column("covered_to", "TIMESTAMPTZ", meaning="local midnight after the last covered day"),
))
CALENDAR_CLOSURES = Table("staging.calendar_closures", (
    Column("calendar_id", "VARCHAR", True),
    Column("day", "DATE", True, "local date the calendar is closed all day"),
    Column("name", "VARCHAR", True, "holiday or closure name"),
))

# The tables of these layers, in the order they are created.
LAYER_TABLES = (
    LANDING_FILES, *RAW.values(), QUARANTINE, WARNINGS, STAGE_RUNS, JUDGED_FILES, MOVED_TICKETS,
    STALE_MONTHS,
    CLIENTS, TICKETS, TICKET_EVENTS, TIME_ENTRIES, REVIEW_DECISIONS, CALENDAR_INTERVALS,
    CALENDAR_INTERVALS_COVERAGE, CALENDAR_CLOSURES,
)

# Schemas, the tables' DDL, and the view every use of a ticket's contract reads.
LAYER_DDL = [
    "CREATE SCHEMA IF NOT EXISTS raw",
    "CREATE SCHEMA IF NOT EXISTS staging",
    "CREATE SCHEMA IF NOT EXISTS marts",
    "CREATE SCHEMA IF NOT EXISTS quality",
    *[statement for table in LAYER_TABLES for statement in table.ddl()],
    # The contract row in force on the (local) day each ticket was opened: one join for every use.
    """CREATE OR REPLACE VIEW staging.ticket_contract AS
        SELECT t.ticket_id, t.month, c.* EXCLUDE (_source_file, _source_row)
        FROM staging.tickets t JOIN staging.clients c
          ON c.client_id = t.client_id AND CAST(t.created_local AS DATE) >= c.valid_from
         AND (c.valid_to IS NULL OR CAST(t.created_local AS DATE) < c.valid_to)""",
]
