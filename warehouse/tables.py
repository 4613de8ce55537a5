"""DDL of the raw, quality and staging tables (created in this order by warehouse.schema)."""

from warehouse.contract import CANONICAL

LINEAGE_COLUMNS = """
    _file_id VARCHAR NOT NULL,
    _source_file VARCHAR NOT NULL,
    _source_row BIGINT NOT NULL,
    _loaded_at TIMESTAMPTZ NOT NULL,
    _extra JSON
"""

# Schemas, raw tables, the quality tables and the staging tables, in the order they are created.
LAYER_DDL = [
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
]
