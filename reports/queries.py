"""Read-only queries over the marts that the reports render (small results, as DataFrames)."""

import duckdb
import pandas as pd


def client_months(con: duckdb.DuckDBPyConnection, month: str) -> pd.DataFrame:
    """Every client's row for the month, with the previous month's figures for the change."""
    return con.execute(
        """SELECT cm.*, prev.standard_units AS prev_standard_units,
                  prev.units_per_seat AS prev_units_per_seat, prev.tickets AS prev_tickets
           FROM marts.client_month cm
           LEFT JOIN marts.client_month prev
             ON prev.client_id = cm.client_id AND prev.month = cm.month - INTERVAL 1 MONTH
           WHERE cm.month = ?
           ORDER BY cm.client_name""",
        [month],
    ).df()


def client_trend(con: duckdb.DuckDBPyConnection, client_id: str, month: str) -> pd.DataFrame:
    """The client's last 12 months up to and including `month`."""
    return con.execute(
        """SELECT month, tickets, standard_units, seats, units_per_seat, rolling_units_per_seat,
                  fair_use_limit_per_seat, fair_use_status, sla_tickets, sla_met, sla_compliance,
                  emergencies_declared, emergencies_confirmed, out_of_scope_tickets,
                  out_of_scope_amount
           FROM marts.client_month
           WHERE client_id = ? AND month BETWEEN CAST(? AS DATE) - INTERVAL 11 MONTH AND CAST(? AS DATE)
           ORDER BY month""",
        [client_id, month, month],
    ).df()


def client_drivers(con: duckdb.DuckDBPyConnection, client_id: str, month: str) -> pd.DataFrame:
    """Top categories and busiest requesters of the client's month."""
    return con.execute(
        """SELECT driver_type, driver, tickets, standard_units, share, rank
           FROM marts.client_month_drivers WHERE client_id = ? AND month = ?
           ORDER BY driver_type, rank""",
        [client_id, month],
    ).df()


def client_categories(con: duckdb.DuckDBPyConnection, client_id: str, month: str) -> pd.DataFrame:
    """Standard units and provider-initiated tickets per category for the client's month."""
    return con.execute(
        """SELECT coalesce(category, '(none)') AS category,
                  count(DISTINCT unit_id) FILTER (WHERE is_standard) AS standard_units,
                  count(*) FILTER (WHERE is_standard) AS standard_tickets,
                  count(*) FILTER (WHERE is_provider_initiated) AS provider_initiated
           FROM marts.ticket_facts WHERE client_id = ? AND month = ?
           GROUP BY ALL ORDER BY standard_units DESC, category""",
        [client_id, month],
    ).df()


def grouped_units(con: duckdb.DuckDBPyConnection, client_id: str, month: str) -> pd.DataFrame:
    """Ticket units made of several tickets (one interruption reported by many), with their ids."""
    return con.execute(
        """SELECT unit_id, count(*) AS tickets, count(DISTINCT requester) AS requesters,
                  min(created_at) AS first_at,
                  arg_min(subject, created_at) AS first_subject,
                  string_agg(ticket_id, ', ' ORDER BY created_at) AS ticket_ids,
                  string_agg(DISTINCT unit_rule, ', ' ORDER BY unit_rule) AS rules
           FROM marts.ticket_facts
           WHERE client_id = ? AND month = ? AND is_standard
           GROUP BY unit_id HAVING count(*) > 1
           ORDER BY tickets DESC, first_at""",
        [client_id, month],
    ).df()


def provider_initiated(con: duckdb.DuckDBPyConnection, client_id: str, month: str) -> pd.DataFrame:
    """Tickets the provider opened itself (not counted against the client)."""
    return con.execute(
        """SELECT ticket_id, created_at, subject FROM marts.ticket_facts
           WHERE client_id = ? AND month = ? AND is_provider_initiated ORDER BY created_at""",
        [client_id, month],
    ).df()


