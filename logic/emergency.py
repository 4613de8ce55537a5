"""The policy's emergency reading in DuckDB SQL: rules over ticket text, the semantic vote, call state.

The caller provides clf_tickets (see logic/classify.py); every term, weight and threshold comes
from the policy config (`emergency`, `scope_classification.call_states`, `semantic`).
"""


from logic import emergency_asks as asks
from logic.calibration import calibrated_sql, confidence_map
from logic.emergency_bars import learned_bars, vote_state
from logic.emergency_model import EVIDENCE as MODEL_EVIDENCE
from logic.emergency_model import hold_sql as _hold
from logic.emergency_model import scores_sql
from logic.message import read_rows, read_texts
from logic.text_match import TICKET_TEXT, Compiler, Matcher, in_list, matched_hits, per_policy
from policy.config import PolicyConfig
from warehouse.sqlquote import sql_literal


def emergency_sql(policy: PolicyConfig, semantic: bool = True, rules: str | None = None,
                  calibrated: bool = False) -> str:
    """SQL over clf_tickets: one row per ticket with the policy's own emergency assessment.

    Columns: ticket_id, qualifies_emergency BOOLEAN, emergency_confidence DOUBLE (0..1),
    emergency_evidence VARCHAR, emergency_call_state VARCHAR (`confident`, `needs review` or
    `none`). Declared emergency and priority are not evidence. With `semantic`, the vote in
    clf_semantic_emergency (logic/semantic.py) is a second vote beside the rules. `rules` names a
    relation holding `emergency_rules_sql`'s result when the caller has it already (the rules then
    run once even when the vote needs them first to pick the texts to embed). The state compares
    the *calibrated* confidence (logic/calibration.py) with emergency_confident_at; the
    emergency_confidence column is the raw one unless `calibrated` (as the pipeline's marts show it):
    then a call shows its calibrated confidence, a ticket below the call threshold (the map was
    fitted on calls only) its raw one.
    """
    em = policy.emergency
    sv = policy.scope_classification.semantic
    confident_at = policy.scope_classification.call_states.emergency_confident_at
    source = rules or f"({emergency_rules_sql(policy)})"
    cmap = confidence_map(policy, "emergency")
    # Round 18 (calibration): the map's held share for every call the vote disagrees with, declared
    # or not (a declared call is not held for review by the vote, but was right as seldom).
    shown = calibrated_sql("confidence", "map_vote", cmap,
                           held="disagrees" if cmap is not None and cmap.held_declared else "held")
    if semantic:
        sr = em.security_reading
        weight = f"{sv.emergency_weight}"
        if sr.categories and sr.vote_weight != sv.emergency_weight:
            # Round 10: where security incidents are reported, the neighbours' reading weighs more
            # (an incident told by what one user saw leaves the rules nothing to read).
            weight = (f"CASE WHEN lower(trim(d.category)) IN {in_list(sr.categories)}"
                      f" THEN {sr.vote_weight} ELSE {sv.emergency_weight} END")
        # The vote's factor once per row, a column of s (three copies of 32 KB of SQL cost more
        # to bind and optimise than to run: see _learned_vote's bars).
        state = "s.lv_vote_state"
        # Rules first (vetoed when the text was embedded and its neighbours are not emergencies),
        # then the neighbours' vote as independent evidence.
        voted = f"""
    SELECT s.ticket_id, s.raw_txt, coalesce(v.vote, 0) AS emergency_vote,
           {asks.freed(policy, 's', 'planned_work')} AS later_freed,
           -- in the calibration map the vote corroborates the rules; a call on the vote alone
           -- counts it once (in the raw confidence), so it is never confident on its own
           CASE WHEN s.confidence > 0 THEN coalesce(v.vote, 0) ELSE 0 END AS map_vote,
           v.raw_txt IS NOT NULL AND v.vote < {sv.emergency_review_below}
             AND NOT coalesce(d.declared_emergency, false) AS held,
           v.raw_txt IS NOT NULL AND v.vote < {sv.emergency_review_below} AS disagrees,
           1 - (1 - s.confidence * CASE WHEN v.raw_txt IS NOT NULL AND v.vote < {sv.veto_below}
                                             AND NOT {asks.freed(policy, 's', 'vote_veto')}
                                        THEN {sv.emergency_veto} ELSE 1 END)
             * (1 - {weight} * coalesce(v.vote, 0) * {state}) AS confidence,
           concat_ws('; ', nullif(s.evidence, ''),
                     CASE WHEN {weight} * coalesce(v.vote, 0) > 0.05
                          THEN 'semantic vote ' || printf('%.2f', v.vote)
                               || CASE WHEN {weight} <> {sv.emergency_weight}
                                       THEN ' (x' || CAST({weight} AS VARCHAR) || ', a security category)'
                                       ELSE '' END
                               || ': like ' || v.evidence END,
                     CASE WHEN {sv.emergency_veto} < 1 AND s.confidence > 0 AND v.raw_txt IS NOT NULL
                               AND v.vote < {sv.veto_below}
                          THEN 'semantic vote disagrees (x{sv.emergency_veto:g})' END,
                     CASE WHEN {weight} * coalesce(v.vote, 0) > 0.05 AND {state} < 1
                          THEN 'vote dampened as the outage reading was (x' || round({state}, 2) || ')'
                          END) AS evidence
    FROM (SELECT s.*, {vote_state(policy)} AS lv_vote_state FROM {source} s) s
    LEFT JOIN clf_semantic_emergency v ON v.raw_txt = s.raw_txt
    LEFT JOIN clf_tickets d ON d.ticket_id = s.ticket_id"""
        pw = em.planned_work
        if pw.factor < 1 and pw.scope_ids:
            planned = f"(p.vote >= {pw.min_vote} AND p.vote > e.emergency_vote AND NOT e.later_freed)"
            # with message_only, the scope vote of the text's message (read_txt: logic/message.py)
            read = read_rows(f"({voted})", em.message_only)
            # Planned project work is never an emergency (0 of 529 such tickets in the labelled
            # files): where the text's neighbours read a planned exclusion, and more than they read
            # an emergency (a lapsed domain sits near domain migrations), the reading is dampened.
            # The scope vote, not the scope rules: those read this statement's result (emergency
            # work outside hours is not planned after-hours work), so they cannot feed it.
            voted = f"""
    SELECT e.ticket_id, e.held, e.disagrees, e.map_vote,
           e.confidence * CASE WHEN {planned} THEN {pw.factor} ELSE 1 END AS confidence,
           concat_ws('; ', nullif(e.evidence, ''),
                     CASE WHEN {planned} AND e.confidence > 0
                          THEN 'dampened: reads as planned work (semantic vote ' || printf('%.2f', p.vote)
                               || ' for ' || replace(p.scope_id, '_', ' ') || ': like ' || p.evidence
                               || ') (x{pw.factor:g})' END) AS evidence
    FROM ({read}) e
    LEFT JOIN (SELECT raw_txt, max(vote) AS vote, arg_max(scope_id, (vote, scope_id)) AS scope_id,
                      arg_max(evidence, (vote, scope_id)) AS evidence
               FROM clf_semantic_scope WHERE scope_id IN {in_list(pw.scope_ids)} GROUP BY raw_txt) p
        ON p.raw_txt = e.read_txt"""
        if em.learned_model.enabled and sv.enabled:  # the signal reads the vote
            voted = _learned_vote(policy, source, voted)
    else:
        voted = (f"SELECT ticket_id, false AS held, false AS disagrees, 0.0 AS map_vote, confidence, evidence"
                 f" FROM {source} s")
    return f"""
WITH voted AS ({voted}
)
SELECT ticket_id,
       confidence >= {em.min_confidence} AS qualifies_emergency,
       round({f"CASE WHEN confidence >= {em.min_confidence} THEN {shown} ELSE confidence END"
               if calibrated else "confidence"}::DOUBLE, 3) AS emergency_confidence,
       CASE WHEN evidence = '' THEN 'no emergency signal in the text'
            WHEN held AND confidence >= {em.min_confidence}
            THEN evidence || '; not declared and the semantic vote disagrees (needs review)'
            ELSE evidence END AS emergency_evidence,
       CASE WHEN {shown} >= {confident_at} AND NOT held THEN 'confident'
            WHEN confidence >= {em.min_confidence} THEN 'needs review' ELSE 'none' END
           AS emergency_call_state
FROM voted
"""


