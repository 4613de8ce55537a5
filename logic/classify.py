"""Evidence-based ticket classification in DuckDB SQL: scope exclusions and emergency qualification.

Every term, weight and threshold comes from the policy config (`text_matching`,
`scope_classification`, `scope_exclusions`, `emergency`). Python only turns the config into RE2
patterns once and writes one set-based SQL statement; DuckDB does the matching for all tickets.

The caller provides two relations (temp views or tables) before running the SQL:
  clf_tickets(ticket_id, subject, description, category, declared_emergency BOOLEAN,
              priority VARCHAR, affected_users INTEGER)
  clf_time(ticket_id, minutes DOUBLE, work_type VARCHAR, billable BOOLEAN, note VARCHAR,
           outside_hours BOOLEAN)     -- outside_hours: from the client's business calendar
"""

import re
from dataclasses import dataclass

from logic.learned import learned_sql, scope_model
from policy.classifiers import Dampener, MatchRule, ScopeModel
from policy.config import PolicyConfig
from policy.terms import slot_alternatives, term_tokens
from warehouse.sqlquote import sql_literal

CLF_TICKETS_COLUMNS = ("ticket_id", "subject", "description", "category", "declared_emergency",
                       "priority", "affected_users")
CLF_TIME_COLUMNS = ("ticket_id", "minutes", "work_type", "billable", "note", "outside_hours")

# Separators. Text is normalised first: lower case, idioms rewritten, and every clause word prefixed
# with '~' so that negation (which may not cross '~') stops at "and", "but", "so", ...
_WORD = r"[\w']+"
_SEP_TERM = r"[\s\-~/]+"  # between the words of one phrase
_SEP_NEAR = r"[^\w'.!?;\n]+"  # proximity gaps: may cross commas and clause words, not sentences
_SEP_NEG = r"[^\w'.!?;:,~\n]+"  # negation scope: stops at punctuation and clause words
_SENTENCE = "' . '"  # joins subject, description and notes so a gap never spans two of them


# --- terms -> RE2 -------------------------------------------------------------------------------
def _word_regex(word: str, plural: bool) -> str:
    """One word of a term: `*` any ending, `#` a number, a hyphen optional, plural -s/-es/-ies allowed."""
    out = ""
    for i, ch in enumerate(word):
        if ch == "'" and word[i - 1:i + 2] == "n't":
            out += "'?"  # "can't" also reads "cant": clients type contractions without the apostrophe
        elif ch == "*":
            out += r"[\w']*"
        elif ch == "#":
            out += r"\d+"
        elif ch == "-":
            out += r"[\s\-]?"
        else:
            out += re.escape(ch)
    if plural and word[-1].isalpha() and len(word) > 2:
        # policy -> policies, but day -> days
        if word[-1] == "y" and len(word) > 2 and word[-2] not in "aeiou":
            out = out[:-1] + "(?:y|ies)"
        else:
            out += "(?:s|es)?"
    lead = r"\b" if word[0].isalnum() or word[0] == "#" else ""
    trail = r"\b" if word[-1].isalnum() or word[-1] == "#" else ""
    return lead + out + trail


def _slot_regex(token: str, plural: bool) -> str:
    """One word slot: alternatives, each a word or a phrase; longest first for readable evidence."""
    alternatives = sorted(slot_alternatives(token), key=len, reverse=True)
    regexes = []
    for alt in alternatives:
        words = alt.split(" ")
        regexes.append(_SEP_TERM.join(_word_regex(w, plural) for w in words))
    return "(?:" + "|".join(regexes) + ")"


def term_regex(term: str, gap_words: int, plural: bool = True) -> str:
    """An RE2 pattern for one config term (syntax: see config/policy.yaml, text_matching)."""
    tokens = term_tokens(term)
    out = ""
    gap = False
    for token in tokens:
        if token == "...":
            gap = True
            continue
        optional = token.endswith("?")
        body = _slot_regex(token[:-1] if optional else token, plural)
        if out:
            sep = f"{_SEP_NEAR}(?:{_WORD}{_SEP_NEAR}){{0,{gap_words}}}?" if gap else _SEP_TERM
            out += f"(?:{sep}{body})?" if optional else sep + body
        else:
            out = body
        gap = False
    return out


