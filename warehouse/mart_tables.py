"""The marts tables (and the semantic vote tables they read), one contract each, and the marts
views; their DDL is created after warehouse.tables by warehouse.schema."""

from warehouse.columns import Column, Table

TICKET_FACTS = Table("marts.ticket_facts", (
    Column("ticket_id", "VARCHAR", True),
    Column("client_id", "VARCHAR", True),
    Column("month", "DATE", True),
    Column("created_at", "TIMESTAMPTZ", True),
    Column("requester", "VARCHAR"),
    Column("subject", "VARCHAR"),
    Column("category", "VARCHAR"),
    Column("source", "VARCHAR"),
    Column("priority", "VARCHAR", meaning="emergency | high | normal | low"),
    Column("is_provider_initiated", "BOOLEAN", True),
    Column("is_standard", "BOOLEAN", True),
    Column("unit_id", "VARCHAR", True),
    Column("unit_rule", "VARCHAR", True, "own | parent | interruption"),
    Column("logged_minutes", "DOUBLE", True),
    Column("after_hours_emergency_minutes", "DOUBLE", True, "billable emergency work outside hours"),
    Column("after_hours_emergency_billable", "BOOLEAN", True, "... for a client without after-hours cover"),
    Column("scope_categories", "VARCHAR[]"),
    Column("billable_out_of_scope", "BOOLEAN"),
    Column("declared_emergency", "BOOLEAN", meaning="the client's word at intake"),
    Column("triage_priority", "VARCHAR", meaning="what triage (often AI-assisted) assigned"),
    Column("confirmed_emergency", "BOOLEAN", meaning="a review decision, else staff's final priority"),
    Column("confirmed_by", "VARCHAR", meaning="'review by <reviewer>' | 'final priority'"),
    Column("qualifies_emergency", "BOOLEAN", meaning="the pipeline's reading of the policy (automated)"),
    Column("emergency_confidence", "DOUBLE"),
    Column("emergency_evidence", "VARCHAR"),
    Column("target_priority", "VARCHAR", meaning="the priority whose target applies (policy response)"),
    Column("calendar_used", "VARCHAR", meaning="the client's calendar id, or '24x7'"),
    Column("first_response_at", "TIMESTAMPTZ"),
    Column("first_response_event", "VARCHAR"),
    Column("clock_started_at", "TIMESTAMPTZ"),
    Column("response_due_at", "TIMESTAMPTZ"),
    Column("response_business_minutes", "DOUBLE"),
    Column("response_target_minutes", "DOUBLE"),
    Column("response_met", "BOOLEAN", meaning="NULL while pending"),
    Column("response_status", "VARCHAR", meaning="met | breached | pending; NULL = no SLA applies"),
    Column("sla_explanation", "VARCHAR"),
    Column("source_sla_met", "BOOLEAN", meaning="the source system's own verdict, when exported"),
    Column("policy_version", "VARCHAR", True),
))
CLIENT_MONTH = Table("marts.client_month", (
    Column("client_id", "VARCHAR", True),
    Column("client_name", "VARCHAR", True),
    Column("month", "DATE", True),
    Column("plan", "VARCHAR", True),
    Column("tickets", "INTEGER", True),
    Column("provider_initiated_tickets", "INTEGER", True),
    Column("standard_tickets", "INTEGER", True),
    Column("standard_units", "INTEGER", True),
    Column("seats", "DOUBLE", True, "time-weighted seats in force over the month"),
    Column("units_per_seat", "DOUBLE", True),
    Column("fair_use_limit_per_seat", "DOUBLE", True),
    Column("fair_use_ratio", "DOUBLE", True, "units_per_seat / limit"),
    Column("rolling_units_per_seat", "DOUBLE", True),
    Column("rolling_months", "INTEGER", True, "months with data in the rolling window"),
    Column("fair_use_status", "VARCHAR", True, "within | watch | over"),
    Column("peer_percentile", "DOUBLE", meaning="0..1 among all clients that month"),
    Column("top_category", "VARCHAR"),
    Column("top_category_share", "DOUBLE"),
    Column("busiest_requesters_share", "DOUBLE", meaning="share of standard tickets from the 3 busiest"),
    Column("out_of_scope_tickets", "INTEGER"),
    Column("out_of_scope_hours", "DOUBLE"),
    Column("out_of_scope_amount", "DOUBLE"),
    Column("emergencies_declared", "INTEGER"),
    Column("emergencies_confirmed", "INTEGER"),
    Column("emergency_declaration_precision", "DOUBLE", meaning="declared and confirmed / declared"),
    Column("emergencies_missed", "INTEGER", meaning="confirmed but not declared"),
    Column("emergency_over_declaration_rate", "DOUBLE", meaning="declared but not confirmed / declared"),
    Column("triage_emergency_precision", "DOUBLE"),
    Column("triage_emergency_recall", "DOUBLE"),
    Column("emergency_policy_agreement", "DOUBLE", meaning="automated policy reading = confirmed, share"),
    Column("sla_tickets", "INTEGER"),
    Column("sla_met", "INTEGER"),
    Column("sla_compliance", "DOUBLE"),
    Column("response_p50_minutes", "DOUBLE"),
    Column("response_p90_minutes", "DOUBLE"),
    Column("policy_version", "VARCHAR", True),
))
SCOPE_HITS = Table("marts.scope_hits", (
    Column("ticket_id", "VARCHAR", True),
    Column("client_id", "VARCHAR", True),
    Column("month", "DATE", True),
    Column("scope_id", "VARCHAR", True),
    Column("confidence", "DOUBLE", True, "1.0 for a hit added by a reviewer"),
    Column("evidence", "VARCHAR", True),
    Column("source", "VARCHAR", True, "automated | review"),
    Column("review_status", "VARCHAR", True, "unreviewed | approved | rejected"),
    Column("reviewer", "VARCHAR"),
    Column("decided_at", "TIMESTAMPTZ"),
    Column("included_in_contract", "BOOLEAN", True),
    Column("billable", "BOOLEAN", True, "accepted and not included in the contract"),
    # Call states (docs/classification.md, abstention).
    Column("call_state", "VARCHAR", added=True),
    Column("automated_call_state", "VARCHAR", added=True),
))
EMERGENCY_READINGS = Table("marts.emergency_readings", (
    Column("month", "DATE", True),
    Column("ticket_id", "VARCHAR", True),
    Column("qualifies_emergency", "BOOLEAN", True),
    Column("emergency_confidence", "DOUBLE", True),
    Column("emergency_evidence", "VARCHAR"),
    Column("emergency_call_state", "VARCHAR", added=True),
))
# The semantic vote per distinct ticket text of a month (logic/semantic.py), computed once by
# emergency_readings and read by scope_hits.
SEMANTIC_SCOPE_VOTES = Table("staging.semantic_scope_votes", (
    Column("month", "DATE", True),
    Column("raw_txt", "VARCHAR", True),
    Column("scope_id", "VARCHAR", True),
    Column("vote", "DOUBLE", True),
    Column("evidence", "VARCHAR"),
))
SEMANTIC_EMERGENCY_VOTES = Table("staging.semantic_emergency_votes", (
    Column("month", "DATE", True),
    Column("raw_txt", "VARCHAR", True),
    Column("vote", "DOUBLE", True),
    Column("evidence", "VARCHAR"),
))
# The client's message of each ticket text of a month where it differs from the text
# (logic/message.py), when a reading reads messages: computed once by emergency_readings for a
# run's months and read by scope_hits (round 30).
TICKET_MESSAGES = Table("staging.ticket_messages", (
    Column("month", "DATE", True),
    Column("raw_txt", "VARCHAR", True, "a ticket's subject . description"),
    Column("read_txt", "VARCHAR", True, "its message, the text the readings read"),
))
# The vote's text embeddings, kept so that a run embeds only texts no earlier run embedded
# (orchestration/embedding_store.py): a vector depends on its text and the model alone.
TEXT_EMBEDDINGS = Table("staging.text_embeddings", (
    Column("model", "VARCHAR", True, "the static embedding model (policy: semantic.model)"),
    Column("dim", "INTEGER", True, "its dimension (policy: semantic.dim)"),
    Column("text_md5", "VARCHAR", True, "md5 of the lower-cased text, as the vote embeds it"),
    Column("vector", "FLOAT[]", True, "the unit-length float32 vector"),
))
# The scope text rules' matches of each text, kept so that a run matches only texts no earlier
# run matched (orchestration/scope_match_store.py): the matches depend on the text and the rules.
SCOPE_TEXT_MATCHES = Table("staging.scope_text_matches", (
    Column("rules_md5", "VARCHAR", True, "md5 of the scope text rules' SQL and DuckDB's version"),
    Column("text_md5", "VARCHAR", True, "md5 of the text (a ticket's subject . description, or"
           " its time entries' notes)"),
    Column("rule_id", "INTEGER", False, "the rule that matched; NULL: the text matched no rule"),
    Column("hits", "VARCHAR[]", False, "the rule's matches in the normalised text"),
))
# The emergency rules' matches of each ticket text, kept likewise (orchestration/emergency_match_store.py).
EMERGENCY_TEXT_MATCHES = Table("staging.emergency_text_matches", (
    Column("rules_md5", "VARCHAR", True, "md5 of the emergency rules' matching SQL and DuckDB's version"),
    Column("text_md5", "VARCHAR", True, "md5 of the text read (a ticket's subject . description, or"
           " its message with emergency.message_only)"),
    Column("rule_id", "INTEGER", False, "the term set, rule or dampener that matched (its index in"
           " logic.emergency._matchers); NULL: the text matched none"),
    Column("hits", "VARCHAR[]", False, "its matches in the normalised text"),
))
OUT_OF_SCOPE = Table("marts.out_of_scope", (
    Column("client_id", "VARCHAR", True),
    Column("client_name", "VARCHAR", True),
    Column("month", "DATE", True),
    Column("ticket_id", "VARCHAR", True),
    Column("created_at", "TIMESTAMPTZ", True),
    Column("subject", "VARCHAR"),
    Column("scope_categories", "VARCHAR[]", True),
    Column("primary_category", "VARCHAR", True),
    Column("evidence", "VARCHAR", True),
    Column("confidence", "DOUBLE", True),
    Column("review_status", "VARCHAR", True, "unreviewed | approved (any rejected hit is dropped)"),
    Column("reviewer", "VARCHAR"),
    Column("billable_hours", "DOUBLE", True),
    Column("hourly_rate", "DOUBLE", True),
    Column("rate_source", "VARCHAR", True, "contract | rate card: <id> | rate card default"),
    Column("amount", "DOUBLE", True),
    Column("currency", "VARCHAR", True),
))
CLIENT_MONTH_SLA = Table("marts.client_month_sla", (
    Column("client_id", "VARCHAR", True),
    Column("month", "DATE", True),
    Column("priority", "VARCHAR", True, "the target priority"),
    Column("sla_tickets", "INTEGER", True, "met + breached (pending excluded)"),
    Column("sla_met", "INTEGER", True),
    Column("sla_breached", "INTEGER", True),
    Column("sla_pending", "INTEGER", True),
    Column("sla_compliance", "DOUBLE"),
    Column("response_p50_minutes", "DOUBLE"),
    Column("response_p90_minutes", "DOUBLE"),
    Column("target_minutes", "DOUBLE"),
))
CLIENT_MONTH_DRIVERS = Table("marts.client_month_drivers", (
    Column("client_id", "VARCHAR", True),
    Column("month", "DATE", True),
    Column("driver_type", "VARCHAR", True, "category | requester"),
    Column("driver", "VARCHAR", True),
    Column("tickets", "INTEGER", True),
    Column("standard_units", "INTEGER", True),
    Column("share", "DOUBLE", True, "share of the client's standard tickets"),
    Column("rank", "INTEGER", True),
))

MART_TABLES = (
    TICKET_FACTS, CLIENT_MONTH, SCOPE_HITS, EMERGENCY_READINGS, SEMANTIC_SCOPE_VOTES,
    SEMANTIC_EMERGENCY_VOTES, TICKET_MESSAGES, TEXT_EMBEDDINGS, SCOPE_TEXT_MATCHES,
    EMERGENCY_TEXT_MATCHES, OUT_OF_SCOPE, CLIENT_MONTH_SLA, CLIENT_MONTH_DRIVERS,
)

MART_DDL = [
    *[statement for table in MART_TABLES for statement in table.ddl()],
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
]
