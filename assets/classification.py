"""Automated calls on every ticket: scope exclusions and the emergency reading, with human review."""

import uuid
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from datetime import datetime
from typing import Any

import duckdb

from assets.calendars import business_calendars
from assets.staging import staging_review_decisions, staging_tickets, staging_time_entries
from logic.blas import months_side_by_side
from logic.classify import NOTES_SQL, MatchedTexts, scope_category_hits_sql, scope_docs_sql, scope_hits_sql
from logic.embeddings import embed, pinned
from logic.emergency import emergency_rules_sql, emergency_sql
from logic.message import CLF_TEXTS, READ_TEXTS, read_texts, reads_messages, write_messages
from logic.nearest import run_cones
from logic.semantic import REVIEW_ROWS, ExemplarBank, ReviewBanks, builtin_bank, prepare_votes, review_bank
from logic.shortlists import builtin_shortlists
from logic.text_match import TICKET_TEXT
from logic.word_model import word_model, write_weights
from orchestration.embedding_store import load as load_embeddings
from orchestration.embedding_store import prune as prune_embeddings
from orchestration.embedding_store import save as save_embeddings
from orchestration.embedding_store import stored_embeddings
from orchestration.emergency_match_store import EMERGENCY_MATCHES
from orchestration.monthly import RunInputs, monthly_sql_asset
from orchestration.partitions import month_runs
from orchestration.scope_match_store import SCOPE_MATCHES
from policy.config import PolicyConfig
from policy.paths import PROJECT_ROOT
from warehouse.concurrency import month_workers
from warehouse.sqlquote import month_in
from warehouse.writes import replace_month

# The classifiers read two relations: the tickets and their time entries (each entry is marked
# outside_hours in staging when it started while the client's calendar was closed; seq orders a
# ticket's entries as they were logged, for its notes).
_CLF_TICKET_COLUMNS = """ticket_id, subject, description, category, declared_emergency,
       coalesce(final_priority, triage_priority) AS priority, affected_users"""
_CLF_TICKETS = f"SELECT {_CLF_TICKET_COLUMNS} FROM staging.tickets"
_CLF_TIME_COLUMNS = """ticket_id, minutes, work_type, billable, note,
       coalesce(outside_hours, false) AS outside_hours,
       row_number() OVER (PARTITION BY ticket_id ORDER BY started_at, entry_id) AS seq"""
_CLF_TIME = f"SELECT {_CLF_TIME_COLUMNS} FROM staging.time_entries"
# Tickets per scope statement over a range: one statement over a 1M provider's 12 months peaked at
# 6.9 GB (3.0 GB a month at a time); a 100k provider's year is one statement. The statement holds
# about 12 kB per ticket at its peak when every text is distinct (100k --unique-texts: 1.33 GB over
# 109k tickets in one statement, 0.68 GB in two of 55k at the same CPU), so 1M's months (83k
# tickets) go one at a time: two months a statement were about 2 GB of the 1M --unique-texts peak.
SCOPE_TICKETS_PER_STATEMENT = 120_000


def prepare_tickets(con: duckdb.DuckDBPyConnection, month: str) -> None:
    """Create the temp table clf_tickets for the month."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE clf_tickets AS {_CLF_TICKETS} WHERE month = $month",
                {"month": month})


def prepare_inputs(con: duckdb.DuckDBPyConnection, month: str) -> None:
    """Create the temp tables clf_tickets and clf_time for the month."""
    prepare_tickets(con, month)
    con.execute(f"CREATE OR REPLACE TEMP TABLE clf_time AS {_CLF_TIME} WHERE month = $month",
                {"month": month})


def stage_messages(con: duckdb.DuckDBPyConnection, policy: PolicyConfig, months: list[str]) -> None:
    """The messages of the ticket texts of `months`, computed once for a run (logic/message.py):
    READ_TEXTS on `con`, and staging.ticket_messages' rows of those months (each month's readings
    and scope_hits read them there); with neither reading reading messages, none."""
    where = month_in("month", months)
    con.execute(f"DELETE FROM staging.ticket_messages WHERE {where}")
    if not reads_messages(policy):
        return
    texts = f"(SELECT month, {TICKET_TEXT} AS raw_txt FROM staging.tickets WHERE {where})"
    write_messages(con, policy, texts)
    con.execute(f"INSERT INTO staging.ticket_messages SELECT DISTINCT t.month, m.raw_txt, m.read_txt"
                f" FROM {texts} t JOIN {READ_TEXTS} m USING (raw_txt)")


def load_messages(con: duckdb.DuckDBPyConnection, policy: PolicyConfig, months: list[str]) -> None:
    """READ_TEXTS on `con` from staging.ticket_messages' rows of `months` (stage_messages)."""
    if reads_messages(policy):
        con.execute(f"CREATE OR REPLACE TEMP TABLE {READ_TEXTS} AS SELECT DISTINCT raw_txt, read_txt"
                    f" FROM staging.ticket_messages WHERE {month_in('month', months)}")