def _any_of(terms: list[str], gap_words: int, plural: bool = True) -> str:
    return "(?:" + "|".join(term_regex(t, gap_words, plural) for t in terms) + ")"


def _near(verbs: list[str], objects: list[str], max_gap: int, order: str, gap_words: int) -> str:
    """A verb family within max_gap words of an object family, in the same sentence."""
    # verb lists spell out their forms; a plural -s would turn verbs into nouns (drafts, orders)
    v, o = _any_of(verbs, gap_words, plural=False), _any_of(objects, gap_words)
    # lazy: the shortest verb-object span, so a negation further along is not swallowed
    mid = f"{_SEP_NEAR}(?:{_WORD}{_SEP_NEAR}){{0,{max_gap}}}?"
    forward = f"{v}{mid}{o}"
    return forward if order == "verb_first" else f"(?:{forward}|{o}{mid}{v})"


@dataclass(frozen=True)
class _Matcher:
    """SQL that lists the non-negated matches of one pattern in a text column."""

    core: str
    pre: str
    post: str
    pseudo: str
    interior: str | None = None  # a cue inside a verb-object span negates it ("fix X without Y-ing Z")

    def hits(self, column: str) -> str:
        """SQL: the matched phrases (VARCHAR[]), negated ones dropped, '~' markers removed."""
        full = f"(?:{self.pre})?(?:{self.core})(?:{self.post})?"
        negated = (f"(regexp_matches(m, {sql_literal('^(?:' + self.pre + ')(?:' + self.core + ')')})"
                   f" AND NOT regexp_matches(m, {sql_literal('^(?:' + self.pseudo + ')')}))"
                   f" OR regexp_matches(m, {sql_literal('(?:' + self.post + ')$')})")
        if self.interior:  # pseudo-negations ("no one", "not working") are blanked first
            negated += (f" OR regexp_matches(regexp_replace(m, {sql_literal(self.pseudo)}, ' ', 'g'),"
                        f" {sql_literal(self.interior)})")
        extract = (f"list_transform(list_filter(regexp_extract_all({column}, {sql_literal(full)}),"
                   f" lambda m: NOT ({negated})),"
                   f" lambda m: trim(replace(regexp_extract(m, {sql_literal(self.core)}), '~', '')))")
        # Most texts match few rules: a plain containment test of the core is far cheaper than
        # extracting with the optional negation context, and extracts nothing when it fails.
        return (f"CASE WHEN regexp_matches({column}, {sql_literal(self.core)}) THEN {extract}"
                f" ELSE CAST([] AS VARCHAR[]) END")