def _learned_vote(policy: PolicyConfig, source: str, voted: str) -> str:
    """The reading with the learned emergency signal's vote (round 13; logic/emergency_model.py,
    weights in clf_emergency_weights): a reading the rules and the neighbours left below the call
    threshold is raised to the model's probability p where p reaches raise_at; a call is multiplied
    by hold_factor where p is below hold_below, and with hold_full by a factor rising linearly to 1
    between hold_below and hold_full (_hold). The evidence names p and the words behind it. Only
    texts the vote was taken on are read (it is one of the model's inputs; above max_texts_all a
    month embeds only the uncertain texts): elsewhere the reading stands."""
    em = policy.emergency
    lm = em.learned_model
    inputs = f"""SELECT s.ticket_id, s.raw_txt, d.category, d.declared_emergency, d.affected_users,
               s.confidence AS rule_confidence, v.vote,
               s.term_sets, s.dampeners, s.rules_met
        FROM {source} s JOIN clf_semantic_emergency v ON v.raw_txt = s.raw_txt
        LEFT JOIN clf_tickets d ON d.ticket_id = s.ticket_id"""
    bar, joined, narrow_bar, off = str(lm.raise_at), "", "false", "false"
    if lm.raise_at is not None:
        # The higher bars (one person's problem; a told state that lowered the vote) and where the
        # signal does not raise at all (logic/emergency_bars.py).
        bar, narrow_bar, off = learned_bars(policy)
        # Each bar once per ticket, a column of mi, not in every CASE that reads it: the bars are
        # 32 KB of SQL each, read seven times, and binding and optimising those copies cost as much
        # CPU as running a month's statement (docs/benchmark.md, round 41). Where a ticket has no
        # model input its p is NULL, so no bar it reads changes a reading.
        joined = (f" LEFT JOIN (SELECT mi.*, {bar} AS lv_raise_bar, {narrow_bar} AS lv_narrow_bar,"
                  f" {off} AS lv_raise_off FROM model_in mi) mi USING (ticket_id)")
        bar, narrow_bar, off = "mi.lv_raise_bar", "mi.lv_narrow_bar", "mi.lv_raise_off"
    raised = ("false" if lm.raise_at is None
              else f"(b.confidence < {em.min_confidence} AND m.p >= {bar} AND NOT {off})")
    hold_end, factor, shown_factor = _hold(policy)
    low = f"(b.confidence >= {em.min_confidence} AND m.p < {hold_end})"
    # Round 18: a rule that names the incident by its nature (a caller let in, prompts nobody
    # started) is not held by the model's ordinary words (policy: off, measured in the docs). The
    # rules' reading lists the rules the text met by label (emergency_rules_sql).
    by_nature = ", ".join(sql_literal(label) for label in lm.by_nature)
    spared = (f"({low} AND coalesce(list_has_any(mi.rules_met, [{by_nature}]), false))"
              if lm.by_nature else "false")
    # Round 39: nor a reading a later ask freed (the signal reads the whole text, most of it the
    # routine first ask's words; emergency.later_ask.holds_against).
    freed = asks.freed(policy, "mi", "learned_hold")
    if (lm.by_nature or freed != "false") and not joined:
        joined = " LEFT JOIN model_in mi USING (ticket_id)"
    held = f"({low} AND NOT {spared} AND NOT {freed})"
    # Round 17: below the call threshold and not raised, p is evidence of weight_below (noisy-or),
    # except where the single-user bar applies (the text and the field agree it is one person's).
    # Round 35: with lift_from, a p below it (one that would hold a call) lifts nothing.
    lift_floor = f" AND m.p >= {lm.lift_from}" if lm.lift_from is not None else ""
    lifted = (f"(b.confidence < {em.min_confidence} AND m.p IS NOT NULL AND NOT {raised}"
              f" AND NOT coalesce({narrow_bar}, false){lift_floor})" if lm.weight_below > 0 else "false")

    def words(column: str) -> str:
        return f"""coalesce(' (words "' || array_to_string(m.{column}, '", "') || '")', '')"""

    # CTEs of their own inside the vote's relation: the model's inputs once per ticket, its
    # probability once per ticket.
    return f"""
    WITH model_in AS MATERIALIZED ({inputs}
    ), model AS MATERIALIZED ({scores_sql(policy, 'model_in')}
    ), base AS ({voted}
    )
    SELECT b.ticket_id, b.held, b.disagrees,
           -- a raised reading's p counts the vote already: the map does not add it again
           CASE WHEN {raised} THEN 0.0 ELSE b.map_vote END AS map_vote,
           CASE WHEN {raised} THEN m.p WHEN {held} THEN b.confidence * {factor}
                WHEN {lifted} THEN 1 - (1 - b.confidence) * (1 - {lm.weight_below} * m.p)
                ELSE b.confidence END AS confidence,
           concat_ws('; ', nullif(b.evidence, ''),
                     CASE WHEN {raised}
                          THEN '{MODEL_EVIDENCE} ' || printf('%.2f', m.p) || {words('words_for')}
                          WHEN {held} THEN '{MODEL_EVIDENCE} ' || printf('%.2f', m.p) || ' disagrees'
                               || {words('words_against')} || {shown_factor}
                          WHEN {spared} THEN '{MODEL_EVIDENCE} ' || printf('%.2f', m.p) || ' disagrees'
                               || {words('words_against')} || ', not held: the incident by its nature'
                          WHEN {low} AND {freed} THEN '{MODEL_EVIDENCE} ' || printf('%.2f', m.p)
                               || ' disagrees, not held: a later ask read alone'
                          WHEN {lifted} AND {lm.weight_below} * m.p > 0.05
                          THEN '{MODEL_EVIDENCE} ' || printf('%.2f', m.p) || {words('words_for')}
                               || ' (x{lm.weight_below:g})' END) AS evidence
    FROM base b LEFT JOIN model m USING (ticket_id){joined}"""