def prepare_scope_votes(con: duckdb.DuckDBPyConnection, run: RunInputs, months: list[str],
                        by_month: bool = False) -> None:
    """The temp tables the scope statement reads beside clf_tickets and clf_time: the emergency
    reading (planned after-hours work excludes emergencies) and the semantic votes that
    emergency_readings computed for `months` (with their month when `by_month`: a vote is its
    month's), and the word model's weights when it is on (round 12). Reused rather than match and
    embed every text a second time."""
    where = month_in("month", months)
    con.execute("CREATE OR REPLACE TEMP TABLE clf_emergency AS SELECT ticket_id, qualifies_emergency"
                f" FROM marts.emergency_readings WHERE {where}")
    columns = "*" if by_month else "* EXCLUDE (month)"
    for reading in ("scope", "emergency"):
        con.execute(f"CREATE OR REPLACE TEMP TABLE clf_semantic_{reading} AS SELECT {columns}"
                    f" FROM staging.semantic_{reading}_votes WHERE {where}")
    model = word_model(run.policy)
    if model is not None:
        write_weights(con, run.policy, model)


# The rules' SQL is about 1.7 MB, and DuckDB spends over a second of CPU preparing it (parsing,
# binding, compiling the patterns, optimising) whatever the month's size. The rules' matches are a
# function of a text alone, so they are computed once for all of a run's months, into an in-memory
# database every month's connection sees; each month's statement then joins its texts' matches.
@contextmanager
def _range_database(con: duckdb.DuckDBPyConnection) -> Iterator[str]:
    """An in-memory database attached for a run's months (shared by the months' connections)."""
    name = f"clf_range_{uuid.uuid4().hex[:12]}"
    con.execute(f"ATTACH ':memory:' AS {name}")
    try:
        yield name
    finally:
        con.execute(f"DETACH {name}")