class _Compiler:
    """Turns the policy's terms into matchers that share its negation and gap settings."""

    def __init__(self, policy: PolicyConfig) -> None:
        tm = policy.text_matching
        self.policy = policy
        self.gap = tm.gap_words
        neg = tm.negation
        cues = _any_of(neg.cues, self.gap, plural=False)
        k = neg.max_words
        self.pre = rf"{cues}{_SEP_NEG}(?:{_WORD}{_SEP_NEG}){{0,{k}}}"
        self.post = (rf"{_SEP_NEG}(?:{_WORD}{_SEP_NEG}){{0,{k}}}{_any_of(neg.after_cues, self.gap, False)}"
                     if neg.after_cues else r"\b\B")  # \b\B never matches: no after-cues
        self.pseudo = _any_of(neg.pseudo, self.gap, plural=False) if neg.pseudo else r"\b\B"
        self.cues = cues

    def matcher(self, core: str, interior: bool = False) -> _Matcher:
        inside = rf"\w[^\w'~]+{self.cues}" if interior else None  # a cue after the span's first word
        return _Matcher(core, self.pre, self.post, self.pseudo, inside)

    def rule(self, rule: MatchRule) -> _Matcher:
        if rule.phrases is not None:
            return self.matcher(_any_of(rule.phrases, self.gap))
        if rule.verbs is not None and rule.objects is not None:
            near = _near(rule.verbs, rule.objects, rule.max_gap, rule.order, self.gap)
            return self.matcher(near, interior=True)
        raise ValueError(f"rule '{rule.label}' has no text pattern")

    def dampener(self, dampener: Dampener) -> _Matcher:
        return self.matcher(_any_of(dampener.phrases, self.gap))

    def terms(self, terms: list[str]) -> _Matcher:
        return self.matcher(_any_of(terms, self.gap))

    def normalise(self, expr: str) -> str:
        """SQL: lower-cased text with curly quotes straightened, idioms rewritten, clause words marked."""
        out = f"lower(replace(replace(coalesce({expr}, ''), '\u2019', ''''), '\u2018', ''''))"
        for idiom, replacement in self.policy.text_matching.rewrites.items():
            pattern = term_regex(idiom, self.gap, plural=False)
            out = f"regexp_replace({out}, {sql_literal(pattern)}, {sql_literal(replacement)}, 'g')"
        words = self.policy.text_matching.clause_words
        if words:
            pattern = r"\b(" + "|".join(re.escape(w) for w in words) + r")\b"
            out = f"regexp_replace({out}, {sql_literal(pattern)}, '~\\1', 'g')"
        return out


def _values(rows: list[tuple[object, ...]], alias: str, columns: str) -> str:
    """A VALUES relation of literal rows, named `alias`."""
    def lit(v: object) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int):
            return str(v)
        if isinstance(v, float):
            return repr(v)
        return sql_literal(str(v))

    body = ", ".join("(" + ", ".join(lit(v) for v in row) + ")" for row in rows)
    return f"(VALUES {body}) AS {alias}({columns})"


# A ticket's own text: subject and description as one document.
TICKET_TEXT = f"coalesce(subject, '') || {_SENTENCE} || coalesce(description, '')"


def _per_distinct(relation: str, column: str, normalised: str, matches: str) -> str:
    """SQL matching each distinct text of `relation.column` once, to be joined back on `column`.

    Texts repeat (monitoring alerts, templated requests, stock time-entry notes): matching every
    distinct text once costs what the texts are worth, not what the tickets are.
    Columns: `column`, txt (the normalised text) and those of `matches` (SQL over txt).
    """
    return f"""SELECT {column}, txt, {matches}
    FROM (SELECT {column}, {normalised} AS txt FROM (SELECT DISTINCT {column} FROM {relation}))"""


def _in_list(values: list[str]) -> str:
    return "(" + ", ".join(sql_literal(v) for v in values) + ")"


def _unnest(items: list[tuple[int, str]], column: str) -> str:
    """SQL unnesting one {rule_id, hits} struct per matcher over `column`."""
    structs = ", ".join(f"{{'rule_id': {i}, 'hits': {expr.replace('__COL__', column)}}}"
                        for i, expr in items)
    # Only rules that matched become rows: a row per rule and text would be mostly empty lists.
    return f"unnest(list_filter([{structs}], lambda s: len(s.hits) > 0), recursive := true)"


# --- scope exclusions ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _ScopeRules:
    """The scope rules as matchers: text rules, category hints and the metadata of each rule id."""

    text: list[tuple[int, str]]  # (rule id, hits SQL over __COL__)
    category: list[tuple[int, str]]
    meta: list[tuple[object, ...]]  # rule_id, scope_id, kind, label, weight, only_alone
    compiler: "_Compiler"


