"""DDL of the marts tables and views (created after warehouse.tables by warehouse.schema)."""


# The marts tables and views (and the semantic vote tables they read), after the layer tables.
MART_DDL = [
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
    # The semantic vote per distinct ticket text of a month (logic/semantic.py), computed once by
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
