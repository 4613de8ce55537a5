"""Warehouse layout: schemas, the canonical entities and the tables every layer writes."""


import hashlib

import duckdb

from assets.sqlquote import sql_literal

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

LINEAGE_COLUMNS = """
    _file_id VARCHAR NOT NULL,
    _source_file VARCHAR NOT NULL,
    _source_row BIGINT NOT NULL,
    _loaded_at TIMESTAMPTZ NOT NULL,
    _extra JSON
"""

DDL = [
    "CREATE SCHEMA IF NOT EXISTS raw",
    "CREATE SCHEMA IF NOT EXISTS staging",
    "CREATE SCHEMA IF NOT EXISTS marts",
    "CREATE SCHEMA IF NOT EXISTS quality",
    """CREATE TABLE IF NOT EXISTS raw.landing_files (
        file_id VARCHAR NOT NULL,         -- sha256 of the file's bytes
        entity VARCHAR NOT NULL,
        path VARCHAR NOT NULL,            -- relative to the landing folder
        format VARCHAR NOT NULL,
        bytes BIGINT NOT NULL,
        data_rows BIGINT,
        first_seen_at TIMESTAMPTZ NOT NULL,
        status VARCHAR NOT NULL,          -- accepted | duplicate | rejected | replaced
        duplicate_of VARCHAR,
        reason VARCHAR,
        columns VARCHAR[],
        extra_columns VARCHAR[],
        min_month DATE,
        max_month DATE,
        PRIMARY KEY (path, file_id)
    )""",
    # Added after the first release: existing warehouses gain them in place.
    "ALTER TABLE raw.landing_files ADD COLUMN IF NOT EXISTS reason_code VARCHAR",
    "ALTER TABLE raw.landing_files ADD COLUMN IF NOT EXISTS encoding VARCHAR",
    # Data rows the file reader could not parse (quarantined at landing), e.g. a cut-off last line.
    "ALTER TABLE raw.landing_files ADD COLUMN IF NOT EXISTS rejected_rows BIGINT[]",
    "ALTER TABLE raw.landing_files ADD COLUMN IF NOT EXISTS warnings VARCHAR[]",
    # Size and modification time when registered: an unchanged file is not read again.
    "ALTER TABLE raw.landing_files ADD COLUMN IF NOT EXISTS modified_ns BIGINT",
    # A CSV file whose lines end in CRLF and in LF: read with the lenient reader.
    "ALTER TABLE raw.landing_files ADD COLUMN IF NOT EXISTS mixed_line_endings BOOLEAN",
    *[
        f"""CREATE TABLE IF NOT EXISTS raw.{entity} (
            {", ".join(f'"{c}" VARCHAR' for c in cols)},
            {LINEAGE_COLUMNS}
            {", _partition_month DATE NOT NULL" if entity == "tickets" else ""}
        )"""
        for entity, cols in CANONICAL.items()
    ],
    # Canonical columns added after a warehouse was created (a contract's currency).
    "ALTER TABLE raw.clients ADD COLUMN IF NOT EXISTS currency VARCHAR",
    """CREATE TABLE IF NOT EXISTS quality.quarantine (
        stage VARCHAR NOT NULL,           -- the asset that rejected the row
        entity VARCHAR NOT NULL,
        partition_month DATE,             -- NULL for unpartitioned assets
        source_file VARCHAR,
        source_row BIGINT,
        record_key VARCHAR,               -- e.g. the ticket id, when there is one
        client_id VARCHAR,                -- the client the row belongs to, when it can be told
        field VARCHAR,
        raw_value VARCHAR,
        reason_code VARCHAR NOT NULL,
        reason VARCHAR NOT NULL,
        detected_at TIMESTAMPTZ NOT NULL
    )""",
    # Rows accepted with a caveat (a file read as Latin-1, a priority not in the map, ...).
    """CREATE TABLE IF NOT EXISTS quality.warnings (
        stage VARCHAR NOT NULL,
        entity VARCHAR NOT NULL,
        partition_month DATE,
        source_file VARCHAR,
        source_row BIGINT,                -- NULL for a warning about the whole file
        record_key VARCHAR,
        client_id VARCHAR,
        field VARCHAR,
        raw_value VARCHAR,
        reason_code VARCHAR NOT NULL,
        reason VARCHAR NOT NULL,
        detected_at TIMESTAMPTZ NOT NULL
    )""",
    # Which stage has judged which month: rows of a month not judged yet are pending, not lost.
    """CREATE TABLE IF NOT EXISTS quality.stage_runs (
        stage VARCHAR NOT NULL,
        partition_month DATE,             -- NULL for unpartitioned stages
        finished_at TIMESTAMPTZ NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS quality.moved_tickets (
        month DATE NOT NULL,              -- the partition an older version was filed under
        ticket_id VARCHAR NOT NULL,
        latest_month DATE NOT NULL,       -- where the latest version lives (and is counted)
        raw_rows INTEGER NOT NULL         -- raw rows of this month superseded from elsewhere
    )""",
    """CREATE TABLE IF NOT EXISTS quality.stale_months (
        month DATE NOT NULL,              -- its marts count tickets now staged in another month
        detected_at TIMESTAMPTZ NOT NULL  -- cleared when the month is staged again
    )""",
    """CREATE TABLE IF NOT EXISTS staging.clients (
        client_id VARCHAR NOT NULL,
        name VARCHAR NOT NULL,
        timezone VARCHAR NOT NULL,
        country VARCHAR,
        subdivision VARCHAR,
        plan VARCHAR NOT NULL,
        seats INTEGER NOT NULL,
        after_hours_coverage BOOLEAN NOT NULL,
        included_scope VARCHAR[] NOT NULL,
        hourly_rate DOUBLE,
        business_hours VARCHAR,           -- contract hours, e.g. 'mon-fri 08:00-17:00'; NULL = policy
        response_targets MAP(VARCHAR, DOUBLE),  -- per-priority overrides in business minutes
        closures DATE[] NOT NULL,         -- extra closed days of this contract
        valid_from DATE NOT NULL,
        valid_to DATE,                    -- exclusive; NULL while in force
        _source_file VARCHAR,
        _source_row BIGINT
    )""",
    # ISO 4217 code the contract bills in; the policy's currency when the row names none.
    "ALTER TABLE staging.clients ADD COLUMN IF NOT EXISTS currency VARCHAR",
    """CREATE TABLE IF NOT EXISTS staging.tickets (
        ticket_id VARCHAR NOT NULL,
        client_id VARCHAR NOT NULL,
        month DATE NOT NULL,              -- first of the creation month in the client's zone
        requester VARCHAR,
        created_at TIMESTAMPTZ NOT NULL,
        created_local TIMESTAMP NOT NULL,
        subject VARCHAR,
        description VARCHAR,
        category VARCHAR,
        source VARCHAR,
        is_provider_initiated BOOLEAN NOT NULL,
        declared_emergency BOOLEAN,
        triage_priority_raw VARCHAR,
        triage_priority VARCHAR,
        final_priority_raw VARCHAR,
        final_priority VARCHAR,
        parent_ticket_id VARCHAR,
        affected_users INTEGER,
        status VARCHAR,
        resolved_at TIMESTAMPTZ,
        updated_at TIMESTAMPTZ,
        source_sla_met BOOLEAN,
        versions_delivered INTEGER NOT NULL,
        _source_file VARCHAR NOT NULL,
        _source_row BIGINT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS staging.ticket_events (
        month DATE NOT NULL,              -- the ticket's month
        event_id VARCHAR,
        ticket_id VARCHAR NOT NULL,
        event_at TIMESTAMPTZ NOT NULL,
        event_type VARCHAR NOT NULL,
        actor_type VARCHAR NOT NULL,
        actor VARCHAR,
        is_public BOOLEAN,
        new_value VARCHAR,
        _source_file VARCHAR NOT NULL,
        _source_row BIGINT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS staging.time_entries (
        month DATE NOT NULL,              -- the ticket's month
        entry_id VARCHAR,
        ticket_id VARCHAR NOT NULL,
        started_at TIMESTAMPTZ NOT NULL,
        minutes DOUBLE NOT NULL,
        work_type VARCHAR,
        billable BOOLEAN,
        note VARCHAR,
        outside_hours BOOLEAN,            -- started while the client's business calendar was closed
        _source_file VARCHAR NOT NULL,
        _source_row BIGINT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS staging.review_decisions (
        ticket_id VARCHAR NOT NULL,
        decision VARCHAR NOT NULL,        -- as delivered, e.g. 'scope:onsite=approved'
        kind VARCHAR NOT NULL,            -- scope | emergency
        scope_id VARCHAR,                 -- for scope decisions
        verdict VARCHAR NOT NULL,         -- approved | rejected | noted | confirmed | denied
        reviewer VARCHAR,
        decided_at TIMESTAMPTZ NOT NULL,
        note VARCHAR,
        is_current BOOLEAN NOT NULL,      -- the latest decision on this ticket and question
        _source_file VARCHAR NOT NULL,
        _source_row BIGINT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS staging.calendar_intervals (
        calendar_id VARCHAR NOT NULL,     -- a client id, or '24x7'
        open_at TIMESTAMPTZ NOT NULL,
        close_at TIMESTAMPTZ NOT NULL,
        minutes DOUBLE NOT NULL,
        cum_before DOUBLE NOT NULL        -- business minutes of the calendar before open_at
    )""",
    """CREATE TABLE IF NOT EXISTS staging.calendar_closures (
        calendar_id VARCHAR NOT NULL,
        day DATE NOT NULL,                -- local date the calendar is closed all day
        name VARCHAR NOT NULL             -- holiday or closure name
    )""",
    # The contract row in force on the (local) day each ticket was opened: one join for every use.
    """CREATE OR REPLACE VIEW staging.ticket_contract AS
        SELECT t.ticket_id, t.month, c.* EXCLUDE (_source_file, _source_row)
        FROM staging.tickets t JOIN staging.clients c
          ON c.client_id = t.client_id AND CAST(t.created_local AS DATE) >= c.valid_from
         AND (c.valid_to IS NULL OR CAST(t.created_local AS DATE) < c.valid_to)""",
    """CREATE TABLE IF NOT EXISTS marts.ticket_facts (
        ticket_id VARCHAR NOT NULL,
        client_id VARCHAR NOT NULL,
        month DATE NOT NULL,
        created_at TIMESTAMPTZ NOT NULL,
        requester VARCHAR,
        subject VARCHAR,
        category VARCHAR,
        source VARCHAR,
        priority VARCHAR,                 -- emergency | high | normal | low
        is_provider_initiated BOOLEAN NOT NULL,
        is_standard BOOLEAN NOT NULL,
        unit_id VARCHAR NOT NULL,
        unit_rule VARCHAR NOT NULL,       -- own | parent | interruption
        logged_minutes DOUBLE NOT NULL,
        after_hours_emergency_minutes DOUBLE NOT NULL,  -- billable emergency work outside hours
        after_hours_emergency_billable BOOLEAN NOT NULL,  -- ... for a client without after-hours cover
        scope_categories VARCHAR[],
        billable_out_of_scope BOOLEAN,
        declared_emergency BOOLEAN,       -- the client's word at intake
        triage_priority VARCHAR,          -- what triage (often AI-assisted) assigned
        confirmed_emergency BOOLEAN,      -- a review decision, else staff's final priority
        confirmed_by VARCHAR,             -- 'review by <reviewer>' | 'final priority'
        qualifies_emergency BOOLEAN,      -- the pipeline's reading of the policy (automated)
        emergency_confidence DOUBLE,
        emergency_evidence VARCHAR,
        target_priority VARCHAR,          -- the priority whose target applies (policy response)
        calendar_used VARCHAR,            -- the client's calendar id, or '24x7'
        first_response_at TIMESTAMPTZ,
        first_response_event VARCHAR,
        clock_started_at TIMESTAMPTZ,
        response_due_at TIMESTAMPTZ,
        response_business_minutes DOUBLE,
        response_target_minutes DOUBLE,
        response_met BOOLEAN,             -- NULL while pending
        response_status VARCHAR,          -- met | breached | pending; NULL = no SLA applies
        sla_explanation VARCHAR,
        source_sla_met BOOLEAN,           -- the source system's own verdict, when exported
        policy_version VARCHAR NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS marts.client_month (
        client_id VARCHAR NOT NULL,
        client_name VARCHAR NOT NULL,
        month DATE NOT NULL,
        plan VARCHAR NOT NULL,
        tickets INTEGER NOT NULL,
        provider_initiated_tickets INTEGER NOT NULL,
        standard_tickets INTEGER NOT NULL,
        standard_units INTEGER NOT NULL,
        seats DOUBLE NOT NULL,            -- time-weighted seats in force over the month
        units_per_seat DOUBLE NOT NULL,
        fair_use_limit_per_seat DOUBLE NOT NULL,
        fair_use_ratio DOUBLE NOT NULL,   -- units_per_seat / limit
        rolling_units_per_seat DOUBLE NOT NULL,
        rolling_months INTEGER NOT NULL,  -- months with data in the rolling window
        fair_use_status VARCHAR NOT NULL, -- within | watch | over
        peer_percentile DOUBLE,           -- 0..1 among all clients that month
        top_category VARCHAR,
        top_category_share DOUBLE,
        busiest_requesters_share DOUBLE,  -- share of standard tickets from the 3 busiest
        out_of_scope_tickets INTEGER,
        out_of_scope_hours DOUBLE,
        out_of_scope_amount DOUBLE,
        emergencies_declared INTEGER,
        emergencies_confirmed INTEGER,
        emergency_declaration_precision DOUBLE,  -- declared and confirmed / declared
        emergencies_missed INTEGER,       -- confirmed but not declared
        emergency_over_declaration_rate DOUBLE,  -- declared but not confirmed / declared
        triage_emergency_precision DOUBLE,
        triage_emergency_recall DOUBLE,
        emergency_policy_agreement DOUBLE,  -- automated policy reading = confirmed, share
        sla_tickets INTEGER,
        sla_met INTEGER,
        sla_compliance DOUBLE,
        response_p50_minutes DOUBLE,
        response_p90_minutes DOUBLE,
        policy_version VARCHAR NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS marts.scope_hits (
        ticket_id VARCHAR NOT NULL,
        client_id VARCHAR NOT NULL,
        month DATE NOT NULL,
        scope_id VARCHAR NOT NULL,
        confidence DOUBLE NOT NULL,       -- 1.0 for a hit added by a reviewer
        evidence VARCHAR NOT NULL,
        source VARCHAR NOT NULL,          -- automated | review
        review_status VARCHAR NOT NULL,   -- unreviewed | approved | rejected
        reviewer VARCHAR,
        decided_at TIMESTAMPTZ,
        included_in_contract BOOLEAN NOT NULL,
        billable BOOLEAN NOT NULL         -- accepted and not included in the contract
    )""",
    """CREATE TABLE IF NOT EXISTS marts.emergency_readings (
        month DATE NOT NULL,
        ticket_id VARCHAR NOT NULL,
        qualifies_emergency BOOLEAN NOT NULL,
        emergency_confidence DOUBLE NOT NULL,
        emergency_evidence VARCHAR
    )""",
    # Call states (docs/classification.md, abstention): added columns, so a warehouse built by an
    # earlier version gains them too.
    "ALTER TABLE marts.scope_hits ADD COLUMN IF NOT EXISTS call_state VARCHAR",
    "ALTER TABLE marts.scope_hits ADD COLUMN IF NOT EXISTS automated_call_state VARCHAR",
    "ALTER TABLE marts.emergency_readings ADD COLUMN IF NOT EXISTS emergency_call_state VARCHAR",
    # The semantic vote per distinct ticket text of a month (assets/semantic.py), computed once by
    # emergency_readings and read by scope_hits.
    """CREATE TABLE IF NOT EXISTS staging.semantic_scope_votes (
        month DATE NOT NULL,
        raw_txt VARCHAR NOT NULL,
        scope_id VARCHAR NOT NULL,
        vote DOUBLE NOT NULL,
        evidence VARCHAR
    )""",
    """CREATE TABLE IF NOT EXISTS staging.semantic_emergency_votes (
        month DATE NOT NULL,
        raw_txt VARCHAR NOT NULL,
        vote DOUBLE NOT NULL,
        evidence VARCHAR
    )""",
    """CREATE TABLE IF NOT EXISTS marts.out_of_scope (
        client_id VARCHAR NOT NULL,
        client_name VARCHAR NOT NULL,
        month DATE NOT NULL,
        ticket_id VARCHAR NOT NULL,
        created_at TIMESTAMPTZ NOT NULL,
        subject VARCHAR,
        scope_categories VARCHAR[] NOT NULL,
        primary_category VARCHAR NOT NULL,
        evidence VARCHAR NOT NULL,
        confidence DOUBLE NOT NULL,
        review_status VARCHAR NOT NULL,   -- unreviewed | approved (any rejected hit is dropped)
        reviewer VARCHAR,
        billable_hours DOUBLE NOT NULL,
        hourly_rate DOUBLE NOT NULL,
        rate_source VARCHAR NOT NULL,     -- contract | rate card: <id> | rate card default
        amount DOUBLE NOT NULL,
        currency VARCHAR NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS marts.client_month_sla (
        client_id VARCHAR NOT NULL,
        month DATE NOT NULL,
        priority VARCHAR NOT NULL,        -- the target priority
        sla_tickets INTEGER NOT NULL,     -- met + breached (pending excluded)
        sla_met INTEGER NOT NULL,
        sla_breached INTEGER NOT NULL,
        sla_pending INTEGER NOT NULL,
        sla_compliance DOUBLE,
        response_p50_minutes DOUBLE,
        response_p90_minutes DOUBLE,
        target_minutes DOUBLE
    )""",
    """CREATE OR REPLACE VIEW marts.sla_breaches AS
        SELECT client_id, month, ticket_id, created_at, subject, target_priority,
               response_target_minutes, response_business_minutes, first_response_at,
               response_due_at, calendar_used, sla_explanation
        FROM marts.ticket_facts WHERE response_status = 'breached'""",
    """CREATE OR REPLACE VIEW marts.sla_reconciliation AS
        SELECT client_id, month,
               count(*) AS tickets_compared,
               count(*) FILTER (WHERE response_met = source_sla_met) AS agree,
               count(*) FILTER (WHERE response_met <> source_sla_met) AS disagree,
               count(*) FILTER (WHERE response_met = source_sla_met) / count(*) AS agreement_rate
        FROM marts.ticket_facts
        WHERE source_sla_met IS NOT NULL AND response_met IS NOT NULL
        GROUP BY client_id, month""",
    """CREATE OR REPLACE VIEW marts.review_queue AS
        -- Automated, unreviewed billable hits: doubtful ones first, then the largest amounts.
        SELECT h.month, h.client_id, h.ticket_id, h.scope_id, h.confidence, h.evidence,
               coalesce(o.amount, 0) AS amount,
               row_number() OVER (PARTITION BY h.month
                                  ORDER BY h.confidence < 0.7 DESC, coalesce(o.amount, 0) DESC,
                                           h.confidence, h.ticket_id) AS queue_position
        FROM marts.scope_hits h
        LEFT JOIN marts.out_of_scope o
          ON o.ticket_id = h.ticket_id AND o.month = h.month
         AND o.primary_category <> 'after_hours_emergency'
        WHERE h.source = 'automated' AND h.review_status = 'unreviewed' AND h.billable""",
    """CREATE OR REPLACE VIEW marts.automation_agreement AS
        -- How often people agreed with the automated call, where a person decided.
        SELECT month, 'scope' AS kind, count(*) AS reviewed,
               count(*) FILTER (WHERE review_status = 'approved') AS agreed,
               count(*) FILTER (WHERE review_status = 'approved') / count(*) AS agreement_rate
        FROM marts.scope_hits WHERE source = 'automated' AND review_status <> 'unreviewed'
        GROUP BY month
        UNION ALL
        SELECT month, 'emergency', count(*),
               count(*) FILTER (WHERE qualifies_emergency = confirmed_emergency),
               count(*) FILTER (WHERE qualifies_emergency = confirmed_emergency) / count(*)
        FROM marts.ticket_facts
        WHERE confirmed_by LIKE 'review by %' AND qualifies_emergency IS NOT NULL
        GROUP BY month""",
    """CREATE OR REPLACE VIEW marts.classifier_agreement AS
        -- Automated calls against the provider's review decisions, by month of the ticket: how
        -- often the reviewer agreed, split by the call's state (confident / needs review / none).
        SELECT month, 'scope' AS kind, coalesce(automated_call_state, 'none') AS automated_call_state,
               count(*) AS reviewed,
               count(*) FILTER (WHERE source = 'automated' AND review_status = 'approved') AS agreed,
               count(*) FILTER (WHERE source = 'automated' AND review_status = 'rejected') AS rejected_calls,
               count(*) FILTER (WHERE source = 'review') AS missed_calls,
               count(*) FILTER (WHERE source = 'automated' AND review_status = 'approved') / count(*)
                   AS agreement_rate
        FROM marts.scope_hits WHERE review_status <> 'unreviewed'
        GROUP BY ALL
        UNION ALL
        SELECT e.month, 'emergency', coalesce(e.emergency_call_state, 'none'), count(*),
               count(*) FILTER (WHERE e.qualifies_emergency = (r.verdict = 'confirmed')),
               count(*) FILTER (WHERE e.qualifies_emergency AND r.verdict <> 'confirmed'),
               count(*) FILTER (WHERE NOT e.qualifies_emergency AND r.verdict = 'confirmed'),
               count(*) FILTER (WHERE e.qualifies_emergency = (r.verdict = 'confirmed')) / count(*)
        FROM marts.emergency_readings e
        JOIN staging.review_decisions r
          ON r.ticket_id = e.ticket_id AND r.kind = 'emergency' AND r.is_current
        GROUP BY ALL""",
    """CREATE TABLE IF NOT EXISTS marts.client_month_drivers (
        client_id VARCHAR NOT NULL,
        month DATE NOT NULL,
        driver_type VARCHAR NOT NULL,     -- category | requester
        driver VARCHAR NOT NULL,
        tickets INTEGER NOT NULL,
        standard_units INTEGER NOT NULL,
        share DOUBLE NOT NULL,            -- share of the client's standard tickets
        rank INTEGER NOT NULL
    )""",
]