def client_sla_by_priority(con: duckdb.DuckDBPyConnection, client_id: str, month: str) -> pd.DataFrame:
    """Response-time compliance per target priority for the client's month."""
    return con.execute(
        """SELECT priority, sla_tickets, sla_met, sla_breached, sla_pending, sla_compliance,
                  response_p50_minutes, response_p90_minutes, target_minutes
           FROM marts.client_month_sla WHERE client_id = ? AND month = ?
           ORDER BY list_position(['emergency', 'high', 'normal', 'low'], priority)""",
        [client_id, month],
    ).df()


def client_sla_trend(con: duckdb.DuckDBPyConnection, client_id: str, month: str) -> pd.DataFrame:
    """Compliance per target priority over the client's last 12 months."""
    return con.execute(
        """SELECT month, priority, sla_tickets, sla_compliance FROM marts.client_month_sla
           WHERE client_id = ? AND month BETWEEN CAST(? AS DATE) - INTERVAL 11 MONTH AND CAST(? AS DATE)
           ORDER BY month, priority""",
        [client_id, month, month],
    ).df()


def client_breaches(con: duckdb.DuckDBPyConnection, client_id: str, month: str) -> pd.DataFrame:
    """The month's breached tickets with their clock explanation, worst first."""
    return con.execute(
        """SELECT ticket_id, created_at, subject, target_priority, response_target_minutes,
                  response_business_minutes, sla_explanation
           FROM marts.sla_breaches WHERE client_id = ? AND month = ?
           ORDER BY response_business_minutes - response_target_minutes DESC NULLS FIRST, ticket_id""",
        [client_id, month],
    ).df()


def client_reconciliation(con: duckdb.DuckDBPyConnection, client_id: str, month: str) -> pd.DataFrame:
    """Tickets where the source system's SLA verdict differs from ours."""
    return con.execute(
        """SELECT ticket_id, source_sla_met, response_met, response_business_minutes,
                  response_target_minutes, sla_explanation
           FROM marts.ticket_facts
           WHERE client_id = ? AND month = ? AND source_sla_met IS NOT NULL
             AND response_met IS NOT NULL AND source_sla_met <> response_met
           ORDER BY ticket_id""",
        [client_id, month],
    ).df()


def client_reconciliation_summary(
    con: duckdb.DuckDBPyConnection, client_id: str, month: str
) -> dict | None:
    """Agreement between our verdicts and the source's, when the export carries one."""
    row = con.execute(
        "SELECT tickets_compared, agree, disagree, agreement_rate FROM marts.sla_reconciliation"
        " WHERE client_id = ? AND month = ?",
        [client_id, month],
    ).fetchone()
    if row is None:
        return None
    return dict(zip(["tickets_compared", "agree", "disagree", "agreement_rate"], row, strict=True))


def client_out_of_scope(con: duckdb.DuckDBPyConnection, client_id: str, month: str) -> pd.DataFrame:
    """The client's billable out-of-scope tickets, largest amount first."""
    return con.execute(
        """SELECT ticket_id, subject, primary_category, array_to_string(scope_categories, ', ') AS categories,
                  evidence, confidence, review_status, reviewer, billable_hours, hourly_rate, amount
           FROM marts.out_of_scope WHERE client_id = ? AND month = ?
           ORDER BY amount DESC, ticket_id""",
        [client_id, month],
    ).df()


def client_out_of_scope_trend(con: duckdb.DuckDBPyConnection, client_id: str,
                              month: str) -> pd.DataFrame:
    """Approved and pending (not yet reviewed) out-of-scope amounts per month, last 12 months."""
    return con.execute(
        """SELECT month,
                  coalesce(sum(amount) FILTER (WHERE review_status = 'approved'), 0) AS approved,
                  coalesce(sum(amount) FILTER (WHERE review_status <> 'approved'), 0) AS pending
           FROM marts.out_of_scope
           WHERE client_id = ? AND month BETWEEN CAST(? AS DATE) - INTERVAL 11 MONTH AND CAST(? AS DATE)
           GROUP BY month ORDER BY month""",
        [client_id, month, month],
    ).df()


