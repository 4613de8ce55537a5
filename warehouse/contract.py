"""The canonical input contract: columns per entity, required columns, time column, record key."""


# Canonical input columns per entity (PRODUCT.md contract). Raw keeps them as delivered text.
CANONICAL: dict[str, list[str]] = {
    "clients": [
        "client_id", "name", "timezone", "country", "subdivision", "plan", "seats",
        "after_hours_coverage", "included_scope", "hourly_rate", "valid_from",
        "business_hours", "response_targets", "closures", "currency",
    ],
    "tickets": [
        "ticket_id", "client_id", "requester", "created_at", "subject", "description",
        "category", "source", "declared_emergency", "triage_priority", "final_priority",
        "parent_ticket_id", "affected_users", "status", "resolved_at", "updated_at",
        "source_sla_met",
    ],
    "ticket_events": [
        "event_id", "ticket_id", "event_at", "event_type", "actor_type", "actor", "is_public",
        "new_value",
    ],
    "time_entries": [
        "entry_id", "ticket_id", "started_at", "minutes", "work_type", "billable", "note",
    ],
    "review_decisions": ["ticket_id", "decision", "reviewer", "decided_at", "note"],
}

# Columns without which a file of that entity cannot be accepted at all.
REQUIRED: dict[str, list[str]] = {
    "clients": ["client_id", "name", "timezone", "plan", "seats", "valid_from"],
    "tickets": ["ticket_id", "client_id", "created_at"],
    "ticket_events": ["ticket_id", "event_at", "event_type", "actor_type"],
    "time_entries": ["ticket_id", "started_at", "minutes"],
    "review_decisions": ["ticket_id", "decision", "decided_at"],
}

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
