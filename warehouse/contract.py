"""The contract of delivered files: typed columns per entity with their meaning, required
columns, time column, record key."""

from warehouse.columns import Column

# One row of a delivered file per entity (PRODUCT.md contract; docs/canonical-format.md is made
# from this). `type` is what staging makes of the value; raw keeps it as delivered text.
DELIVERED: dict[str, tuple[Column, ...]] = {
    "clients": (
        Column("client_id", "VARCHAR", True, "stable client key"),
        Column("name", "VARCHAR", True, "client name shown in its report"),
        Column("timezone", "VARCHAR", True, "e.g. `Europe/London`; business hours and the ticket's"
               " month are judged here", "IANA zone"),
        Column("country", "VARCHAR", False, "public holidays (SLA clock)", "ISO 3166 alpha-2"),
        Column("subdivision", "VARCHAR", False, "state/region for holidays, e.g. `CA`, `BY`, `NSW`"),
        Column("plan", "VARCHAR", True, "one of the policy config's `fair_use.plans` ids"),
        Column("seats", "INTEGER", True, "covered users", "integer > 0"),
        Column("after_hours_coverage", "BOOLEAN", False,
               "after-hours emergency response contracted (empty = not contracted)"),
        Column("included_scope", "VARCHAR[]", False,
               "scope exclusions the written agreement includes", "`;`-separated ids"),
        Column("hourly_rate", "DOUBLE", False, "rate for separately billed work; else the rate card",
               "number > 0"),
        Column("valid_from", "DATE", True,
               "the row applies from this date until the next row's `valid_from`"),
        Column("business_hours", "VARCHAR", False,
               "the contract's business hours, e.g. `mon-fri 08:00-12:00,13:00-17:00; sat 09:00-12:00`;"
               " else the policy's"),
        Column("response_targets", "MAP(VARCHAR, DOUBLE)", False,
               "per-priority response targets in business minutes that override the policy's,"
               " e.g. `emergency=30;high=90`", "`;`-separated `priority=minutes`"),
        Column("closures", "DATE[]", False, "extra days the client is closed all day",
               "`;`-separated dates"),
        Column("currency", "VARCHAR", False,
               "the currency the contract bills in; else the policy's `currency`. A contract in"
               " another currency than the policy's must give its own `hourly_rate` (the rate card"
               " is in the policy's currency)", "ISO 4217 code (3 letters)", added=True),
    ),
    "tickets": (
        Column("ticket_id", "VARCHAR", True,
               "unique per ticket; a later delivery of the same id supersedes the earlier"),
        Column("client_id", "VARCHAR", True, "must match a client"),
        Column("requester", "VARCHAR", False,
               "the person who raised it (shown in that client's report only)"),
        Column("created_at", "TIMESTAMPTZ", True, "when the ticket was opened"),
        Column("subject", "VARCHAR", False, "ticket text (always HTML-escaped when shown)"),
        Column("description", "VARCHAR", False, "ticket text (always HTML-escaped when shown)"),
        Column("category", "VARCHAR", False, "the PSA's category"),
        Column("source", "VARCHAR", False,
               "email / phone / portal / chat / monitoring (monitoring = provider-initiated)"),
        Column("declared_emergency", "BOOLEAN", False, "the client declared an emergency at intake"),
        Column("triage_priority", "VARCHAR", False,
               "priority set at triage (any PSA wording; mapped by `priority_map`)"),
        Column("final_priority", "VARCHAR", False, "priority confirmed by staff at close"),
        Column("parent_ticket_id", "VARCHAR", False,
               "links a ticket to the ticket of the same interruption"),
        Column("affected_users", "INTEGER", False, "users affected, as reported"),
        Column("status", "VARCHAR", False, "PSA status"),
        Column("resolved_at", "TIMESTAMPTZ", False, "when the ticket was resolved"),
        Column("updated_at", "TIMESTAMPTZ", False, "orders versions of the same ticket"),
        Column("source_sla_met", "BOOLEAN", False,
               "the source system's own SLA verdict, for reconciliation"),
    ),
    "ticket_events": (
        Column("event_id", "VARCHAR", False, "unique per event (deduplicates re-deliveries)"),
        Column("ticket_id", "VARCHAR", True, "the ticket the event belongs to"),
        Column("event_at", "TIMESTAMPTZ", True, "when it happened"),
        Column("event_type", "VARCHAR", True,
               "e.g. created, auto_acknowledgement, agent_reply, client_reply, internal_note,"
               " status_change, priority_change, assignment"),
        Column("actor_type", "VARCHAR", True, "only agents can respond; system events never count",
               "agent / client / system"),
        Column("actor", "VARCHAR", False, "who acted"),
        Column("is_public", "BOOLEAN", False, "visible to the client"),
        Column("new_value", "VARCHAR", False, "new status or priority for change events"),
    ),
    "time_entries": (
        Column("entry_id", "VARCHAR", False, "unique per entry"),
        Column("ticket_id", "VARCHAR", True, "the ticket the work was for"),
        Column("started_at", "TIMESTAMPTZ", True, "when the work started"),
        Column("minutes", "DOUBLE", True, "minutes worked", "number >= 0"),
        Column("work_type", "VARCHAR", False, "where the work was done", "remote / onsite / travel"),
        Column("billable", "BOOLEAN", False, "the PSA's billable flag"),
        Column("note", "VARCHAR", False, "the technician's note"),
    ),
    "review_decisions": (
        Column("ticket_id", "VARCHAR", True, "the ticket decided on"),
        Column("decision", "VARCHAR", True,
               "`scope:<id>=approved` / `rejected`, `emergency=confirmed` / `denied`"),
        Column("reviewer", "VARCHAR", False, "who decided"),
        Column("decided_at", "TIMESTAMPTZ", True, "when"),
        Column("note", "VARCHAR", False, "the reviewer's note"),
    ),
}

