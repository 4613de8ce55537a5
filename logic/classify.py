"""Evidence-based ticket classification in DuckDB SQL: the scope exclusions (emergency: logic/emergency.py).

Every term, weight and threshold comes from the policy config (`text_matching`,
`scope_classification`, `scope_exclusions`, `emergency`). Python only turns the config into RE2
patterns once and writes one set-based SQL statement; DuckDB does the matching for all tickets.

The caller provides two relations (temp views or tables) before running the SQL:
  clf_tickets(ticket_id, subject, description, category, declared_emergency BOOLEAN,
              priority VARCHAR, affected_users INTEGER)
  clf_time(ticket_id, minutes DOUBLE, work_type VARCHAR, billable BOOLEAN, note VARCHAR,
           outside_hours BOOLEAN)     -- outside_hours: from the client's business calendar
and, when a reading reads messages, clf_read_texts (logic/message.write_messages: each text's
message, computed once per run).
"""

from dataclasses import dataclass

from logic.calibration import calibrated_sql, confidence_map
from logic.emergency import emergency_sql
from logic.learned import learned_sql, scope_model
from logic.message import read_rows, scope_read_texts
from logic.scope_chain import call_threshold_sql, chain_model, chained_sql
from logic.scope_rules import ScopeRules, scope_rules
from logic.text_match import (
    SENTENCE,
    TICKET_TEXT,
    in_list,
    per_distinct_hits,
    values_relation,
)
from logic.word_model import EVIDENCE as WORD_EVIDENCE
from logic.word_model import scores_sql as word_scores_sql
from logic.word_model import weight_sql as word_weight_sql
from policy.classifiers import ScopeModel
from policy.config import PolicyConfig
from policy.scope_chain import StoredChainModel

# A word-model probability is evidence when weight x p is above this (as the semantic vote's 0.05).
WORD_FLOOR = 0.05

CLF_TICKETS_COLUMNS = ("ticket_id", "subject", "description", "category", "declared_emergency",
                       "priority", "affected_users")
# seq: the entry's place in its ticket's log (any sortable value); the notes are read in that order.
CLF_TIME_COLUMNS = ("ticket_id", "minutes", "work_type", "billable", "note", "outside_hours", "seq")


# The time-entry notes of a ticket as one document (over clf_time), in the order they were logged
# (seq). Ordered explicitly: DuckDB's string_agg joins in whatever order its threads aggregate, and
# the same notes in another order are another text to match, store and vote on.
NOTES_SQL = f"""SELECT ticket_id, string_agg(note, {SENTENCE} ORDER BY seq) AS raw_txt
    FROM clf_time WHERE trim(coalesce(note, '')) <> '' GROUP BY ticket_id"""


def scope_text_hits_sql(policy: PolicyConfig, docs: str, rules: ScopeRules | None = None) -> str:
    """SQL: the scope text rules' matches on each distinct raw_txt of `docs` (ticket texts, notes).

    Columns: raw_txt, txt, rule_id, hits; a row per text and rule that matched. A function of the
    text alone, so one statement can match the texts of many months (MatchedTexts).
    """
    rules = rules or scope_rules(policy)
    return per_distinct_hits(docs, "raw_txt", rules.compiler.normalise("raw_txt"), rules.text)


def scope_category_hits_sql(policy: PolicyConfig, tickets: str, rules: ScopeRules | None = None) -> str:
    """SQL: the category hints' matches on each distinct raw_cat of `tickets` (as scope_text_hits_sql)."""
    rules = rules or scope_rules(policy)
    return per_distinct_hits(tickets, "raw_cat", rules.compiler.normalise("raw_cat"), rules.category)


def time_agg_sql(policy: PolicyConfig) -> str:
    """SQL over clf_time: minutes logged per ticket (total, on site, travel, billable, billable
    outside business hours)."""
    ts = policy.scope_classification.time_signals
    return f"""
    SELECT ticket_id,
           sum(minutes) AS total_min,
           coalesce(sum(minutes) FILTER (WHERE lower(trim(work_type)) IN {in_list(ts.onsite_work_types)}), 0)
               AS onsite_min,
           coalesce(sum(minutes) FILTER (WHERE lower(trim(work_type)) IN {in_list(ts.travel_work_types)}), 0)
               AS travel_min,
           -- unknown billability counts as billable: the entry was logged against the ticket
           coalesce(sum(minutes) FILTER (WHERE coalesce(billable, true)), 0) AS billable_min,
           coalesce(sum(minutes) FILTER (WHERE coalesce(billable, true) AND outside_hours), 0) AS after_min
    FROM clf_time GROUP BY ticket_id"""