def client_contract(con: duckdb.DuckDBPyConnection, client_id: str, month: str) -> dict | None:
    """The client's contract in force at the end of the month: zone, hours, emergency cover."""
    row = con.execute(
        """SELECT timezone, business_hours, after_hours_coverage, seats, plan, currency
           FROM staging.clients
           WHERE client_id = ? AND valid_from < CAST(? AS DATE) + INTERVAL 1 MONTH
             AND (valid_to IS NULL OR valid_to > CAST(? AS DATE))
           ORDER BY valid_from DESC LIMIT 1""",
        [client_id, month, month],
    ).fetchone()
    if row is None:
        return None
    return dict(zip(["timezone", "business_hours", "after_hours_coverage", "seats", "plan",
                     "currency"], row, strict=True))


def client_inputs(con: duckdb.DuckDBPyConnection, client_id: str, month: str) -> dict:
    """What the month's figures could rest on: tickets with events, with text, with time logged."""
    row = con.execute(
        """SELECT count(*),
                  count(*) FILTER (WHERE first_response_at IS NOT NULL OR EXISTS (
                      SELECT 1 FROM staging.ticket_events e WHERE e.ticket_id = f.ticket_id)),
                  count(*) FILTER (WHERE coalesce(trim(subject), '') <> ''),
                  count(*) FILTER (WHERE logged_minutes > 0)
           FROM marts.ticket_facts f WHERE client_id = ? AND month = ?""",
        [client_id, month],
    ).fetchone()
    return dict(zip(["tickets", "with_events", "with_text", "with_time"], row, strict=True))


def client_scope_hits(con: duckdb.DuckDBPyConnection, client_id: str, month: str) -> pd.DataFrame:
    """Scope hits that are not billed: included in the contract, or rejected by a reviewer."""
    return con.execute(
        """SELECT h.ticket_id, f.subject, h.scope_id, h.confidence, h.evidence, h.review_status,
                  h.reviewer, h.included_in_contract
           FROM marts.scope_hits h JOIN marts.ticket_facts f USING (ticket_id)
           WHERE h.client_id = ? AND h.month = ? AND NOT h.billable
           ORDER BY h.ticket_id, h.scope_id""",
        [client_id, month],
    ).df()


def client_emergencies(con: duckdb.DuckDBPyConnection, client_id: str, month: str) -> pd.DataFrame:
    """Tickets that anyone called an emergency: declared, triaged, confirmed or policy reading."""
    return con.execute(
        """SELECT ticket_id, unit_id, created_at, subject, declared_emergency, triage_priority,
                  confirmed_emergency, confirmed_by, qualifies_emergency, emergency_confidence,
                  emergency_evidence, response_status
           FROM marts.ticket_facts
           WHERE client_id = ? AND month = ? AND NOT is_provider_initiated
             AND (declared_emergency OR triage_priority = 'emergency' OR confirmed_emergency
                  OR qualifies_emergency)
           ORDER BY created_at""",
        [client_id, month],
    ).df()


def automation_agreement(con: duckdb.DuckDBPyConnection, month: str) -> list[dict]:
    """Agreement between automated calls and human decisions, per kind of call."""
    return con.execute(
        "SELECT kind, reviewed, agreed, agreement_rate FROM marts.automation_agreement"
        " WHERE month = ? ORDER BY kind",
        [month],
    ).df().to_dict("records")


def client_tickets(con: duckdb.DuckDBPyConnection, client_id: str, month: str) -> pd.DataFrame:
    """Every ticket of the client's month: the ids behind each number of the report."""
    return con.execute(
        """SELECT ticket_id, created_at, subject, category, priority, target_priority,
                  is_provider_initiated,
                  is_standard, unit_id, unit_rule,
                  array_to_string(scope_categories, ', ') AS scope_categories,
                  billable_out_of_scope, declared_emergency, confirmed_emergency,
                  response_status, response_business_minutes, response_target_minutes
           FROM marts.ticket_facts WHERE client_id = ? AND month = ?
           ORDER BY created_at, ticket_id""",
        [client_id, month],
    ).df()


