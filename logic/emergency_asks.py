"""The urgent second ask (round 37, issue 19): the text after a calm or routine ask, read on its own.

A first ask's calm words ("could you install a font", "not urgent") lowered an outage told in
the sentences after it. Round 36 let the routine dampener give way to a list of openers ("also",
"separately"), which the next writers did not use. Here the ask is found by where the calm words
are, not by how the next one opens: for the dampeners of emergency.later_ask, the later asks are
the text after the sentence holding the last of their words, and a criterion one of them applies
to is not lowered where those later asks meet a rule of it by their own words.

Round 25's per-list-item reading was taken out after review; this one meets its objections:
- only calm or routine dampeners are listed (a resolution, "fine now", stays whole-ticket, and a
  calm word told after the outage still lowers it: the later asks hold none of the words);
- a rule is met in the later asks where a hit of it (the one matching pass's, negation applied)
  stands there as whole words ("down" is not found in "download"): an all_of rule needs a hit of
  each of its term sets there, breadth by the words alone (the affected_users field counts the
  whole ticket, perhaps the first ask's people);
- no second matching pass: one boolean per criterion, computed once per text in a CTE of its
  own, only for texts that met a listed dampener and, over the whole text, a rule it lowers.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

from logic.text_match import Compiler
from policy.config import PolicyConfig
from warehouse.sqlquote import sql_literal

# Where a sentence ends: . ! ? (one or more) then a space, or a line break. The later asks start
# after the first such end at or after the last calm word.
_AFTER_SENTENCE = r"^(?s:.*?)(?:[.!?]+\s|\n)(?s:(.*))$"
# What is not part of a word: a hit and the later asks are compared as words between spaces, so
# "down" is not found in "download".
_NOT_WORD = r"[^\w']+"
# Round 42: a quote mark at a word's edge is not part of it ("it says 'merchant unavailable'."):
# an apostrophe stays a word's only inside it ("can't").
_EDGE_QUOTES = r"'* '*"


def _indexes(policy: PolicyConfig, labels: list[str]) -> list[int]:
    """Indexes (in emergency.dampeners) of the dampeners named by `labels`."""
    names = set(labels)
    return [j for j, d in enumerate(policy.emergency.dampeners) if d.label in names]


def _criteria(policy: PolicyConfig, js: list[int]) -> list[str]:
    """The criteria the dampeners `js` apply to, in policy order."""
    em = policy.emergency
    applies = {c for j in js for c in em.dampeners[j].applies_to}
    return [c.id for c in em.criteria if c.id in applies]


def listed(policy: PolicyConfig) -> list[int]:
    """Indexes (in emergency.dampeners) of the dampeners read per ask; [] when off."""
    return _indexes(policy, policy.emergency.later_ask.dampeners)


def freed_criteria(policy: PolicyConfig) -> list[str]:
    """The criteria a listed dampener applies to, in policy order (each gets an ask_ column)."""
    return _criteria(policy, listed(policy))


# Round 39: the rules_met item naming a criterion a later ask met by its own words (the reading's
# rules_met column carries it, so what reads the whole text can tell the freed readings apart).
FREED = "a later ask read alone: "


def freed(policy: PolicyConfig, alias: str, against: str) -> str:
    """SQL: the rules' row `alias` (its rules_met) holds a reading a later ask freed, and
    later_ask.holds_against lists `against` (a whole-text reading that then does not lower it)."""
    if against not in policy.emergency.later_ask.holds_against or not freed_criteria(policy):
        return "false"
    named = f"list_filter({alias}.rules_met, lambda r: starts_with(r, {sql_literal(FREED)}))"
    return f"coalesce(len({named}) > 0, false)"


# Round 39: the later asks name a system of emergency.later_ask.system_set by their own words.
SYSTEM = "ask_system"


def freed_where(policy: PolicyConfig, j: int, criteria: list[str]) -> str:
    """SQL: dampener j gives way on `criteria` (the later asks meet a rule of each alone, and name a
    system where later_ask.system_named lists it); '' where it is read over the whole ticket."""
    if j in opened(policy):  # round 42: the opened later part meets a rule of each alone
        return " AND ".join(open_column(c) for c in criteria)
    if j not in listed(policy):
        return ""
    named = policy.emergency.dampeners[j].label in policy.emergency.later_ask.system_named
    return " AND ".join([column(c) for c in criteria] + ([SYSTEM] if named else []))


def column(criterion: str) -> str:
    """The boolean column: the later asks meet a dampenable rule of `criterion` by their words."""
    return f"ask_{criterion}"


def opened(policy: PolicyConfig) -> list[int]:
    """Round 42: indexes of the dampeners that give way to a later part opened as a new ask."""
    return _indexes(policy, policy.emergency.later_ask.opened_dampeners)


def opened_criteria(policy: PolicyConfig) -> list[str]:
    """The criteria an opened dampener applies to, in policy order (each gets an open_ column)."""
    return _criteria(policy, opened(policy))


def open_column(criterion: str) -> str:
    """The boolean column: the opened later part meets a dampenable rule of `criterion` alone."""
    return f"open_{criterion}"


def _opened_pattern(policy: PolicyConfig) -> str:
    """RE2: the text from the first opener that starts a sentence or a line (group 1)."""
    def one(opener: str) -> str:
        body = r"\s+".join(re.escape(w) for w in opener.split(" "))
        return body + (r"\b" if opener[-1].isalpha() else "")
    openers = "|".join(one(o) for o in policy.emergency.later_ask.opened_by)
    return rf"^(?s:.*?)(?:[.!?]+\s+|\n\s*)((?:{openers})(?s:.*))$"


def later_asks_sql(policy: PolicyConfig, hits: str, damp_met: Callable[[int], str], stored: bool,
                   part: str = "calm") -> str:
    """SQL over the relation `hits` (raw_txt, txt, read_txt and emergency_rules_sql's list columns):
    raw_txt and an ask_<criterion> column per freed criterion, for the texts that met a listed
    dampener and, over the whole text, a dampenable rule of a criterion it applies to. `part`
    "opened" (round 42): open_<criterion> columns instead, for the opened dampeners, the later
    part being the text from the first opener starting a sentence or line after their last words.

    No second matching pass (round 25's cost: +27% on a one-ticket input): the text was matched
    once, and a hit lies in the later asks where its phrase stands there as whole words. The calm
    words end where the last occurrence of a listed dampener's last hit ends. `stored`: the hits
    were read from the match store (txt is NULL), so the text is normalised here."""
    em = policy.emergency
    calm_part = part == "calm"
    js = listed(policy) if calm_part else opened(policy)
    ids = freed_criteria(policy) if calm_part else opened_criteria(policy)
    name = column if calm_part else open_column
    rules = {cr.id: [(i, r) for i, r in enumerate(cr.rules) if not r.undampened]
             for cr in em.criteria if cr.id in ids}

    def met(cid: str, hit: Callable[[str], str]) -> str:
        """A dampenable rule of the criterion met (`hit(column)`: the column's hits count);
        several_users by its words only."""
        conds = [" AND ".join(hit(f"set_{n}") for n in r.all_of) if r.all_of else hit(f"r_{cid}_{i}")
                 for i, r in rules[cid]]
        return "(" + " OR ".join(f"({x})" for x in conds) + ")" if conds else "false"

    def words(expr: str) -> str:  # a text or phrase as its words between spaces
        spaced = f"(' ' || regexp_replace({expr}, {sql_literal(_NOT_WORD)}, ' ', 'g') || ' ')"
        return f"regexp_replace({spaced}, {sql_literal(_EDGE_QUOTES)}, ' ', 'g')"

    def anywhere(column: str) -> str:
        return f"len({column}) > 0"

    def in_tail(column: str) -> str:
        return f"len(list_filter({column}, lambda h: strpos(tail, {words('h')}) > 0)) > 0"

    calm = " OR ".join(damp_met(j) for j in js)
    text = f"replace({Compiler(policy).normalise('read_txt') if stored else 'txt'}, '~', '')"
    # Where the calm words end: the end of the last occurrence of a listed dampener's hit.
    ends = ", ".join(f"CASE WHEN {damp_met(j)} THEN list_max(list_transform(d_{j}, lambda h: CASE WHEN"
                     f" strpos(reverse(whole), reverse(h)) > 0 THEN length(whole) - strpos(reverse(whole),"
                     f" reverse(h)) + 1 END)) END" for j in js)
    after = f"substr(whole, coalesce(list_max([{ends}]), 0) + 1)"
    pattern = _AFTER_SENTENCE if calm_part else _opened_pattern(policy)
    tail = f"regexp_extract({after}, {sql_literal(pattern)}, 1)"
    shown = ", ".join(f"coalesce({met(cid, in_tail)}, false) AS {name(cid)}" for cid in ids)
    if calm_part and em.later_ask.system_named:  # round 39: a peripheral's ask gives way to a system
        shown += f", coalesce({in_tail('set_' + em.later_ask.system_set)}, false) AS {SYSTEM}"
    return f"""SELECT raw_txt, {shown} FROM (
        SELECT *, {words(tail)} AS tail FROM (
            SELECT *, {text} AS whole FROM {hits}
            WHERE ({calm}) AND ({" OR ".join(met(cid, anywhere) for cid in ids)})))"""


@dataclass(frozen=True)
class Pieces:
    """What emergency_rules_sql writes for the later asks; each '' (or []) when off, so the
    statement is then the one before round 37."""

    cte: str  # the later_asks CTE after text_hits
    read: str  # text_hits keeps read_txt for it
    columns: str  # the ask_ columns in m
    join: str  # m's join to later_asks
    evidence: list[str]  # evidence parts naming a criterion read in a later ask (rules_met items too)

    @staticmethod
    def of(policy: PolicyConfig, damp_met: Callable[[int], str], stored: bool) -> "Pieces":
        freed, opens = freed_criteria(policy), opened_criteria(policy)
        if not freed and not opens:
            return Pieces("", "", "", "", [])
        em = policy.emergency
        cte, columns, join = "", [], ""
        if freed:
            cte += f"), later_asks AS ({later_asks_sql(policy, 'text_hits', damp_met, stored)}\n"
            named = [SYSTEM] if em.later_ask.system_named else []
            columns += [f"a.{c}" for c in [*map(column, freed), *named]]
            join += " LEFT JOIN later_asks a USING (raw_txt)"
        if opens:  # round 42: the later part opened as a new ask
            cte += f"), opened_asks AS ({later_asks_sql(policy, 'text_hits', damp_met, stored, 'opened')}\n"
            columns += [f"o.{open_column(c)}" for c in opens]
            join += " LEFT JOIN opened_asks o USING (raw_txt)"

        def held(c: str, js: list[int]) -> list[str]:  # a dampener of js met on c that did not give way
            return [f"NOT ({damp_met(j)} AND NOT ({freed_where(policy, j, [c])}))" for j in js
                    if c in em.dampeners[j].applies_to]

        def gave_way(c: str) -> str:  # the later asks met c alone, and every listed dampener met gave way
            ways = []
            if c in freed:
                ways.append(" AND ".join([column(c), *held(c, listed(policy))]))
            if c in opens:  # round 42: and every opened one met gave way too
                ways.append(" AND ".join([open_column(c), *held(c, listed(policy) + opened(policy))]))
            return " OR ".join(f"({w})" for w in ways)

        return Pieces(cte, ", read_txt",
                      "".join(f", coalesce({x}, false) AS {x[2:]}" for x in columns), join,
                      [f"CASE WHEN {gave_way(c)} THEN {sql_literal(FREED + c.replace('_', ' '))} END"
                       for c in [x for x in (c.id for c in em.criteria) if x in freed or x in opens]])