def time_state_sql(policy: PolicyConfig, tickets: str) -> str:
    """SQL: (ticket_id, total_min, onsite_min, travel_min, billable_min, after_min) for every
    ticket of `tickets` (0 where nothing was logged), as the scope statement's state has them."""
    return f"""SELECT t.ticket_id, coalesce(a.total_min, 0) AS total_min,
           coalesce(a.onsite_min, 0) AS onsite_min, coalesce(a.travel_min, 0) AS travel_min,
           coalesce(a.billable_min, 0) AS billable_min, coalesce(a.after_min, 0) AS after_min
    FROM {tickets} t LEFT JOIN ({time_agg_sql(policy)}) a USING (ticket_id)"""


@dataclass(frozen=True)
class MatchedTexts:
    """Relations holding the scope rules' matches, computed before the statement (for a run's months).

    Matching is most of scope_hits_sql's cost, and most of that is DuckDB preparing the rules'
    ~0.9 MB of SQL: matched once for a range of months, each month's statement is small.
    """

    notes: str  # (ticket_id, raw_txt): the tickets' time-entry notes, as NOTES_SQL gives them
    text_hits: str  # (raw_txt, rule_id, hits) of scope_text_hits_sql over the texts read and notes
    category_hits: str  # scope_category_hits_sql's result over categories including the month's


def scope_docs_sql(policy: PolicyConfig, texts: str, notes: str) -> str:
    """SQL relation (raw_txt): what the scope rules match, each distinct text of `texts` as the scope
    reading reads it (its message with scope_classification.message_only) and the notes of `notes`."""
    return (f"(SELECT read_txt AS raw_txt FROM ({scope_read_texts(policy, texts)})"
            f" UNION ALL SELECT raw_txt FROM {notes})")