def _scope_rules(policy: PolicyConfig) -> _ScopeRules:
    c = _Compiler(policy)
    sc = policy.scope_classification
    text_rules: list[tuple[int, str]] = []  # (rule id, hits SQL over __COL__)
    category_rules: list[tuple[int, str]] = []
    meta: list[tuple[object, ...]] = []  # rule_id, scope_id, kind, label, weight, only_alone
    next_id = 0
    for item in policy.scope_exclusions:
        for rule in item.rules:
            text_rules.append((next_id, c.rule(rule).hits("__COL__")))
            meta.append((next_id, item.id, "signal", rule.label, rule.weight, rule.only_alone))
            next_id += 1
        for rule in item.category_hints:
            category_rules.append((next_id, c.rule(rule).hits("__COL__")))
            meta.append((next_id, item.id, "category", rule.label, rule.weight, rule.only_alone))
            next_id += 1
        for damp in item.dampeners:
            text_rules.append((next_id, c.dampener(damp).hits("__COL__")))
            meta.append((next_id, item.id, "dampener", damp.label, damp.factor, False))
            next_id += 1
    for damp in sc.dampeners:
        text_rules.append((next_id, c.dampener(damp).hits("__COL__")))
        meta.extend((next_id, scope_id, "dampener", damp.label, damp.factor, False)
                    for scope_id in damp.applies_to)
        next_id += 1
    return _ScopeRules(text_rules, category_rules, meta, c)


# The time-entry notes of a ticket as one document (over clf_time).
NOTES_SQL = f"""SELECT ticket_id, string_agg(note, {_SENTENCE}) AS raw_txt
    FROM clf_time WHERE trim(coalesce(note, '')) <> '' GROUP BY ticket_id"""


def scope_text_hits_sql(policy: PolicyConfig, docs: str, rules: _ScopeRules | None = None) -> str:
    """SQL: the scope text rules' matches on each distinct raw_txt of `docs` (ticket texts, notes).

    Columns: raw_txt, txt, rule_id, hits; a row per text and rule that matched. A function of the
    text alone, so one statement can match the texts of many months (MatchedTexts).
    """
    rules = rules or _scope_rules(policy)
    return _per_distinct(docs, "raw_txt", rules.compiler.normalise("raw_txt"), _unnest(rules.text, "txt"))


def scope_category_hits_sql(policy: PolicyConfig, tickets: str, rules: _ScopeRules | None = None) -> str:
    """SQL: the category hints' matches on each distinct raw_cat of `tickets` (as scope_text_hits_sql)."""
    rules = rules or _scope_rules(policy)
    return _per_distinct(tickets, "raw_cat", rules.compiler.normalise("raw_cat"),
                         _unnest(rules.category, "txt"))


@dataclass(frozen=True)
class MatchedTexts:
    """Relations holding the scope rules' matches, computed before the statement (for a run's months).

    Matching is most of scope_hits_sql's cost, and most of that is DuckDB preparing the rules'
    ~1 MB of SQL: matched once for a range of months, each month's statement is small.
    """

    notes: str  # (ticket_id, raw_txt): the month's time-entry notes, as NOTES_SQL gives them
    text_hits: str  # (raw_txt, rule_id, hits) of scope_text_hits_sql over the month's texts and notes
    category_hits: str  # scope_category_hits_sql's result over categories including the month's


