"""Ticket text as the classifiers read it: the policy's terms compiled into RE2 patterns and SQL.

Text is normalised once (lower case, idioms rewritten, clause words marked so negation stops at
them); each term, proximity rule and negation becomes an RE2 pattern, and each rule a matcher
whose hits are SQL over a text column. Used by the scope (logic/classify.py) and emergency
(logic/emergency.py) statements; every term comes from the policy config (`text_matching`).
"""

import functools
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from policy.classifiers import Dampener, MatchRule
from policy.config import PolicyConfig
from policy.terms import slot_alternatives, term_tokens
from warehouse.sqlquote import sql_literal

# Separators. Text is normalised first: lower case, idioms rewritten, and every clause word prefixed
# with '~' so that negation (which may not cross '~') stops at "and", "but", "so", ...
_WORD = r"[\w']+"
_SEP_TERM = r"[\s\-~/]+"  # between the words of one phrase
_SEP_NEAR = r"[^\w'.!?;\n]+"  # proximity gaps: may cross commas and clause words, not sentences
_SEP_NEG = r"[^\w'.!?;:,~\n]+"  # negation scope: stops at punctuation and clause words
SENTENCE = "' . '"  # joins subject, description and notes so a gap never spans two of them
# A quoted name made only of punctuation ('.', "..", "-"): Compiler.normalise reads it as one word.
_PUNCTUATION_NAME = "['\"“”][.,;:!?_\\-]{1,3}['\"“”]"


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
class Matcher:
    """SQL that lists the non-negated matches of one pattern in a text column."""

    core: str
    pre: str
    post: str
    pseudo: str
    interior: str | None = None  # a cue inside a verb-object span negates it ("fix X without Y-ing Z")

    @property
    def full(self) -> str:
        """The core with its optional negation context either side (what is extracted)."""
        return f"(?:{self.pre})?(?:{self.core})(?:{self.post})?"

    def hits(self, column: str) -> str:
        """SQL: the matched phrases (VARCHAR[]), negated ones dropped, '~' markers removed.

        One expression per matcher, its tests in lambdas; the rules' statements use matched_hits,
        the same lists set-based (cheaper per text)."""
        full = self.full
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


def _each_rule(items: list[tuple[int, Matcher]], sql: Callable[[Matcher], str], default: str) -> str:
    """SQL: `sql(matcher)` of the row's rule (rule_id), one CASE branch per distinct SQL."""
    ids: dict[str, list[int]] = {}
    for i, m in items:
        ids.setdefault(sql(m), []).append(i)
    if len(ids) == 1 and default == "false":
        return next(iter(ids))  # the same for every rule: no CASE
    branches = " ".join(f"WHEN rule_id IN ({', '.join(map(str, rule_ids))}) THEN {expr}"
                        for expr, rule_ids in ids.items())
    return f"CASE {branches} ELSE {default} END"


# A gate: one RE2 pass over a text for a group of consecutive matchers' cores, their own passes
# only where it matched. Each pass costs about the same whatever the pattern (the DFA's per-byte
# walk; 35 ms of CPU over a 1M --unique-texts month's 10 MB of text), and a core matches a few
# percent of texts, so a group of 8 costs about one pass instead of 8. Bounded in matchers and
# pattern size: past them RE2's DFA runs out of its state cache and one pass costs 30-60 times
# more (measured: the emergency rules' first 6 matchers, 17.6 kB, 2.2 s of CPU for the month
# against 0.05 for a group within the bounds).
GATE_MATCHERS = 8
GATE_PATTERN_CHARS = 8_000


def _gate_groups(items: list[tuple[int, Matcher]]) -> list[list[tuple[int, Matcher]]]:
    """`items` in order, cut into runs within GATE_MATCHERS matchers and GATE_PATTERN_CHARS."""
    groups: list[list[tuple[int, Matcher]]] = []
    size = 0
    for item in items:
        if not groups or len(groups[-1]) >= GATE_MATCHERS or size + len(item[1].core) > GATE_PATTERN_CHARS:
            groups.append([])
            size = 0
        groups[-1].append(item)
        size += len(item[1].core)
    return groups


def contains(expr: str, pattern: str) -> str:
    """SQL: whether the RE2 `pattern` matches somewhere in `expr`, as regexp_matches answers.

    DuckDB prepares a constant regexp_matches pattern when it binds the statement (compiled, its
    possible match range walked, compiled again by its optimiser) and again in each thread that
    runs it: about 25 ms of CPU for a 13 kB pattern, where regexp_extract_all compiles only in the
    threads that run it (about 5 ms). The rules' statements hold over 400 such tests: most of their
    cost on a small input (docs/benchmark.md, round 28). Anchored at the text's start and led by
    the shortest run of any characters, the pattern has at most one match, found by one forward
    pass as regexp_matches finds it (an unanchored regexp_extract_all would look for every match
    and for where each starts, at more cost per text); it exists if and only if the pattern
    matches somewhere. A NULL text gives NULL either way.
    """
    return f"(len(regexp_extract_all({expr}, {sql_literal('^(?s:.*?)(?:' + pattern + ')')})) > 0)"