def client_quarantine(con: duckdb.DuckDBPyConnection, client_id: str, month: str) -> pd.DataFrame:
    """The client's rows held back by validation, per stage and reason, with one example each.

    Rows of unpartitioned entities (contracts, events without a month) have no partition month;
    they are shown in every month until they are fixed. Rows of files rejected whole are left
    out: their example quotes the file, which may hold other clients' rows.
    """
    return con.execute(
        """SELECT stage, entity, reason_code, count(*) AS rows,
                  arg_min({'file': source_file, 'row': source_row, 'field': field,
                           'value': raw_value, 'reason': reason},
                          (source_file, source_row)) AS example,
                  string_agg(DISTINCT record_key, ', ' ORDER BY record_key) AS record_keys
           FROM quality.quarantine
           WHERE client_id = ? AND (partition_month = ? OR partition_month IS NULL)
             AND NOT EXISTS (SELECT 1 FROM raw.landing_files f
                             WHERE f.status = 'rejected' AND f.path = source_file)
           GROUP BY stage, entity, reason_code
           ORDER BY rows DESC, stage, reason_code""",
        [client_id, month],
    ).df()


# What a file rejected whole is refused for, in words that quote nothing from the file: its reason
# text quotes the file (a line, a value), which may be another client's data or not data at all.
FILE_PROBLEMS = {
    "empty_file": "the file is empty",
    "unsupported_encoding": "the file's text encoding is not supported",
    "non_utf8": "the file holds bytes that are not UTF-8 text",
    "duplicate_column": "a column appears more than once in the header",
    "missing_column": "a required column is missing",
    "renamed_column": "a required column is missing (probably renamed)",
    "wrong_type": "a column has the wrong type",
    "invalid_json": "no line of the file is a JSON object",
    "truncated_row": "the file is cut off mid-row",
    "unbalanced_quote": "a quote opens and never closes, swallowing the rest of the file",
    "unparseable_timestamp": "no row has a readable time, so the file cannot be placed in time",
    "unreadable_file": "the file could not be read",
}


def rejected_files(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Files rejected whole (no row could be read), with their problem in general terms.

    The stored reason is not selected: it quotes the file. Operators read it in
    raw.landing_files, quality.quarantine and the data-quality docs.
    """
    df = con.execute(
        """SELECT entity, path, format, first_seen_at, reason_code
           FROM raw.landing_files WHERE status = 'rejected'
           ORDER BY first_seen_at, path""",
    ).df()
    df["problem"] = [FILE_PROBLEMS.get(code, f"the file could not be read ({code})")
                     for code in df["reason_code"]]
    return df


def landing_file_status(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Delivered files per entity and status (accepted, duplicate, rejected), with their rows."""
    return con.execute(
        """SELECT entity, status, count(*) AS files, coalesce(sum(data_rows), 0) AS data_rows
           FROM raw.landing_files GROUP BY ALL ORDER BY entity, status""",
    ).df()


def has_relation(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    """Whether a table or view exists (a view another stage provides may not be built yet)."""
    return con.execute(
        "SELECT count(*) > 0 FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [schema, name],
    ).fetchone()[0]


def file_reconciliation(con: duckdb.DuckDBPyConnection) -> pd.DataFrame | None:
    """Per delivered file: rows delivered, accepted, quarantined, superseded and whether they add up.

    Read from quality.file_reconciliation, which the ingest stage maintains; None where the
    warehouse predates that view.
    """
    if not has_relation(con, "quality", "file_reconciliation"):
        return None
    return con.execute(
        """SELECT file_id, path, entity, status, delivered, accepted, quarantined, superseded,
                  reconciles
           FROM quality.file_reconciliation
           ORDER BY reconciles, quarantined DESC, path""",
    ).df()