def scope_hits_sql(policy: PolicyConfig, emergency: str | None = None, semantic: bool = True,
                   floor: float | None = None, model: ScopeModel | None = None,
                   features_only: bool = False, matched: MatchedTexts | None = None,
                   calibrated: bool = False, chain: StoredChainModel | None | str = "policy",
                   by_month: bool = False) -> str:
    """SQL over clf_tickets and clf_time: one row per scope exclusion hit.

    Columns: ticket_id, scope_id, confidence DOUBLE (0..1), evidence VARCHAR, call_state VARCHAR
    (`confident` or `needs review`, scope_classification.call_states). Only hits at or above
    scope_classification.min_confidence (or `floor`) are returned. `emergency` names a relation
    holding `emergency_sql`'s result for the same tickets (ticket_id, qualifies_emergency), when the
    caller has it already; otherwise it is computed here. With `semantic`, the semantic vote in
    clf_semantic_scope / clf_semantic_emergency (logic/semantic.py) is a second vote: extra
    evidence where the neighbours agree, a veto factor where the text was embedded and they do not;
    or, with a learned model (`model`, else the one scope_classification.learned names), the
    model's probability over the rules, the vote and the time signals (logic/learned.py), called
    from learned.call_at. features_only returns the model's inputs per candidate pair instead.
    `matched` names relations holding the rules' matches and the notes (MatchedTexts): the same
    result, without the rules' SQL in the statement. The state compares the *calibrated* confidence
    (logic/calibration.py) with scope_confident_at; the confidence column is the raw one unless
    `calibrated` (the pipeline's marts, and so the reports, show the calibrated one). `chain`: the
    classifier chain's weights (logic/scope_chain.py; "policy": the stored ones, when it is on).
    `by_month`: clf_tickets and the votes hold several months (a month column each, a ticket in one
    month): a vote is its month's (joined by text and month); every other join is by ticket or text.
    With scope_classification.message_only the rules, the scope vote and the word model read each
    ticket text's message (read_txt: logic/message.py, over its relation of a run's messages), the
    time-entry notes whole (round 29).
    """
    sc = policy.scope_classification
    ts = sc.time_signals
    rules = scope_rules(policy)
    meta = rules.meta
    project_ids = [s.id for s in policy.scope_exclusions if s.project_work]
    emergency_values = sorted({"emergency", *policy.priority_map["emergency"]})
    project_minutes = ts.project_hours * 60
    rules_rel = values_relation(meta, "r", "rule_id, scope_id, kind, label, weight, only_alone")
    cancel_rel = values_relation(meta, "rc", "rule_id, scope_id, kind, label, weight, only_alone")

    signals = f"""
    SELECT h.ticket_id, r.scope_id, r.kind,
           r.weight * CASE WHEN h.src = 'time-entry notes' THEN {sc.note_weight} ELSE 1 END AS w,
           r.only_alone, true AS dampenable,
           r.label || ': "' || array_to_string(list_distinct(h.hits), '", "') || '"'
               || CASE WHEN h.src = 'text' THEN '' ELSE ' (' || h.src || ')' END AS evidence
    FROM matched h JOIN {rules_rel} ON r.rule_id = h.rule_id
    WHERE len(h.hits) > 0 AND r.kind IN ('signal', 'category')
    UNION ALL
    -- the provider's own notes say what it did (round 39): like a time signal, not held by the
    -- vote; the text's dampeners still lower it (the client says it bought the kit itself)
    SELECT h.ticket_id, r.scope_id, 'note', r.weight, false, true,
           r.label || ': "' || array_to_string(list_distinct(h.hits), '", "') || '" (' || h.src || ')'
    FROM matched h JOIN {rules_rel} ON r.rule_id = h.rule_id
    WHERE len(h.hits) > 0 AND r.kind = 'note signal' AND h.src = 'time-entry notes'
    UNION ALL
    SELECT ticket_id, 'onsite', 'time', {ts.onsite_weight}, false, false,
           'onsite time entries: ' || round(onsite_min)::BIGINT || ' min'
    FROM state WHERE onsite_min > 0
    UNION ALL
    SELECT ticket_id, 'onsite', 'time', {ts.travel_weight}, false, false,
           'travel time entries: ' || round(travel_min)::BIGINT || ' min'
    FROM state WHERE travel_min > 0
    UNION ALL
    SELECT ticket_id, 'planned_after_hours', 'time',
           {ts.after_hours_weight} * CASE WHEN project_sized THEN {ts.after_hours_project_factor} ELSE 1 END,
           false, false,
           'billable work outside business hours: ' || round(after_min)::BIGINT || ' of '
               || round(billable_min)::BIGINT || ' billable min, not an emergency'
    FROM state
    WHERE NOT emergency_work AND after_min >= {ts.after_hours_min_minutes}
      AND after_min >= {ts.after_hours_min_share} * billable_min
    """
    sv = sc.semantic
    month_v, month_e = (" AND v.month = t.month", " AND e.month = t.month") if by_month else ("", "")
    model = model if model is not None or not semantic or features_only else scope_model(policy)
    learned = semantic and (model is not None or features_only)
    if semantic and not learned:
        # The neighbours' vote is evidence of its own; the rule dampeners already shaped the
        # exemplars' labels, so it is not dampened again (a whole-call dampener lowers it, round 17).
        signals += f"""
    UNION ALL
    SELECT t.ticket_id, v.scope_id, 'semantic', {sv.scope_weight} * v.vote, false, false,
           'semantic vote ' || printf('%.2f', v.vote) || ': like ' || v.evidence
    FROM tickets t JOIN clf_semantic_scope v ON v.raw_txt = t.read_txt{month_v}
    WHERE {sv.scope_weight} * v.vote > 0.05
    """
    wm = sc.word_model
    words = semantic and not learned and wm.enabled and bool(wm.scope_ids)
    if words:
        # The word model's probability (logic/word_model.py; weights in clf_word_weights) is
        # evidence of its own, like the neighbours' vote; rule dampeners do not apply to it (a
        # whole-call dampener does, round 17). What the time entries say overrules it as it does
        # the time signals (round 13): work outside hours on emergency work is not planned
        # after-hours work, and where only remote work was logged (remote_only_onsite_factor < 1)
        # nobody went on site.
        signals += f"""
    UNION ALL
    SELECT w.ticket_id, w.scope_id, 'word', {word_weight_sql(policy, 'w.scope_id')} * w.p, false, false,
           '{WORD_EVIDENCE} ' || printf('%.2f', w.p)
               || coalesce(' (words "' || array_to_string(w.words, '", "') || '")', '')
    FROM word w JOIN state st USING (ticket_id)
    WHERE {word_weight_sql(policy, 'w.scope_id')} * w.p > {WORD_FLOOR}
      AND NOT (w.scope_id = 'planned_after_hours' AND st.emergency_work)
      AND NOT (w.scope_id = 'onsite' AND {ts.remote_only_onsite_factor} < 1 AND st.total_min > 0
               AND st.onsite_min = 0 AND st.travel_min = 0)
    """
    # Hours on a project-sized ticket corroborate the project-type exclusion the text points to most.
    support = f"""
    SELECT b.ticket_id, b.scope_id, 'time' AS kind, {ts.project_support_weight} AS w,
           false AS only_alone, true AS dampenable,
           'project-sized: ' || printf('%g', round(st.total_min / 60, 1)) || ' h logged' AS evidence
    FROM (
        SELECT ticket_id, scope_id,
               row_number() OVER (PARTITION BY ticket_id
                                  ORDER BY sum(ln(1 - least(w, 0.999))), scope_id) AS rank
        FROM base_signals
        WHERE NOT only_alone AND kind <> 'time' AND scope_id IN {in_list(project_ids)}
        GROUP BY ticket_id, scope_id
    ) b JOIN state st USING (ticket_id)
    WHERE b.rank = 1 AND st.project_sized
    """
    # On its own, a project-sized ticket suggests structured project work (lower confidence).
    fallback = f"""
    SELECT ticket_id, 'structured_project' AS scope_id, 'time' AS kind, {ts.project_weight} AS w,
           true AS only_alone, false AS dampenable,
           'project-sized: ' || printf('%g', round(total_min / 60, 1))
               || ' h logged (>= {ts.project_hours:g} h), no other exclusion found' AS evidence
    FROM state WHERE project_sized
    """

    # word_model.review_only: the confidence the call has without the word model's evidence; the
    # call is `confident` only when that reaches scope_confident_at (the model finds calls for a
    # reviewer, it does not bill them on its own).
    review_only = words and wm.review_only
    word_free = (""",
               coalesce(any_value(d.call_factor), 1)
               * (1 - (1 - coalesce(any_value(d.factor), 1)
                        * (1 - exp(coalesce(sum(ln(1 - least(s.w, 0.999))) FILTER (WHERE s.dampenable), 0))))
                   * exp(coalesce(sum(ln(1 - least(s.w, 0.999)))
                                  FILTER (WHERE NOT s.dampenable AND s.kind <> 'word'), 0)))
                   AS word_free""" if review_only else "")

    # The rule dampeners lower the rules' part of the noisy-or (the dampenable signals); a whole-call
    # dampener (round 17) lowers the combined confidence, whichever signal raised it.
    def scored(signal_rel: str) -> str:
        return f"""
        SELECT s.ticket_id, s.scope_id,
               coalesce(any_value(d.call_factor), 1)
               * (1 - (1 - coalesce(any_value(d.factor), 1)
                        * (1 - exp(coalesce(sum(ln(1 - least(s.w, 0.999))) FILTER (WHERE s.dampenable), 0))))
                   * exp(coalesce(sum(ln(1 - least(s.w, 0.999))) FILTER (WHERE NOT s.dampenable), 0)))
                   AS confidence,
               string_agg(s.evidence, '; ' ORDER BY s.w DESC, s.evidence)
                   || coalesce('; dampened by ' || any_value(d.evidence), '') AS evidence,
               bool_or(s.kind IN ('signal', 'category')) AS from_text,
               bool_or(s.kind = 'note') AS from_note,
               1 - exp(coalesce(sum(ln(1 - least(s.w, 0.999))) FILTER (WHERE s.kind = 'time'), 0))
                   AS time_confidence{word_free}
        FROM {signal_rel} s LEFT JOIN damp d USING (ticket_id, scope_id)
        GROUP BY s.ticket_id, s.scope_id"""

    min_conf = sc.min_confidence
    confident_at = sc.call_states.scope_confident_at
    call_at = min_conf if floor is None else floor
    # The learned combination's probability has its own bands (learned.confident_at), not the map.
    cmap = None if learned else confidence_map(policy, "scope")
    if learned:
        voted = learned_sql(model, features_only, by_month)  # type: ignore[arg-type]
        if not features_only:
            voted = f"SELECT *, false AS held FROM ({voted})"
        if floor is None:
            call_at, confident_at = sc.learned.call_at, sc.learned.confident_at
    elif semantic:
        # Veto: the text was embedded, the rules read an exclusion into it, and the labelled
        # neighbours do not share it. Time-entry evidence (onsite, after hours) is not text: no veto.
        # veto_to_review: the disagreement caps the call's state at `needs review` instead of
        # lowering its confidence below the call threshold (a call held for a reviewer, not dropped).
        # Work logged on site or after hours that alone makes a confident call is not questioned
        # by what the text's neighbours say (the text may say nothing of where the work was done).
        factor, shown = (1, "needs review") if sv.veto_to_review else (sv.scope_veto, f"x{sv.scope_veto:g}")
        # Rules at or above hold_below (several strong rules at once) are not questioned either.
        strong = f" AND f.confidence < {sv.hold_below}" if sv.hold_below < 1 else ""
        # With word_model.as_vote, the word model's probability is a vote the call is held against too.
        vote = ("greatest(coalesce(v.vote, 0), coalesce(wv.p, 0))" if words and wm.as_vote
                else "coalesce(v.vote, 0)")
        vetoed = (f"(f.from_text AND NOT f.from_note AND e.raw_txt IS NOT NULL AND {vote} < {sv.veto_below}"
                  f" AND {calibrated_sql('f.time_confidence', '0', cmap)} < {confident_at}{strong})")
        # drop_below (round 14): a held call whose vote is weaker still is no call (confidence 0).
        if sv.veto_to_review and sv.drop_below > 0:
            factor = f"CASE WHEN {vote} < {sv.drop_below!r} THEN 0 ELSE {factor} END"
        held_free = (f", f.word_free * CASE WHEN {vetoed} THEN {factor} ELSE 1 END AS word_free"
                     if review_only else "")
        voted = f"""
        SELECT f.ticket_id, f.scope_id,
               f.confidence * CASE WHEN {vetoed} THEN {factor} ELSE 1 END AS confidence,
               f.evidence || CASE WHEN {vetoed} THEN '; semantic vote disagrees ({shown})' ELSE '' END
                   AS evidence,
               {str(sv.veto_to_review).lower()} AND {vetoed} AS held{held_free},
               -- the vote corroborates what the rules or the time read; a call on the vote alone
               -- is not confident on its own again (the map counts it once: in the raw confidence)
               CASE WHEN f.from_text OR f.from_note OR f.time_confidence > 0
                    THEN coalesce(v.vote, 0) ELSE 0 END AS vote
        FROM final f JOIN tickets t USING (ticket_id)
        LEFT JOIN clf_semantic_emergency e ON e.raw_txt = t.raw_txt{month_e}
        LEFT JOIN clf_semantic_scope v ON v.raw_txt = t.read_txt AND v.scope_id = f.scope_id{month_v}"""
        if words and wm.as_vote:
            voted += " LEFT JOIN word wv ON wv.ticket_id = f.ticket_id AND wv.scope_id = f.scope_id"
        chain = chain_model(policy) if chain == "policy" else chain
        if isinstance(chain, StoredChainModel) and sc.chain.enabled:
            voted = chained_sql(policy, chain, voted)  # round 15: lifts held for review
    else:
        voted = "SELECT ticket_id, scope_id, confidence, evidence, false AS held, 0.0 AS vote FROM final"
    # MATERIALIZED: the text and category hits are matched as relations of their own. Inlined into
    # their readers (DuckDB 2.0's plan), the rules' regular expressions appeared 2.3 times as often
    # in the plan, and a 1M month cost 2.5 s of CPU instead of 1.6 s (docs/benchmark.md). The CTEs
    # read twice (matched, the signals) DuckDB materialises by itself; the keyword says so.
    if matched is None:
        notes = NOTES_SQL
        text_hits = scope_text_hits_sql(policy, "docs", rules)
        category_hits = scope_category_hits_sql(policy, "tickets", rules)
    else:  # the month's texts only: the relations may hold a range of months
        notes = f"SELECT ticket_id, raw_txt FROM {matched.notes}"
        text_hits = (f"SELECT raw_txt, rule_id, hits FROM {matched.text_hits}"
                     " WHERE raw_txt IN (SELECT raw_txt FROM docs)")
        category_hits = (f"SELECT raw_cat, txt, rule_id, hits FROM {matched.category_hits}"
                         " WHERE raw_cat IN (SELECT raw_cat FROM tickets)")
    # call_at_by_id (round 14): an id's own call threshold, where the policy sets one
    call_at_sql = call_threshold_sql(policy, "scope_id") if floor is None and not learned else f"{call_at}"
    confident_free = (f" AND {calibrated_sql('word_free', 'vote', cmap)} >= {confident_at}"
                      if review_only and not learned else "")
    sure = f"{calibrated_sql('confidence', 'vote', cmap)} >= {confident_at} AND NOT held{confident_free}"
    # confident_only (round 38): on these ids a review call was almost never right: below the bar, no call
    only = sc.call_states.confident_only if floor is None and not learned else []
    drop = f" AND (scope_id NOT IN {in_list(only)} OR ({sure}))" if only else ""
    # The evidence words only where the word model's evidence is shown (weight x p above the floor).
    word_sql = word_scores_sql("(SELECT ticket_id, read_txt AS raw_txt, raw_cat FROM tickets)", "state",
                               scope_ids=wm.scope_ids,
                               words_where=f"{word_weight_sql(policy, 'scope_id')} * p > {WORD_FLOOR}")
    word_cte = f", word AS MATERIALIZED ({word_sql}\n)" if words else ""
    # own_evidence_beside (round 30): beside a found listed id, only the id's own rules (and its own
    # note signals, round 41: the provider's log of how the work ran) count for it
    pairs = [(sid, other) for sid, others in sorted(sc.own_evidence_beside.items()) for other in others]
    beside = "" if not pairs else f"""
          AND NOT (s.kind NOT IN ('signal', 'category', 'note') AND EXISTS (
              SELECT 1 FROM found f JOIN {values_relation(pairs, "b", "scope_id, other_id")}
                  ON b.other_id = f.scope_id
              WHERE f.ticket_id = s.ticket_id AND b.scope_id = s.scope_id))"""
    # The text each ticket's text is read as (its message, or itself: logic/message.py).
    tickets = read_rows(f"""(
        SELECT ticket_id, {TICKET_TEXT} AS raw_txt, coalesce(category, '') AS raw_cat,
               lower(trim(coalesce(priority, ''))) AS priority_key{", month" if by_month else ""}
        FROM clf_tickets)""", sc.message_only)
    return f"""
WITH tickets AS (
    {tickets}
), notes AS (
    {notes}
), docs AS (
    SELECT ticket_id, 'text' AS src, read_txt AS raw_txt FROM tickets
    UNION ALL SELECT ticket_id, 'time-entry notes', raw_txt FROM notes
), text_hits AS MATERIALIZED (
    {text_hits}
), category_hits AS MATERIALIZED (
    {category_hits}
), matched AS MATERIALIZED (
    SELECT d.ticket_id, d.src, h.rule_id, h.hits FROM docs d JOIN text_hits h USING (raw_txt)
    UNION ALL
    SELECT t.ticket_id, 'category "' || h.txt || '"' AS src, h.rule_id, h.hits
    FROM tickets t JOIN category_hits h USING (raw_cat) WHERE h.txt <> ''
), time_agg AS (
    {time_agg_sql(policy)}
), state AS (
    SELECT t.ticket_id,
           coalesce(a.total_min, 0) AS total_min,
           coalesce(a.onsite_min, 0) AS onsite_min,
           coalesce(a.travel_min, 0) AS travel_min,
           coalesce(a.billable_min, 0) AS billable_min,
           coalesce(a.after_min, 0) AS after_min,
           coalesce(a.total_min, 0) >= {project_minutes} AS project_sized,
           -- emergency response outside hours is not *planned* after-hours work
           coalesce(e.qualifies_emergency, false)
               OR t.priority_key IN {in_list(emergency_values)} AS emergency_work
    FROM tickets t
    LEFT JOIN time_agg a USING (ticket_id)
    LEFT JOIN {emergency or f"({emergency_sql(policy, semantic)})"} e USING (ticket_id)
){word_cte}, damp AS (
    -- ordered: two dampeners on one call read the same in every run, whatever the threads' order;
    -- factor: of the rules' confidence; call_factor: of the call as a whole (whole_call dampeners)
    SELECT ticket_id, scope_id, exp(sum(ln(factor)) FILTER (WHERE NOT whole_call)) AS factor,
           exp(sum(ln(factor)) FILTER (WHERE whole_call)) AS call_factor,
           string_agg(evidence, '; ' ORDER BY evidence) AS evidence
    FROM (
        SELECT h.ticket_id, r.scope_id, r.weight AS factor, r.kind <> 'dampener' AS whole_call,
               r.label || ' "' || array_to_string(list_distinct(h.hits), '", "') || '"' AS evidence
        FROM matched h JOIN {rules_rel} ON r.rule_id = h.rule_id
        WHERE len(h.hits) > 0 AND (r.kind IN ('dampener', 'call dampener') AND h.src = 'text'
              -- a note dampener (round 40) reads the notes alone, its `unless` too
              OR r.kind = 'note dampener' AND h.src = 'time-entry notes')
          -- the dampener's `unless` wording on the same ticket cancels it (round 22)
          AND NOT EXISTS (SELECT 1 FROM matched ch JOIN {cancel_rel} ON rc.rule_id = ch.rule_id
                          WHERE rc.kind = 'dampener cancel' AND rc.scope_id = r.scope_id
                            AND rc.label = r.label AND ch.ticket_id = h.ticket_id
                            AND ch.src = h.src AND len(ch.hits) > 0)
        UNION ALL
        -- emergency work outside hours is not planned after-hours work (round 36): the whole call
        SELECT ticket_id, 'planned_after_hours', {ts.emergency_after_hours_factor}, true,
               'emergency work, not planned'
        FROM state WHERE {ts.emergency_after_hours_factor} < 1 AND emergency_work
        UNION ALL
        -- a visit asked for in the text, but all the work logged was remote: nobody went
        SELECT ticket_id, 'onsite', {ts.remote_only_onsite_factor}, false,
               'only remote work logged (' || round(total_min)::BIGINT || ' min)'
        FROM state
        WHERE {ts.remote_only_onsite_factor} < 1 AND total_min > 0 AND onsite_min = 0 AND travel_min = 0
    )
    GROUP BY ticket_id, scope_id
), base_signals AS MATERIALIZED ({signals}
), all_signals AS MATERIALIZED (
    SELECT * FROM base_signals UNION ALL {support} UNION ALL {fallback}
), first_pass AS ({scored("(SELECT * FROM all_signals WHERE NOT only_alone)")}
), found AS (
    SELECT ticket_id, scope_id FROM first_pass WHERE confidence >= {min_conf}
), final AS ({scored(f'''(SELECT * FROM all_signals s WHERE (NOT s.only_alone OR NOT EXISTS (
        SELECT 1 FROM found f WHERE f.ticket_id = s.ticket_id AND f.scope_id <> s.scope_id)){beside})''')}
), voted AS ({voted}
)
""" + ("SELECT * FROM voted ORDER BY ticket_id, scope_id" if features_only else f"""
SELECT ticket_id, scope_id,
       round({calibrated_sql("confidence", "vote", cmap) if calibrated else "confidence"}::DOUBLE, 3)
           AS confidence,
       evidence,
       CASE WHEN {sure} THEN 'confident' ELSE 'needs review' END AS call_state
FROM voted WHERE confidence >= {call_at_sql}{drop}
ORDER BY ticket_id, scope_id
""")