# Canonical input columns per entity, in file (and raw table) order.
CANONICAL: dict[str, list[str]] = {e: [c.name for c in cols] for e, cols in DELIVERED.items()}

# Columns without which a file of that entity cannot be accepted at all (a row with one of
# them empty is quarantined on its own).
REQUIRED: dict[str, list[str]] = {
    e: [c.name for c in cols if c.required] for e, cols in DELIVERED.items()}


def columns(entity: str, without: tuple[str, ...] = ()) -> list[str]:
    """The entity's canonical columns in contract order, less `without` (each must exist)."""
    unknown = set(without) - set(CANONICAL[entity])
    if unknown:
        raise KeyError(f"not {entity} columns: {sorted(unknown)}")
    return [c for c in CANONICAL[entity] if c not in without]


def delivered(entity: str, name: str) -> Column:
    """The contract's column `name` of `entity`, to reuse in a table that stages it."""
    return next(c for c in DELIVERED[entity] if c.name == name)


# The timestamp that places a row in time, per entity (used to prune files by month).
TIME_COLUMN: dict[str, str] = {
    "clients": "valid_from",
    "tickets": "created_at",
    "ticket_events": "event_at",
    "time_entries": "started_at",
    "review_decisions": "decided_at",
}

# A delivered timestamp or number as the value it means, not its spelling: `…T11:00:00Z` and
# `…T11:00:00+00:00` are one instant, `120` and `120.0` one number (the text when unreadable).
def _instant(column: str) -> str:
    return f"coalesce(epoch_us(try_cast({column} AS TIMESTAMPTZ))::VARCHAR, {column})"


def _number(column: str) -> str:
    return f"coalesce(try_cast({column} AS DOUBLE)::VARCHAR, {column})"


# What makes two delivered rows the same record: a later delivery of the key supersedes an
# earlier one. Events and time entries without an id are the same record when their content is
# (the same instant, the same number; see _instant).
RECORD_KEY: dict[str, str] = {
    "clients": "concat_ws('|', trim(client_id), CAST(try_cast(valid_from AS DATE) AS VARCHAR))",
    "tickets": "trim(ticket_id)",
    "ticket_events": (
        f"coalesce(nullif(trim(event_id), ''), concat_ws('|', trim(ticket_id), {_instant('event_at')},"
        " lower(trim(event_type)), actor, new_value))"
    ),
    "time_entries": (
        "coalesce(nullif(trim(entry_id), ''), concat_ws('|', trim(ticket_id),"
        f" {_instant('started_at')}, {_number('minutes')}, lower(trim(work_type)), note))"
    ),
    # Every decision is kept (history), so no decision row supersedes another.
    "review_decisions": "concat_ws('|', _source_file, _source_row)",
}