# Raw rows of each entity with their record key, the stage that judges them and its month;
# {rows} narrows the raw table (to the files of a run's months), {key} may be NULL when only the
# month is wanted (the key is most of the cost of reading 8M event rows).
_LOADED = {
    "clients": """SELECT 'clients' AS entity, _source_file, _source_row,
           {key} AS record_key, 'staging_clients' AS stage, NULL::DATE AS month,
           false AS partitioned FROM {rows}""",
    "review_decisions": """SELECT 'review_decisions', _source_file, _source_row,
           {key}, 'staging_review_decisions', NULL, false FROM {rows}""",
    "tickets": """SELECT 'tickets', _source_file, _source_row, {key},
           'staging_tickets', _partition_month, true FROM {rows}""",
}
CHILD_ENTITIES = ("ticket_events", "time_entries")  # judged in their ticket's month
_CHILD = """SELECT '{entity}', c._source_file, c._source_row, c.record_key, 'staging_{entity}',
           CASE WHEN t.ticket_id IS NOT NULL THEN t.month
                WHEN d.ticket_id IS NOT NULL THEN NULL
                -- As staging's _ORPHAN_MONTH: outside the file's months, its first month.
                ELSE coalesce(
                    CASE WHEN date_trunc('month', timezone('UTC', try_cast(c.at AS TIMESTAMPTZ)))
                              BETWEEN f.min_month AND f.max_month
                         THEN date_trunc('month', timezone('UTC', try_cast(c.at AS TIMESTAMPTZ))) END,
                    f.min_month, date_trunc('month', f.first_seen_at))::DATE
           END, true
    FROM (SELECT _source_file, _source_row, trim(ticket_id) AS ticket_id,
                 {key} AS record_key, {at} AS at FROM {rows}) c
    LEFT JOIN ticket_month t ON t.ticket_id = c.ticket_id
    LEFT JOIN raw_ticket_ids d ON d.ticket_id = c.ticket_id
    LEFT JOIN accepted_paths f ON f.path = c._source_file"""