# The scope statement's cost a month was mostly DuckDB planning its 50 kB of SQL (0.2 s of CPU at
# any size): one statement over a run's months (up to SCOPE_TICKETS_PER_STATEMENT tickets) computes
# their calls at once, each month's partition then written from its slice. The range's tickets and
# time entries are the months' own (a staged ticket is in one month, its entries in the ticket's
# month; orphans are quarantined), so every join by ticket or text is the month's; the votes, per
# month, are joined by month too.
@contextmanager
def match_scope_range(con: duckdb.DuckDBPyConnection, months: list[str],
                      run: RunInputs) -> Iterator[Mapping[str, Any]]:
    """The scope calls on every ticket of `months` (before_range): the rules' matches for all their
    texts, notes and categories, then the scope statement over groups of consecutive months
    (emergency_readings has written their readings and votes); `scope_sql` is a month's slice of
    the calls (classify_scope)."""
    where = month_in("month", months)
    with _range_database(con) as db:
        con.execute(f"CREATE TEMP TABLE clf_range_tickets AS SELECT month, {_CLF_TICKET_COLUMNS}"
                    f" FROM staging.tickets WHERE {where}")
        con.execute(f"CREATE OR REPLACE TEMP TABLE clf_time AS SELECT month, {_CLF_TIME_COLUMNS}"
                    f" FROM staging.time_entries WHERE {where}")
        con.execute(f"CREATE TABLE {db}.notes AS {NOTES_SQL}")  # NOTES_SQL reads clf_time
        con.execute("ALTER TABLE clf_time RENAME TO clf_range_time")  # each group's clf_time is cut from it
        con.execute(f"CREATE TABLE {db}.tickets AS SELECT DISTINCT {TICKET_TEXT} AS raw_txt,"
                    " coalesce(category, '') AS raw_cat FROM clf_range_tickets")
        # The texts as the scope reading reads them (their messages with message_only: computed by
        # emergency_readings for the run's months).
        load_messages(con, run.policy, months)
        read = scope_docs_sql(run.policy, f"{db}.tickets", f"{db}.notes")
        # Texts an earlier run matched are read from the store, the others matched (and stored).
        # The normalised text (txt) is not kept: the statement reads only the category's.
        SCOPE_MATCHES.match_texts(con, run.policy, read, f"{db}.text_hits")
        SCOPE_MATCHES.prune(con, run.policy, months, read)
        con.execute(f"CREATE TABLE {db}.category_hits AS"
                    f" {scope_category_hits_sql(run.policy, f'{db}.tickets')}")
        prepare_scope_votes(con, run, months, by_month=True)
        matched = MatchedTexts(notes="clf_notes", text_hits=f"{db}.text_hits",
                               category_hits=f"{db}.category_hits")
        # calibrated: the marts (and so the reports and the export) show the calibrated confidence
        hits = scope_hits_sql(run.policy, "clf_emergency", matched=matched, calibrated=True, by_month=True)
        con.execute(f"CREATE TABLE {db}.hits (month DATE, ticket_id VARCHAR, scope_id VARCHAR,"
                    " confidence DOUBLE, evidence VARCHAR, call_state VARCHAR)")
        for group in _month_groups(con, months):
            part = month_in("month", group)
            con.execute(f"CREATE OR REPLACE TEMP TABLE clf_tickets AS FROM clf_range_tickets WHERE {part}")
            con.execute(f"CREATE OR REPLACE TEMP TABLE clf_time AS FROM clf_range_time WHERE {part}")
            con.execute(f"CREATE OR REPLACE TEMP TABLE clf_notes AS FROM {db}.notes"
                        " SEMI JOIN clf_tickets USING (ticket_id)")
            con.execute(f"INSERT INTO {db}.hits SELECT t.month, h.* FROM ({hits}) h"
                        " JOIN clf_tickets t USING (ticket_id)")
        # The months read only their slice of the hits.
        for table in (f"{db}.tickets", f"{db}.text_hits", f"{db}.category_hits",
                      "clf_range_tickets", "clf_range_time", "clf_tickets", "clf_time", "clf_notes",
                      "clf_emergency", "clf_semantic_scope", "clf_semantic_emergency", READ_TEXTS):
            con.execute(f"DROP TABLE IF EXISTS {table}")
        yield {"scope_range": db,
               "scope_sql": f"SELECT * EXCLUDE (month) FROM {db}.hits WHERE month = CAST(? AS DATE)"
                            " ORDER BY ticket_id, scope_id"}


def _month_groups(con: duckdb.DuckDBPyConnection, months: list[str],
                  budget: int | None = None) -> list[list[str]]:
    """`months` cut into runs of consecutive months of about `budget` tickets of clf_range_tickets
    (SCOPE_TICKETS_PER_STATEMENT; a month is never split)."""
    budget = SCOPE_TICKETS_PER_STATEMENT if budget is None else budget
    counts = dict(con.execute("SELECT CAST(month AS VARCHAR), count(*) FROM clf_range_tickets"
                              " GROUP BY ALL").fetchall())
    return month_runs(counts, months, budget)