def first_match(expr: str, pattern: str) -> str:
    """SQL: the leftmost match of the RE2 `pattern` in `expr`, '' when there is none (NULL for a
    NULL text), as regexp_extract gives it; compiled only where it runs, as `contains`. The group
    after the shortest run of any characters from the text's start is that match: the earliest
    start the pattern can match at, and there the match its own alternatives prefer."""
    found = f"regexp_extract_all({expr}, {sql_literal('^(?s:.*?)(' + pattern + ')')}, 1)[1]"
    return f"coalesce({found}, left({expr}, 0))"


def _gated_candidates(items: list[tuple[int, Matcher]]) -> str:
    """SQL over txt: a list of {rule_id, ms} per matcher of `items` in order, ms its candidate
    matches (the full pattern's, negation context included; [] where its core does not match)."""
    def one(i: int, m: Matcher) -> str:
        return (f"{{'rule_id': {i}, 'ms': CASE WHEN {contains('txt', m.core)}"
                f" THEN regexp_extract_all(txt, {sql_literal(m.full)}) ELSE CAST([] AS VARCHAR[]) END}}")

    parts = []
    for group in _gate_groups(items):
        listed = "[" + ", ".join(one(i, m) for i, m in group) + "]"
        if len(group) == 1:
            parts.append(listed)
            continue
        gate = "|".join(f"(?:{m.core})" for _, m in group)
        parts.append(f"CASE WHEN {contains('txt', gate)} THEN {listed}"
                     " ELSE CAST([] AS STRUCT(rule_id INTEGER, ms VARCHAR[])[]) END")
    return parts[0] if len(parts) == 1 else "flatten([" + ", ".join(parts) + "])"


def matched_hits(texts: str, key: str, items: list[tuple[int, Matcher]]) -> str:
    """SQL: (`key`, rule_id, hits) for each row of `texts` (columns `key`, txt) and matcher whose
    hits are not empty: each list what `Matcher.hits('txt')` gives, in its order.

    Set-based rather than one list expression per matcher: DuckDB compiles a regular expression
    inside a lambda again for every vector it runs on (a 12 kB pattern about 4 ms), and a matcher's
    negation tests and phrase extraction ran in lambdas. Here every pattern is an expression of
    its own over one row per candidate match, compiled once per thread; the negation patterns
    every matcher shares appear once instead of once per matcher.
    """
    gates = _gated_candidates(items)
    def test(pattern: str) -> str:
        return contains("m", pattern)

    led = _each_rule(items, lambda m: test("^(?:" + m.pre + ")(?:" + m.core + ")"), "false")
    pseudo = _each_rule(items, lambda m: test("^(?:" + m.pseudo + ")"), "false")
    post = _each_rule(items, lambda m: test("(?:" + m.post + ")$"), "false")
    negated = f"({led} AND NOT {pseudo}) OR {post}"
    inside = [(i, m) for i, m in items if m.interior]
    if inside:  # pseudo-negations ("no one", "not working") are blanked first
        interior = _each_rule(inside, lambda m: contains(
            f"regexp_replace(m, {sql_literal(m.pseudo)}, ' ', 'g')", m.interior or ""), "false")
        negated += f" OR (rule_id IN ({', '.join(str(i) for i, _ in inside)}) AND {interior})"
    phrase = _each_rule(items, lambda m: first_match("m", m.core), "NULL")
    # The phrases in their order in the text: (ord, phrase) pairs listed, sorted, then the phrases,
    # rather than an ordered aggregate (list ... ORDER BY ord), which buffers and sorts per group
    # at more cost (docs/benchmark.md, round 23). ord is unique within a group, so the order is
    # the same.
    return f"""SELECT {key}, rule_id,
           list_transform(list_sort(list({{'ord': ord, 'phrase': trim(replace({phrase}, '~', ''))}})),
                          lambda p: p.phrase) AS hits
    FROM (SELECT {key}, rule_id, unnest(ms) AS m, unnest(range(1, len(ms) + 1)) AS ord
          FROM (SELECT {key}, unnest(list_filter({gates}, lambda s: len(s.ms) > 0), recursive := true)
                FROM {texts}))
    WHERE NOT ({negated})
    GROUP BY {key}, rule_id"""