def _hit_columns(texts: str, normalised: str, columns: list[tuple[str, Matcher]],
                 matches: str | None = None, read: str = "") -> str:
    """SQL: raw_txt, txt and a list column per matcher (its hits, [] when none) for each text of
    `texts` (a query of distinct raw_txt and the read_txt the rules match, message.read_texts);
    the matching is set-based (text_match.matched_hits). `matches`: a relation of
    emergency_text_hits_sql's rows for the texts read (stored ones, keyed by read_txt): read, not
    matched (txt is then NULL: the reading does not use it)."""
    items = [(i, matcher) for i, (_, matcher) in enumerate(columns)]
    # One map per text (rule_id -> hits), then a lookup per column: a filtered any_value per
    # column made the group by carry 63 list states a text and cost 70% of the reading's CPU
    # over a 1M-size month's stored matches (docs/benchmark.md, round 23). A text's rows have
    # distinct rule ids (matched_hits groups by them; the store holds a text's rows once), so the
    # map holds each of its hits lists, and a duplicate would fail loudly instead of picking one.
    looked_up = ", ".join(f"mp[{i}] AS {name}" for i, (name, _) in enumerate(columns))

    def pivot(rows: str) -> str:
        return (f"SELECT raw_txt, {looked_up} FROM (SELECT raw_txt, map_from_entries(list((rule_id, hits)))"
                f" AS mp FROM {rows} GROUP BY raw_txt)")

    shown = ", ".join(f"coalesce(h.{name}, CAST([] AS VARCHAR[])) AS {name}" for name, _ in columns)
    if matches is not None:
        return f"""WITH mt_hits AS (
        {pivot(matches)}
    )
    SELECT x.raw_txt, CAST(NULL AS VARCHAR) AS txt{read}, {shown}
    FROM ({texts}) x LEFT JOIN mt_hits h ON h.raw_txt = x.read_txt"""
    matched = f"({matched_hits('mt_texts', 'raw_txt', items)})"
    return f"""WITH mt_texts AS (
        SELECT raw_txt{read}, {normalised} AS txt FROM ({texts})
    ), mt_hits AS (
        {pivot(matched)}
    )
    SELECT x.raw_txt, x.txt{read}, {shown} FROM mt_texts x LEFT JOIN mt_hits h USING (raw_txt)"""