@contextmanager
def match_emergency_range(con: duckdb.DuckDBPyConnection, months: list[str],
                          run: RunInputs) -> Iterator[Mapping[str, Any]]:
    """The emergency rules' reading of every ticket of `months` and the built-in exemplars
    (before_range); once the last month is written, the embedding store pruned (a run over
    every month)."""
    builtin = builtin_exemplars(run.policy)
    with _range_database(con) as db, ExitStack() as held:
        if len(months) > 1 and month_workers() > 1:  # the months' votes side by side
            held.enter_context(months_side_by_side())
        # Not the text (raw_txt): a month takes it from its own tickets, a range would hold them all.
        con.execute(f"CREATE TABLE {db}.emergency_rules (month DATE, ticket_id VARCHAR,"
                    " confidence DOUBLE, evidence VARCHAR, term_sets BOOLEAN[], dampeners VARCHAR[],"
                    " rules_met VARCHAR[])")
        # On a connection of its own (cursor): the rules read a view clf_tickets of the range.
        # Each ticket's month is looked up among the range's tickets only, not the warehouse's.
        range_months = month_in("month", months)
        with con.cursor() as cursor:
            cursor.execute(f"CREATE OR REPLACE TEMP VIEW clf_tickets AS {_CLF_TICKETS}"
                           f" WHERE {range_months}")
            # The texts' messages, once for the run (the months and scope_hits read them).
            stage_messages(cursor, run.policy, months)
            # The matches of the texts the rules read: stored ones read, the others matched and
            # stored; the reading's per-ticket parts applied over them.
            read = f"(SELECT read_txt AS raw_txt FROM ({read_texts(run.policy, CLF_TEXTS)}))"
            EMERGENCY_MATCHES.match_texts(cursor, run.policy, read, f"{db}.emergency_text_hits")
            EMERGENCY_MATCHES.prune(cursor, run.policy, months, read)
            rules = emergency_rules_sql(run.policy, f"{db}.emergency_text_hits")
            cursor.execute(f"INSERT INTO {db}.emergency_rules SELECT t.month, r.ticket_id, r.confidence,"
                           f" r.evidence, r.term_sets, r.dampeners, r.rules_met FROM ({rules}) r"
                           " JOIN (SELECT ticket_id, month FROM staging.tickets"
                           f" WHERE {range_months}) t USING (ticket_id)")
        # The review decisions in force at the run's as-of instant, for every month's exemplars.
        con.execute(f"CREATE TABLE {db}.review_rows AS {REVIEW_ROWS}", {"as_of": run.as_of})
        # ... and made exemplars once: a month takes those on tickets of earlier months.
        reviews = ReviewBanks.read(con, run.policy, f"{db}.review_rows")
        known: set[str] = set()
        cones, shortlists = None, None
        if run.policy.scope_classification.semantic.enabled:
            # The stored vectors of every text the months vote on or with, read in one statement;
            # the built-in exemplars', which every month reads, embedded now if not stored.
            texts = [r[0] for r in con.execute(
                f"SELECT txt FROM {db}.review_rows UNION SELECT {TICKET_TEXT} FROM staging.tickets"
                f" WHERE {range_months}").fetchall()]
            known = load_embeddings(con, run.policy, [*builtin.texts, *texts])
            embed(run.policy, builtin.texts)
            known.update(save_embeddings(con, run.policy, builtin.texts, known))
            # Cones of the largest bank (every decision in force), which every month's bank is
            # part of: one k-means for the run's months (logic/nearest.bank_cones).
            reviewed = [r[0] for r in con.execute(f"SELECT txt FROM {db}.review_rows").fetchall()]
            bank_texts = [*builtin.texts, *reviewed]
            bank_vectors = embed(run.policy, bank_texts)
            cones = run_cones(bank_vectors)
            # Every month's bank is among these texts: held for the months, so that the months'
            # own texts (83,000 new ones a 1M --unique-texts month) do not push them out of the
            # embedding cache and each month embed its bank again.
            held.enter_context(pinned(run.policy, bank_texts, bank_vectors))
            recurring = _recurring_texts(con, run.policy, months)
            shortlists = builtin_shortlists(run.policy, builtin.texts, recurring, cones)
        yield {"emergency_range": db, "builtin_bank": builtin, "review_rows": f"{db}.review_rows",
               "review_banks": reviews,
               "stored_texts": known, "bank_cones": cones, "builtin_shortlists": shortlists}
    if run.policy.scope_classification.semantic.enabled:
        # After the months' votes, so no month's texts are pruned from under it.
        prune_embeddings(con, months, builtin.texts)