_CHILD_CTES = """ticket_month AS (
    SELECT ticket_id, any_value(month) AS month, 'staged' AS state FROM staging.tickets GROUP BY ALL
    UNION ALL
    SELECT trim(record_key), any_value(partition_month), 'quarantined' FROM quality.quarantine
    WHERE stage = 'staging_tickets' AND nullif(trim(record_key), '') IS NOT NULL
      AND trim(record_key) NOT IN (SELECT ticket_id FROM staging.tickets)
    GROUP BY ALL
), raw_ticket_ids AS (
    SELECT DISTINCT trim(ticket_id) AS ticket_id FROM raw.tickets
    WHERE nullif(trim(ticket_id), '') IS NOT NULL
), accepted_paths AS (
    SELECT path, min(min_month) AS min_month, max(max_month) AS max_month,
           min(first_seen_at) AS first_seen_at
    FROM raw.landing_files WHERE status = 'accepted' GROUP BY path
), """
_COLUMNS = "(entity, _source_file, _source_row, record_key, stage, month, partitioned)"


def _loaded(entities: tuple[str, ...], *, key: bool = True, scoped: bool = False) -> str:
    """Every raw row of `entities` with its record key and judging stage and month (UNION ALL);
    `scoped`: only the rows of the files in run_files; `key=False`: record_key is NULL."""

    def rows(entity: str) -> str:
        if not scoped:
            return f"raw.{entity}"
        return (f"(SELECT * FROM raw.{entity} WHERE _source_file IN"
                f" (SELECT _source_file FROM run_files WHERE entity = '{entity}'))")

    def record_key(entity: str) -> str:
        return RECORD_KEY[entity] if key else "NULL::VARCHAR"

    parts = [
        _CHILD.format(entity=e, key=record_key(e), at=TIME_COLUMN[e], rows=rows(e))
        if e in CHILD_ENTITIES else _LOADED[e].format(key=record_key(e), rows=rows(e))
        for e in entities
    ]
    return "SELECT * FROM (\n    " + "\n    UNION ALL\n    ".join(parts) + f"\n) AS l{_COLUMNS}"