def scope_hits_sql(policy: PolicyConfig, emergency: str | None = None, semantic: bool = True,
                   floor: float | None = None, model: ScopeModel | None = None,
                   features_only: bool = False, matched: MatchedTexts | None = None) -> str:
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
    result, without the rules' SQL in the statement.
    """
    sc = policy.scope_classification
    ts = sc.time_signals
    rules = _scope_rules(policy)
    meta = rules.meta
    project_ids = [s.id for s in policy.scope_exclusions if s.project_work]
    emergency_values = sorted({"emergency", *policy.priority_map["emergency"]})
    project_minutes = ts.project_hours * 60
    rules_rel = _values(meta, "r", "rule_id, scope_id, kind, label, weight, only_alone")

    signals = f"""
    SELECT h.ticket_id, r.scope_id, r.kind,
           r.weight * CASE WHEN h.src = 'time-entry notes' THEN {sc.note_weight} ELSE 1 END AS w,
           r.only_alone, true AS dampenable,
           r.label || ': "' || array_to_string(list_distinct(h.hits), '", "') || '"'
               || CASE WHEN h.src = 'text' THEN '' ELSE ' (' || h.src || ')' END AS evidence
    FROM matched h JOIN {rules_rel} ON r.rule_id = h.rule_id
    WHERE len(h.hits) > 0 AND r.kind IN ('signal', 'category')
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
    model = model if model is not None or not semantic or features_only else scope_model(policy)
    learned = semantic and (model is not None or features_only)
    if semantic and not learned:
        # The neighbours' vote is evidence of its own; the rule dampeners already shaped the
        # exemplars' labels, so it is not dampened again.
        signals += f"""
    UNION ALL
    SELECT t.ticket_id, v.scope_id, 'semantic', {sv.scope_weight} * v.vote, false, false,
           'semantic vote ' || round(v.vote, 2) || ': like ' || v.evidence
    FROM tickets t JOIN clf_semantic_scope v ON v.raw_txt = t.raw_txt
    WHERE {sv.scope_weight} * v.vote > 0.05
    """
    # Hours on a project-sized ticket corroborate the project-type exclusion the text points to most.
    support = f"""
    SELECT b.ticket_id, b.scope_id, 'time' AS kind, {ts.project_support_weight} AS w,
           false AS only_alone, true AS dampenable,
           'project-sized: ' || round(st.total_min / 60, 1) || ' h logged' AS evidence
    FROM (
        SELECT ticket_id, scope_id,
               row_number() OVER (PARTITION BY ticket_id
                                  ORDER BY sum(ln(1 - least(w, 0.999))), scope_id) AS rank
        FROM base_signals
        WHERE NOT only_alone AND kind <> 'time' AND scope_id IN {_in_list(project_ids)}
        GROUP BY ticket_id, scope_id
    ) b JOIN state st USING (ticket_id)
    WHERE b.rank = 1 AND st.project_sized
    """
    # On its own, a project-sized ticket suggests structured project work (lower confidence).
    fallback = f"""
    SELECT ticket_id, 'structured_project' AS scope_id, 'time' AS kind, {ts.project_weight} AS w,
           true AS only_alone, false AS dampenable,
           'project-sized: ' || round(total_min / 60, 1) || ' h logged (>= {ts.project_hours:g} h),'
               || ' no other exclusion found' AS evidence
    FROM state WHERE project_sized
    """

    def scored(signal_rel: str) -> str:
        return f"""
        SELECT s.ticket_id, s.scope_id,
               1 - (1 - coalesce(any_value(d.factor), 1)
                        * (1 - exp(coalesce(sum(ln(1 - least(s.w, 0.999))) FILTER (WHERE s.dampenable), 0))))
                   * exp(coalesce(sum(ln(1 - least(s.w, 0.999))) FILTER (WHERE NOT s.dampenable), 0))
                   AS confidence,
               string_agg(s.evidence, '; ' ORDER BY s.w DESC, s.evidence)
                   || coalesce('; dampened by ' || any_value(d.evidence), '') AS evidence,
               bool_or(s.kind IN ('signal', 'category')) AS from_text,
               1 - exp(coalesce(sum(ln(1 - least(s.w, 0.999))) FILTER (WHERE s.kind = 'time'), 0))
                   AS time_confidence
        FROM {signal_rel} s LEFT JOIN damp d USING (ticket_id, scope_id)
        GROUP BY s.ticket_id, s.scope_id"""

    min_conf = sc.min_confidence
    confident_at = sc.call_states.scope_confident_at
    call_at = min_conf if floor is None else floor
    if learned:
        voted = learned_sql(model, features_only)  # type: ignore[arg-type]
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
        vetoed = (f"(f.from_text AND e.raw_txt IS NOT NULL AND coalesce(v.vote, 0) < {sv.veto_below}"
                  f" AND f.time_confidence < {confident_at})")
        voted = f"""
        SELECT f.ticket_id, f.scope_id,
               f.confidence * CASE WHEN {vetoed} THEN {factor} ELSE 1 END AS confidence,
               f.evidence || CASE WHEN {vetoed} THEN '; semantic vote disagrees ({shown})' ELSE '' END
                   AS evidence,
               {str(sv.veto_to_review).lower()} AND {vetoed} AS held
        FROM final f JOIN tickets t USING (ticket_id)
        LEFT JOIN clf_semantic_emergency e ON e.raw_txt = t.raw_txt
        LEFT JOIN clf_semantic_scope v ON v.raw_txt = t.raw_txt AND v.scope_id = f.scope_id"""
    else:
        voted = "SELECT ticket_id, scope_id, confidence, evidence, false AS held FROM final"
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
    return f"""
WITH tickets AS (
    SELECT ticket_id, {TICKET_TEXT} AS raw_txt, coalesce(category, '') AS raw_cat,
           lower(trim(coalesce(priority, ''))) AS priority_key
    FROM clf_tickets
), notes AS (
    {notes}
), docs AS (
    SELECT ticket_id, 'text' AS src, raw_txt FROM tickets
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
    SELECT ticket_id,
           sum(minutes) AS total_min,
           coalesce(sum(minutes) FILTER (WHERE lower(trim(work_type)) IN {_in_list(ts.onsite_work_types)}), 0)
               AS onsite_min,
           coalesce(sum(minutes) FILTER (WHERE lower(trim(work_type)) IN {_in_list(ts.travel_work_types)}), 0)
               AS travel_min,
           -- unknown billability counts as billable: the entry was logged against the ticket
           coalesce(sum(minutes) FILTER (WHERE coalesce(billable, true)), 0) AS billable_min,
           coalesce(sum(minutes) FILTER (WHERE coalesce(billable, true) AND outside_hours), 0) AS after_min
    FROM clf_time GROUP BY ticket_id
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
               OR t.priority_key IN {_in_list(emergency_values)} AS emergency_work
    FROM tickets t
    LEFT JOIN time_agg a USING (ticket_id)
    LEFT JOIN {emergency or f"({emergency_sql(policy, semantic)})"} e USING (ticket_id)
), damp AS (
    SELECT ticket_id, scope_id, exp(sum(ln(factor))) AS factor, string_agg(evidence, '; ') AS evidence
    FROM (
        SELECT h.ticket_id, r.scope_id, r.weight AS factor,
               r.label || ' "' || array_to_string(list_distinct(h.hits), '", "') || '"' AS evidence
        FROM matched h JOIN {rules_rel} ON r.rule_id = h.rule_id
        WHERE r.kind = 'dampener' AND h.src = 'text' AND len(h.hits) > 0
        UNION ALL
        -- a visit asked for in the text, but all the work logged was remote: nobody went
        SELECT ticket_id, 'onsite', {ts.remote_only_onsite_factor},
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
), final AS ({scored('''(SELECT * FROM all_signals s WHERE NOT s.only_alone OR NOT EXISTS (
        SELECT 1 FROM found f WHERE f.ticket_id = s.ticket_id AND f.scope_id <> s.scope_id))''')}
), voted AS ({voted}
)
""" + ("SELECT * FROM voted ORDER BY ticket_id, scope_id" if features_only else f"""
SELECT ticket_id, scope_id, round(confidence::DOUBLE, 3) AS confidence, evidence,
       CASE WHEN confidence >= {confident_at} AND NOT held THEN 'confident' ELSE 'needs review' END
           AS call_state
FROM voted WHERE confidence >= {call_at}
ORDER BY ticket_id, scope_id
""")