def _recurring_texts(con: duckdb.DuckDBPyConnection, policy: PolicyConfig, months: list[str]) -> list[str]:
    """The texts the vote may be taken on in more than one of `months` (a ticket's text, or its
    message when a reading reads messages: staging.ticket_messages, written for the run): their
    built-in exemplars' shortlists are taken once for the run (logic/shortlists.py)."""
    where = month_in("month", months)
    texts = f"SELECT month, {TICKET_TEXT} AS txt FROM staging.tickets WHERE {where}"
    if reads_messages(policy):
        texts += f" UNION ALL SELECT month, read_txt FROM staging.ticket_messages WHERE {where}"
    return [r[0] for r in con.execute(f"SELECT txt FROM ({texts}) GROUP BY txt"
                                      " HAVING count(DISTINCT month) > 1 ORDER BY txt").fetchall()]


def builtin_exemplars(policy: PolicyConfig) -> ExemplarBank:
    """The policy's concepts and the labelled tickets of its exemplar files (the same every month)."""
    files = [PROJECT_ROOT / f for f in policy.scope_classification.semantic.exemplar_files]
    return builtin_bank(policy, files)


def exemplar_bank(con: duckdb.DuckDBPyConnection, policy: PolicyConfig, month: str,
                  as_of: datetime | None = None, builtin: ExemplarBank | None = None,
                  review_rows: str | None = None, reviews: ReviewBanks | None = None) -> ExemplarBank:
    """The semantic vote's exemplars for a month's calls: the policy's concepts, the built-in
    labelled tickets (`builtin`, read once per run) and this provider's review decisions in force
    at the as-of instant on tickets of earlier months (so a ticket's own decision never votes on
    its automated call, and agreement stays honest; `review_rows`: read once per run; `reviews`:
    made exemplars once per run, then neither is read)."""
    own = (reviews.before(month) if reviews is not None
           else review_bank(con, policy, before_month=month, as_of=as_of, rows=review_rows))
    return ExemplarBank.concat([builtin if builtin is not None else builtin_exemplars(policy), own])


def semantic_votes(con: duckdb.DuckDBPyConnection, policy: PolicyConfig, month: str,
                   rules: str | None = None, as_of: datetime | None = None,
                   shared: Mapping[str, Any] | None = None) -> dict[str, float]:
    """Compute the month's semantic votes (clf_tickets must exist) and keep them in staging.
    `shared`: what match_emergency_range prepared for the run's months."""
    shared = shared or {}
    builtin = shared.get("builtin_bank")
    bank = exemplar_bank(con, policy, month, as_of, builtin, shared.get("review_rows"),
                         shared.get("review_banks"))
    # Texts embedded by an earlier run (the bank's, most of a month's) are read, not embedded again
    # (in a run, read for all of its months at once; the built-in exemplars' stored then too).
    month_texts = [r[0] for r in con.execute(f"SELECT DISTINCT {TICKET_TEXT} FROM clf_tickets").fetchall()]
    bank_texts = bank.texts if builtin is None else bank.texts[len(builtin):]
    with stored_embeddings(con, policy, [*bank_texts, *month_texts], shared.get("stored_texts")):
        stats = prepare_votes(con, policy, bank, rules=rules, cones_of_run=shared.get("bank_cones"),
                              builtin=shared.get("builtin_shortlists"))
    replace_month(con, "staging.semantic_scope_votes", month,
                  "SELECT CAST($month AS DATE) AS month, * FROM clf_semantic_scope", {"month": month})
    replace_month(con, "staging.semantic_emergency_votes", month,
                  "SELECT CAST($month AS DATE) AS month, * FROM clf_semantic_emergency", {"month": month})
    return stats


def classify_scope(con: duckdb.DuckDBPyConnection, month: str, run: RunInputs) -> None:
    """The temp table clf_hits (and clf_tickets) that models/marts/scope_hits.sql reads."""
    if "scope_sql" in run.shared:  # the run's months' calls, computed by match_scope_range
        prepare_tickets(con, month)
        con.execute(f"CREATE OR REPLACE TEMP TABLE clf_hits AS {run.shared['scope_sql']}", [month])
        return
    # A month on its own: the rules' SQL in the statement.
    prepare_inputs(con, month)
    load_messages(con, run.policy, [month])
    prepare_scope_votes(con, run, [month])
    # calibrated: the marts (and so the reports and the export) show the calibrated confidence
    hits = scope_hits_sql(run.policy, "clf_emergency", calibrated=True)
    con.execute(f"CREATE OR REPLACE TEMP TABLE clf_hits AS {hits}")