def file_reconciliation_sql(
    entities: tuple[str, ...] = tuple(CANONICAL), months: tuple[str, str] | None = None
) -> str:
    """One row per delivered file of `entities`: delivered = accepted + quarantined + superseded,
    once every month its rows fall in has been judged (see quality.file_reconciliation).

    Each raw row is classified independently (found in staging, found in quarantine, or its record
    key staged from another row), so a row lost or counted twice breaks the sum. Children of
    tickets are judged in their ticket's month (or, when no ticket with that id was delivered, in
    the month of their own timestamp).

    `months` (first, last) gives only the files holding a row judged in those months, as a
    partitioned check wants: each of them whole (all its rows, whatever their month), and a
    superseded row's key still looked up among every staged row, so each file's figures are the
    view's. The other files' rows are not classified (one pass over every raw row's ticket id and
    month finds the files), and the raw rows' keys are only computed when some row of these
    files is neither staged nor quarantined.
    """
    children = [e for e in CHILD_ENTITIES if e in entities]
    listed = ", ".join(f"'{e}'" for e in entities)
    scoped = months is not None

    def staged(only_run_files: bool) -> str:
        return "\n    UNION ALL ".join(
            f"SELECT '{e}' AS entity, _source_file, _source_row FROM staging.{e}"
            + (f" WHERE _source_file IN (SELECT _source_file FROM run_files WHERE entity = '{e}')"
               if only_run_files else "")
            for e in entities
        )

    ctes = "WITH " + (_CHILD_CTES if children else "")
    accepted_keys, files = _ACCEPTED_HERE, ""
    if scoped:
        first, last = (sql_literal(m) for m in months)
        ctes += _RUN_FILES.format(loaded=_loaded(entities, key=False), first=first, last=last)
        accepted_keys = _ACCEPTED_ANYWHERE.format(everywhere=_loaded(entities), staged=staged(False))
        files = "AND (f.entity, f.path) IN (SELECT (entity, _source_file) FROM run_files)"
    return (
        ctes + f"loaded AS ({_loaded(entities, scoped=scoped)}"
        + f"\n), staged AS (\n    {staged(scoped)}"
        + "\n), " + _RECONCILE_TAIL.format(entities=listed, accepted_keys=accepted_keys, files=files)
    )