# --- emergency ----------------------------------------------------------------------------------
def emergency_sql(policy: PolicyConfig, semantic: bool = True, rules: str | None = None) -> str:
    """SQL over clf_tickets: one row per ticket with the policy's own emergency assessment.

    Columns: ticket_id, qualifies_emergency BOOLEAN, emergency_confidence DOUBLE (0..1),
    emergency_evidence VARCHAR, emergency_call_state VARCHAR (`confident`, `needs review` or
    `none`). Declared emergency and priority are not evidence. With `semantic`, the vote in
    clf_semantic_emergency (logic/semantic.py) is a second vote beside the rules. `rules` names a
    relation holding `emergency_rules_sql`'s result when the caller has it already (the rules then
    run once even when the vote needs them first to pick the texts to embed).
    """
    em = policy.emergency
    sv = policy.scope_classification.semantic
    confident_at = policy.scope_classification.call_states.emergency_confident_at
    source = rules or f"({emergency_rules_sql(policy)})"
    if semantic:
        # Rules first (vetoed when the text was embedded and its neighbours are not emergencies),
        # then the neighbours' vote as independent evidence.
        voted = f"""
    SELECT s.ticket_id, s.raw_txt, coalesce(v.vote, 0) AS emergency_vote,
           v.raw_txt IS NOT NULL AND v.vote < {sv.emergency_review_below}
             AND NOT coalesce(d.declared_emergency, false) AS held,
           1 - (1 - s.confidence * CASE WHEN v.raw_txt IS NOT NULL AND v.vote < {sv.veto_below}
                                        THEN {sv.emergency_veto} ELSE 1 END)
             * (1 - {sv.emergency_weight} * coalesce(v.vote, 0)) AS confidence,
           concat_ws('; ', nullif(s.evidence, ''),
                     CASE WHEN {sv.emergency_weight} * coalesce(v.vote, 0) > 0.05
                          THEN 'semantic vote ' || round(v.vote, 2) || ': like ' || v.evidence END,
                     CASE WHEN {sv.emergency_veto} < 1 AND s.confidence > 0 AND v.raw_txt IS NOT NULL
                               AND v.vote < {sv.veto_below}
                          THEN 'semantic vote disagrees (x{sv.emergency_veto:g})' END) AS evidence
    FROM {source} s LEFT JOIN clf_semantic_emergency v ON v.raw_txt = s.raw_txt
    LEFT JOIN clf_tickets d ON d.ticket_id = s.ticket_id"""
        pw = em.planned_work
        if pw.factor < 1 and pw.scope_ids:
            planned = f"(p.vote >= {pw.min_vote} AND p.vote > e.emergency_vote)"
            # Planned project work is never an emergency (0 of 529 such tickets in the labelled
            # files): where the text's neighbours read a planned exclusion, and more than they read
            # an emergency (a lapsed domain sits near domain migrations), the reading is dampened.
            # The scope vote, not the scope rules: those read this statement's result (emergency
            # work outside hours is not planned after-hours work), so they cannot feed it.
            voted = f"""
    SELECT e.ticket_id, e.held,
           e.confidence * CASE WHEN {planned} THEN {pw.factor} ELSE 1 END AS confidence,
           concat_ws('; ', nullif(e.evidence, ''),
                     CASE WHEN {planned} AND e.confidence > 0
                          THEN 'dampened: reads as planned work (semantic vote ' || round(p.vote, 2)
                               || ' for ' || replace(p.scope_id, '_', ' ') || ': like ' || p.evidence
                               || ') (x{pw.factor:g})' END) AS evidence
    FROM ({voted}) e
    LEFT JOIN (SELECT raw_txt, max(vote) AS vote, arg_max(scope_id, (vote, scope_id)) AS scope_id,
                      arg_max(evidence, (vote, scope_id)) AS evidence
               FROM clf_semantic_scope WHERE scope_id IN {_in_list(pw.scope_ids)} GROUP BY raw_txt) p
        ON p.raw_txt = e.raw_txt"""
    else:
        voted = f"SELECT ticket_id, false AS held, confidence, evidence FROM {source} s"
    return f"""
WITH voted AS ({voted}
)
SELECT ticket_id,
       confidence >= {em.min_confidence} AS qualifies_emergency,
       round(confidence::DOUBLE, 3) AS emergency_confidence,
       CASE WHEN evidence = '' THEN 'no emergency signal in the text'
            WHEN held AND confidence >= {em.min_confidence}
            THEN evidence || '; not declared and the semantic vote disagrees (needs review)'
            ELSE evidence END AS emergency_evidence,
       CASE WHEN confidence >= {confident_at} AND NOT held THEN 'confident'
            WHEN confidence >= {em.min_confidence} THEN 'needs review' ELSE 'none' END
           AS emergency_call_state
FROM voted
"""