class Compiler:
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

    def matcher(self, core: str, interior: bool = False) -> Matcher:
        inside = rf"\w[^\w'~]+{self.cues}" if interior else None  # a cue after the span's first word
        return Matcher(core, self.pre, self.post, self.pseudo, inside)

    def rule(self, rule: MatchRule) -> Matcher:
        if rule.phrases is not None:
            return self.matcher(_any_of(rule.phrases, self.gap))
        if rule.verbs is not None and rule.objects is not None:
            near = _near(rule.verbs, rule.objects, rule.max_gap, rule.order, self.gap)
            return self.matcher(near, interior=True)
        raise ValueError(f"rule '{rule.label}' has no text pattern")

    def dampener(self, dampener: Dampener) -> Matcher:
        return self.matcher(_any_of(dampener.phrases, self.gap))

    def terms(self, terms: list[str]) -> Matcher:
        return self.matcher(_any_of(terms, self.gap))

    def normalise(self, expr: str) -> str:
        """SQL: lower-cased text with curly quotes straightened, idioms rewritten, clause words marked."""
        out = f"lower(replace(replace(coalesce({expr}, ''), '\u2019', ''''), '\u2018', ''''))"
        # A name made of punctuation in quotes (a mailbox rule called "." or '..') is a name, not a
        # sentence's end: read as one word, so "a rule called '.' that deletes" stays one clause.
        out = f"""regexp_replace({out}, {sql_literal(_PUNCTUATION_NAME)}, ' dotname ', 'g')"""
        rewrites = self.policy.text_matching.rewrites
        if rewrites:
            patterns = [term_regex(idiom, self.gap, plural=False) for idiom in rewrites]
            chain = out
            for pattern, replacement in zip(patterns, rewrites.values(), strict=True):
                chain = f"regexp_replace({chain}, {sql_literal(pattern)}, {sql_literal(replacement)}, 'g')"
            # One pass over the text for any idiom instead of one per idiom: most texts hold none
            # (93% of a 1M --unique-texts month), and a text none of the idioms matches is left
            # as it is by every rewrite in turn (the same text, so the next one matches nothing).
            any_idiom = "|".join(f"(?:{p})" for p in patterns)
            out = f"CASE WHEN {contains(out, any_idiom)} THEN {chain} ELSE {out} END"
        words = self.policy.text_matching.clause_words
        if words:
            pattern = r"\b(" + "|".join(re.escape(w) for w in words) + r")\b"
            out = f"regexp_replace({out}, {sql_literal(pattern)}, '~\\1', 'g')"
        return out


def values_relation(rows: list[tuple[object, ...]], alias: str, columns: str) -> str:
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
TICKET_TEXT = f"coalesce(subject, '') || {SENTENCE} || coalesce(description, '')"


def per_distinct(relation: str, column: str, normalised: str, matches: str) -> str:
    """SQL matching each distinct text of `relation.column` once, to be joined back on `column`.

    Texts repeat (monitoring alerts, templated requests, stock time-entry notes): matching every
    distinct text once costs what the texts are worth, not what the tickets are.
    Columns: `column`, txt (the normalised text) and those of `matches` (SQL over txt).
    """
    return f"""SELECT {column}, txt, {matches}
    FROM (SELECT {column}, {normalised} AS txt FROM (SELECT DISTINCT {column} FROM {relation}))"""


def in_list(values: list[str]) -> str:
    return "(" + ", ".join(sql_literal(v) for v in values) + ")"


def per_distinct_hits(relation: str, column: str, normalised: str, items: list[tuple[int, Matcher]]) -> str:
    """SQL: as per_distinct with the matchers' non-empty hits as `matches` (matched_hits): columns
    `column`, txt, rule_id, hits; a row per distinct text and matcher that matched."""
    return f"""WITH mt_texts AS (
        SELECT {column}, {normalised} AS txt FROM (SELECT DISTINCT {column} FROM {relation})
    ), mt_hits AS ({matched_hits('mt_texts', column, items)})
    SELECT t.{column}, t.txt, h.rule_id, h.hits FROM mt_texts t JOIN mt_hits h USING ({column})"""


T = TypeVar("T")
_MEMO_POLICIES = 8  # (policy, args) whose rules a process keeps (tests build variants; a run uses one)


def per_policy(build: Callable[..., T]) -> Callable[..., T]:
    """Memoise `build(policy, *args)` per policy object (and hashable args): the rules' patterns and
    SQL are a function of the policy alone, and a process holds one policy object per policy file
    (policy.config caches it by the file's digest), so the steps of a run build each once, not once
    per step or month.

    Keyed by identity (a policy's lists make it unhashable); the policy is held with its result,
    so its id is not reused while cached. A PolicyConfig is frozen: a changed policy is another
    object, and gets its own rules.
    """
    cache: OrderedDict[tuple[int, tuple[Any, ...]], tuple[PolicyConfig, T]] = OrderedDict()
    lock = threading.Lock()

    @functools.wraps(build)
    def memoised(policy: PolicyConfig, *args: Any) -> T:
        key = (id(policy), args)
        with lock:
            hit = cache.get(key)
            if hit is not None and hit[0] is policy:
                cache.move_to_end(key)
                return hit[1]
        value = build(policy, *args)
        with lock:
            cache[key] = (policy, value)
            while len(cache) > _MEMO_POLICIES:
                cache.popitem(last=False)
        return value

    return memoised