_RUN_FILES = """run_files AS (
    SELECT DISTINCT entity, _source_file FROM ({loaded})
    WHERE partitioned AND month BETWEEN CAST({first} AS DATE) AND CAST({last} AS DATE)
), """
_ACCEPTED_HERE = """-- Only the keys of rows neither staged nor quarantined are looked up: a semi-join against
    -- those few, not a distinct over every accepted key (8M event ids at 1M tickets).
    SELECT DISTINCT entity, record_key FROM classified SEMI JOIN unplaced_keys USING (entity, record_key)
    WHERE is_accepted"""
# A run's files: the accepting row may be in a file of another month. The raw rows with an
# unplaced key are found first (DuckDB skips the scan when there is none), then looked up in staging.
_ACCEPTED_ANYWHERE = """SELECT DISTINCT c.entity, c.record_key
    FROM ({staged}) s
    JOIN (SELECT * FROM ({everywhere}) SEMI JOIN unplaced_keys USING (entity, record_key)) c
      USING (entity, _source_file, _source_row)"""


_RECONCILE_TAIL = """quarantined AS (
    SELECT DISTINCT entity, source_file AS _source_file, source_row AS _source_row
    FROM quality.quarantine WHERE stage <> 'landing_files' AND source_row IS NOT NULL
), classified AS (
    -- EXISTS, not a join with the distinct staged rows: a mark join needs no distinct over them.
    SELECT l.*, EXISTS (SELECT 1 FROM staged s WHERE s.entity = l.entity
                          AND s._source_file = l._source_file AND s._source_row = l._source_row)
                AS is_accepted,
           q._source_row IS NOT NULL AS is_quarantined, r.stage IS NOT NULL AS judged
    FROM loaded l
    LEFT JOIN quarantined q USING (entity, _source_file, _source_row)
    LEFT JOIN (SELECT DISTINCT stage, coalesce(partition_month, DATE '0001-01-01') AS month
               FROM quality.stage_runs) r
      ON r.stage = l.stage AND r.month = CASE WHEN l.partitioned THEN l.month
                                              ELSE DATE '0001-01-01' END
), unplaced_keys AS (
    SELECT DISTINCT entity, record_key FROM classified WHERE NOT is_accepted AND NOT is_quarantined
), accepted_keys AS (
    {accepted_keys}
), per_file AS (
    SELECT c.entity, c._source_file AS path, count(*) AS loaded_rows,
           count(*) FILTER (WHERE c.is_accepted) AS accepted,
           count(*) FILTER (WHERE c.is_quarantined) AS quarantined,
           count(*) FILTER (WHERE NOT c.is_accepted AND NOT c.is_quarantined
                            AND k.record_key IS NOT NULL) AS superseded,
           count(*) FILTER (WHERE NOT c.is_accepted AND NOT c.is_quarantined
                            AND k.record_key IS NULL AND NOT c.judged) AS pending
    FROM classified c LEFT JOIN accepted_keys k USING (entity, record_key)
    GROUP BY ALL
), read_rejects AS (
    SELECT source_file AS path, count(DISTINCT source_row) AS n FROM quality.quarantine
    WHERE stage = 'landing_files' AND source_row IS NOT NULL GROUP BY ALL
), counted AS (
    SELECT f.file_id, f.path, f.entity, f.status, f.reason_code, f.first_seen_at,
           coalesce(f.data_rows, 0) AS delivered,
           CASE WHEN f.status = 'accepted' THEN coalesce(p.accepted, 0) ELSE 0 END AS accepted,
           CASE f.status WHEN 'accepted' THEN coalesce(p.quarantined, 0) + coalesce(r.n, 0)
                         WHEN 'rejected' THEN coalesce(f.data_rows, 0) ELSE 0 END AS quarantined,
           CASE f.status WHEN 'accepted' THEN coalesce(p.superseded, 0)
                         WHEN 'duplicate' THEN coalesce(f.data_rows, 0)
                         -- a file edited in place: its later delivery stands for all its rows
                         WHEN 'replaced' THEN coalesce(f.data_rows, 0) ELSE 0 END AS superseded,
           -- Rows not loaded into raw yet (a month not run) wait, like rows not judged yet.
           CASE WHEN f.status = 'accepted' THEN coalesce(p.pending, 0) + greatest(
                    coalesce(f.data_rows, 0) - coalesce(len(f.rejected_rows), 0)
                    - coalesce(p.loaded_rows, 0), 0) ELSE 0 END AS pending
    FROM raw.landing_files f
    LEFT JOIN per_file p ON p.path = f.path AND p.entity = f.entity AND f.status = 'accepted'
    LEFT JOIN read_rejects r ON r.path = f.path AND f.status = 'accepted'
    WHERE f.entity IN ({entities}) {files}
)
SELECT *, delivered - accepted - quarantined - superseded - pending AS unaccounted,
       pending = 0 AND delivered = accepted + quarantined + superseded AS reconciles
FROM counted"""

FILE_RECONCILIATION = (
    "CREATE OR REPLACE VIEW quality.file_reconciliation AS\n" + file_reconciliation_sql()
)


# Everything a person fixing a delivery needs, one line each: rejected files, quarantined rows and
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


def first_failure(rules: list[tuple[str, str, str, str]]) -> str:
    """SELECT-list columns naming the first rule a row breaks: reason_code, field, raw_value, reason.

    Each rule is (reason_code, field, SQL condition that is true when the row is bad, message).
    """
    def case(pick) -> str:
        return "CASE " + " ".join(f"WHEN {cond} THEN {pick(code, field, msg)}"
                                  for code, field, cond, msg in rules) + " END"

    return ", ".join([
        case(lambda code, field, msg: sql_literal(code)) + " AS reason_code",
        case(lambda code, field, msg: sql_literal(field)) + " AS field",
        case(lambda code, field, msg: f'CAST("{field}" AS VARCHAR)') + " AS raw_value",
        case(lambda code, field, msg: sql_literal(msg)) + " AS reason",
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