@per_policy
def _matchers(policy: PolicyConfig) -> list[tuple[str, Matcher]]:
    """emergency_rules_sql's list columns in its order: the term sets, each criterion's text rules,
    the dampeners, the `unless` wording of those that have one (a stored match's rule_id is its
    index here: the unless columns come last, so the others keep their index)."""
    c = Compiler(policy)
    em = policy.emergency
    return [*[(f"set_{name}", c.terms(terms)) for name, terms in em.term_sets.items()],
            *[(f"r_{criterion.id}_{i}", c.rule(rule)) for criterion in em.criteria
              for i, rule in enumerate(criterion.rules) if not rule.all_of],
            *[(f"d_{j}", c.dampener(damp)) for j, damp in enumerate(em.dampeners)],
            *[(f"du_{j}", c.terms(damp.unless)) for j, damp in enumerate(em.dampeners) if damp.unless]]


@per_policy
def emergency_text_hits_sql(policy: PolicyConfig, texts: str) -> str:
    """SQL: (raw_txt, rule_id, hits) for each distinct raw_txt of the relation `texts` and emergency
    rule, term set or dampener (rule_id: its index in _matchers) it matched. A function of the
    text alone: what orchestration/emergency_match_store.py keeps. The texts are the ones the rules
    read: with emergency.message_only a ticket text's message (message.read_texts' read_txt), and
    the matches are keyed by it (round 30), as the scope rules' are."""
    c = Compiler(policy)
    items = list(enumerate(matcher for _, matcher in _matchers(policy)))
    return f"""WITH mt_texts AS (
        SELECT raw_txt, {c.normalise('raw_txt')} AS txt FROM (SELECT DISTINCT raw_txt FROM {texts})
    )
    {matched_hits('mt_texts', 'raw_txt', items)}"""