def emergency_rules_sql(policy: PolicyConfig) -> str:
    """SQL over clf_tickets: the rules' emergency reading before the semantic vote and threshold.

    Columns: ticket_id, raw_txt (the text the vote joins on), confidence DOUBLE, evidence VARCHAR.
    """
    c = _Compiler(policy)
    em = policy.emergency
    columns: list[str] = []  # list columns of the matches CTE

    def col(name: str, matcher: _Matcher) -> str:
        columns.append(f"{matcher.hits('txt')} AS {name}")
        return name

    sets = {name: col(f"set_{name}", c.terms(terms)) for name, terms in em.term_sets.items()}

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

    criteria_conf: list[str] = []
    evidence_parts: list[str] = []
    matched: list[str] = []  # every rule's condition, before dampeners
    for criterion in em.criteria:
        terms, kept = [], []  # kept: undampened rules
        for i, rule in enumerate(criterion.rules):
            if rule.all_of:
                parts = [set_met(n) for n in rule.all_of]
                cond = " AND ".join(p[0] for p in parts)
                seen = " || ' + ' || ".join(p[1] for p in parts)
            else:
                name = col(f"r_{criterion.id}_{i}", c.rule(rule))
                cond, seen = f"len({name}) > 0", shown(name)
            matched.append(cond)
            factor = f"(1 - CASE WHEN {cond} THEN {rule.weight} ELSE 0 END)"
            (kept if rule.undampened else terms).append(factor)
            evidence_parts.append(
                f"CASE WHEN {cond} THEN {sql_literal(criterion.id.replace('_', ' ') + ': ' + rule.label)}"
                f" || ' ' || {seen} END")
        factors = []
        for j, damp in enumerate(em.dampeners):
            if criterion.id in damp.applies_to:
                name = f"d_{j}"
                factors.append(f"CASE WHEN len({name}) > 0 THEN {damp.factor} ELSE 1 END")
        signal = "(1 - " + (" * ".join(terms) or "1") + ")"
        dampened = " * ".join([signal, *factors])
        criteria_conf.append(f"(1 - (1 - {dampened}) * {' * '.join(kept)})" if kept else dampened)
    for j, damp in enumerate(em.dampeners):
        name = col(f"d_{j}", c.dampener(damp))
        evidence_parts.append(f"CASE WHEN len({name}) > 0 THEN {sql_literal('dampened: ' + damp.label)}"
                              f" || ' ' || {shown(name)} || ' (x{damp.factor:g})' END")
    confidence = criteria_conf[0] if len(criteria_conf) == 1 else f"greatest({', '.join(criteria_conf)})"
    db = em.declared_breadth
    if db.weight > 0:
        # The client's word is weak alone (over-declared single-user problems), but declared for many
        # users by the structured field it is independent evidence of breadth and urgency that no
        # text dampener (a printer, a licence) undoes: combined with the rules as noisy-or.
        broad = (f"(coalesce(declared_emergency, false)"
                 f" AND coalesce(affected_users, 0) >= {db.min_affected_users}"
                 + (f" AND ({' OR '.join(matched)})" if db.requires_signal else "") + ")")
        confidence = f"1 - (1 - {confidence}) * (1 - CASE WHEN {broad} THEN {db.weight} ELSE 0 END)"
        evidence_parts.append(f"CASE WHEN {broad} THEN 'declared an emergency by the client for '"
                              f" || affected_users || ' affected users (structured field)' END")
    return f"""
WITH t AS (
    SELECT ticket_id, affected_users, declared_emergency, {TICKET_TEXT} AS raw_txt FROM clf_tickets
), text_hits AS (
    {_per_distinct('t', 'raw_txt', c.normalise('raw_txt'), ', '.join(columns))}
), m AS (
    SELECT t.ticket_id, t.raw_txt, t.affected_users, t.declared_emergency, h.* EXCLUDE (raw_txt, txt)
    FROM t JOIN text_hits h USING (raw_txt)
)
SELECT ticket_id, raw_txt, ({confidence})::DOUBLE AS confidence,
       concat_ws('; ', {', '.join(evidence_parts)}) AS evidence
FROM m
"""