def read_emergencies(con: duckdb.DuckDBPyConnection, month: str, run: RunInputs) -> dict[str, Any]:
    """The temp tables the emergency reading joins: the month's tickets, the emergency rules' matches
    and the semantic votes (kept in staging); returns the vote's figures."""
    prepare_tickets(con, month)
    # The rules run once: the vote may need them to pick the texts to embed.
    db = run.shared.get("emergency_range")
    if db is None:  # a month on its own: its messages computed now
        stage_messages(con, run.policy, [month])
        con.execute(f"CREATE OR REPLACE TEMP TABLE clf_emergency_rules AS {emergency_rules_sql(run.policy)}")
    else:
        load_messages(con, run.policy, [month])
        con.execute(f"CREATE OR REPLACE TEMP TABLE clf_emergency_rules AS SELECT r.ticket_id,"
                    f" {TICKET_TEXT} AS raw_txt, r.confidence, r.evidence, r.term_sets, r.dampeners,"
                    f" r.rules_met FROM {db}.emergency_rules r"
                    " JOIN clf_tickets t USING (ticket_id) WHERE r.month = CAST(? AS DATE)", [month])
    votes = semantic_votes(con, run.policy, month, "clf_emergency_rules", as_of=run.as_of,
                           shared=run.shared)
    return {"embedded_texts": int(votes["texts"]), "exemplars": int(votes["exemplars"]),
            "embedding_seconds": float(votes["seconds"])}


emergency_readings = monthly_sql_asset(
    "emergency_readings",
    description="The policy's reading of each ticket as an emergency or not, with confidence and evidence.",
    deps=[staging_tickets],
    before=read_emergencies,
    before_range=match_emergency_range,
    # The policy writes this model: its emergency terms and concepts become the SQL.
    # calibrated: the marts (and so the reports and the export) show the calibrated confidence
    select_of=lambda run: "SELECT CAST($month AS DATE) AS month, e.* FROM"
                          f" ({emergency_sql(run.policy, rules='clf_emergency_rules', calibrated=True)}) e",
    stats_sql="""SELECT count(*) AS row_count,
                        count(*) FILTER (WHERE qualifies_emergency) AS qualifies_emergency
                 FROM marts.emergency_readings WHERE month = $month""",
    summary="{row_count} emergency readings ({qualifies_emergency} qualify) for {month}; semantic vote on"
            " {embedded_texts} texts against {exemplars} exemplars in {embedding_seconds:.1f} s;"
            " {seconds:.1f} s in all",
)

# Review decisions, the contract and the abstention bands on top of the automated calls:
# models/marts/scope_hits.sql.
scope_hits = monthly_sql_asset(
    "scope_hits",
    description="Scope-exclusion hits per ticket with confidence and evidence (automated),"
                " review and contract.",
    deps=[staging_tickets, staging_time_entries, staging_review_decisions, business_calendars,
          emergency_readings],
    before=classify_scope,
    rows_of="staging.tickets",  # a hit (a fact) is a staged ticket's: none in a month without one
    before_range=match_scope_range,
    params=lambda run: {"as_of": run.as_of, "provider_review":
                        run.policy.scope_classification.call_states.provider_initiated_needs_review},
    stats_sql="""SELECT count(*) AS row_count, count(DISTINCT ticket_id) AS tickets_with_hits,
                        count(*) FILTER (WHERE billable) AS billable_hits,
                        count(*) FILTER (WHERE review_status <> 'unreviewed') AS reviewed_hits,
                        count(DISTINCT ticket_id) FILTER (WHERE call_state = 'needs review')
                            AS review_queue_tickets
                 FROM marts.scope_hits WHERE month = $month""",
    summary="{row_count} scope hits on {tickets_with_hits} tickets ({billable_hits} billable) for {month}"
            " in {seconds:.1f} s",
)