@per_policy
def emergency_rules_sql(policy: PolicyConfig, matches: str | None = None) -> str:
    """SQL over clf_tickets: the rules' emergency reading before the semantic vote and threshold.

    Columns: ticket_id, raw_txt (the text the vote joins on), confidence DOUBLE, evidence VARCHAR,
    term_sets BOOLEAN[] (per emergency.term_sets, in order: the text met the vocabulary),
    dampeners VARCHAR[] (the labels of the emergency.dampeners the text met, in policy order),
    rules_met VARCHAR[] (the labels of the criteria's rules the text met, before dampeners, in
    policy order; an all_of rule's several_users met by affected_users too, as in the reading).
    """
    c = Compiler(policy)
    em = policy.emergency
    # The list columns of the matches CTE: _matchers' (a stored match's rule_id is its index there).
    columns = _matchers(policy)
    named = {name for name, _ in columns}

    def col(name: str) -> str:
        assert name in named, name
        return name

    sets = {name: col(f"set_{name}") for name in em.term_sets}

    def shown(column: str) -> str:
        return f"""'"' || array_to_string(list_distinct({column})[1:3], '", "') || '"'"""

    def set_met(name: str) -> tuple[str, str]:
        met = f"len({sets[name]}) > 0"
        seen = shown(sets[name])
        if name == "several_users":  # affected_users counts as evidence of breadth
            met = f"({met} OR coalesce(affected_users, 0) >= {em.min_affected_users})"
            seen = (f"concat_ws(', ', CASE WHEN len({sets[name]}) > 0 THEN {seen} END,"
                    f" CASE WHEN coalesce(affected_users, 0) >= {em.min_affected_users}"
                    f" THEN affected_users || ' affected users' END)")
        return met, seen

    bf = em.broad_field
    # Broad by the structured field (round 17): the text's dampeners do not apply on bf.criteria.
    by_field = (f"coalesce(affected_users, 0) >= {bf.min_affected_users}"
                if bf.min_affected_users is not None else "false")

    def damp_met(j: int) -> str:
        """Dampener j's wording is on the ticket and neither its `unless` wording (round 29) nor
        the wording of a term set it names in `unless_sets` (round 36; the text's words only, not
        affected_users) is, and every term set it names in `only_with_sets` (round 40) is met."""
        damp = em.dampeners[j]
        cancels = ([f"du_{j}"] if damp.unless else []) + [sets[name] for name in damp.unless_sets]
        # Round 40: only_with_sets, the kind of report the dampener's state is told about.
        needs = [f"len({sets[name]}) > 0" for name in damp.only_with_sets]
        met = " AND ".join([f"len(d_{j}) > 0", *(f"len({column}) = 0" for column in cancels), *needs])
        return f"({met})" if cancels or needs else met

    def applied(j: int, criteria: list[str]) -> str:
        """Dampener j lowers the reading on `criteria` (the criteria it applies to, or one)."""
        exempt = (bf.min_affected_users is not None and set(criteria) <= set(bf.criteria)
                  and em.dampeners[j].label not in bf.firm)
        met = f"({damp_met(j)} AND NOT {by_field})" if exempt else damp_met(j)
        later = asks.freed_where(policy, j, criteria)  # round 37 (round 39: a system named)
        return f"({met} AND NOT ({later}))" if later else met

    criteria_conf: list[str] = []
    evidence_parts: list[str] = []
    matched: list[str] = []  # every rule's condition, before dampeners
    met_rules: list[str] = []  # the rules_met column's items: a rule's label where it matched
    for criterion in em.criteria:
        terms, kept = [], []  # kept: undampened rules
        for i, rule in enumerate(criterion.rules):
            if rule.all_of:
                parts = [set_met(n) for n in rule.all_of]
                cond = " AND ".join(p[0] for p in parts)
                seen = " || ' + ' || ".join(p[1] for p in parts)
            else:
                name = col(f"r_{criterion.id}_{i}")
                cond, seen = f"len({name}) > 0", shown(name)
            matched.append(cond)
            met_rules.append(f"CASE WHEN {cond} THEN {sql_literal(rule.label)} END")
            factor = f"(1 - CASE WHEN {cond} THEN {rule.weight} ELSE 0 END)"
            (kept if rule.undampened else terms).append(factor)
            evidence_parts.append(
                f"CASE WHEN {cond} THEN {sql_literal(criterion.id.replace('_', ' ') + ': ' + rule.label)}"
                f" || ' ' || {seen} END")
        factors = []
        for j, damp in enumerate(em.dampeners):
            if criterion.id in damp.applies_to:
                factors.append(f"CASE WHEN {applied(j, [criterion.id])}"
                               f" THEN {damp.factor}::DOUBLE ELSE 1 END")
        signal = "(1 - " + (" * ".join(terms) or "1") + ")"
        dampened = " * ".join([signal, *factors])
        # Round 35: a dampener with reaches_undampened lowers the undampened rules' signal too.
        reaching = [f"CASE WHEN {applied(j, [criterion.id])} THEN {damp.factor}::DOUBLE ELSE 1 END"
                    for j, damp in enumerate(em.dampeners)
                    if damp.reaches_undampened and criterion.id in damp.applies_to]
        if kept and reaching:
            kept = [f"(1 - (1 - {' * '.join(kept)}) * {' * '.join(reaching)})"]
        criteria_conf.append(f"(1 - (1 - {dampened}) * {' * '.join(kept)})" if kept else dampened)
    for j, damp in enumerate(em.dampeners):
        name = col(f"d_{j}")
        evidence_parts.append(f"CASE WHEN {applied(j, damp.applies_to)}"
                              f" THEN {sql_literal('dampened: ' + damp.label)} || ' ' || {shown(name)}"
                              f" || ' (x{damp.factor:g})' END")
    confidence = criteria_conf[0] if len(criteria_conf) == 1 else f"greatest({', '.join(criteria_conf)})"
    db = em.declared_breadth
    if db.weight > 0:
        # The client's word is weak alone (over-declared single-user problems), but declared for many
        # users by the structured field it is independent evidence of breadth and urgency that no
        # text dampener (a printer, a licence) undoes: combined with the rules as noisy-or.
        broad = (f"(coalesce(declared_emergency, false)"
                 f" AND coalesce(affected_users, 0) >= {db.min_affected_users}"
                 + (f" AND ({' OR '.join(matched)})" if db.requires_signal else "") + ")")
        # Round 22: a firm dampener (one room's or device's problem, one going on for months) lowers
        # the declaration too: the field counts who sees the problem, not how critical it is.
        firm = [(j, d.factor) for j, d in enumerate(em.dampeners) if d.label in bf.firm]
        lowered = "".join(f" * CASE WHEN {damp_met(j)} THEN {factor} ELSE 1 END" for j, factor in firm)
        confidence = (f"1 - (1 - {confidence}) * (1 - CASE WHEN {broad} THEN {db.weight}{lowered}"
                      f" ELSE 0 END)")
        evidence_parts.append(f"CASE WHEN {broad} THEN 'declared an emergency by the client for '"
                              f" || affected_users || ' affected users (structured field)' END")
    # Which vocabularies the text met (the learned signal's term_sets group reads them, round 16).
    met = f"[{', '.join(f'len({column}) > 0' for column in sets.values())}]::BOOLEAN[]"
    # Which dampeners the text met, by label (the learned signal's single-user bar reads them).
    labels = ", ".join(f"CASE WHEN {applied(j, damp.applies_to)} THEN {sql_literal(damp.label)} END"
                       for j, damp in enumerate(em.dampeners))
    dampeners = f"list_filter([{labels}]::VARCHAR[], lambda d: d IS NOT NULL)" if labels else "[]::VARCHAR[]"
    later = asks.Pieces.of(policy, damp_met, matches is not None)  # round 37 (logic/emergency_asks.py)
    evidence_parts += later.evidence
    # Which rules the text met, by label (the learned signal's hold spares learned_model.by_nature),
    # and the criteria a later ask met alone (round 39: emergency.later_ask.holds_against reads them).
    rules_met = f"list_filter([{', '.join(met_rules + later.evidence)}]::VARCHAR[], lambda r: r IS NOT NULL)"
    return f"""
WITH t AS (
    SELECT ticket_id, affected_users, declared_emergency, {TICKET_TEXT} AS raw_txt FROM clf_tickets
), text_hits AS (
    {_hit_columns(read_texts(policy, 't'), c.normalise('read_txt'), columns, matches, later.read)}
{later.cte}), m AS (
    -- A reading is a function of the text, affected users and declared emergency: read once per
    -- such triple (9,768 for 109,390 tickets at 100k), then joined back to the tickets.
    SELECT k.raw_txt, k.affected_users, k.declared_emergency,
           h.* EXCLUDE (raw_txt, txt{later.read}){later.columns}
    FROM (SELECT DISTINCT raw_txt, affected_users, declared_emergency FROM t) k
    JOIN text_hits h USING (raw_txt){later.join}
), r AS (
    SELECT raw_txt, affected_users, declared_emergency, ({confidence})::DOUBLE AS confidence,
           concat_ws('; ', {', '.join(evidence_parts)}) AS evidence, {met} AS term_sets,
           {dampeners} AS dampeners, {rules_met} AS rules_met
    FROM m
)
SELECT t.ticket_id, t.raw_txt, r.confidence, r.evidence, r.term_sets, r.dampeners, r.rules_met
FROM t JOIN r ON r.raw_txt = t.raw_txt AND r.affected_users IS NOT DISTINCT FROM t.affected_users
    AND r.declared_emergency IS NOT DISTINCT FROM t.declared_emergency
"""
