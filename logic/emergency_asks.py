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
- a rule is met in the later asks by matching them with the same matchers (word boundaries,
  negation): an all_of rule needs each of its term sets there, breadth by the words alone (the
  affected_users field counts the whole ticket, perhaps the first ask's people);
- one boolean per criterion, computed once per text in a CTE of its own, and only for texts that
  met a listed dampener and, over the whole text, a rule it lowers.
"""

from collections.abc import Callable
from dataclasses import dataclass

from logic.text_match import Compiler, Matcher, matched_hits
from policy.config import PolicyConfig
from warehouse.sqlquote import sql_literal

# Where a sentence ends: . ! ? (one or more) then a space, or a line break. The later asks start
# after the first such end at or after the last calm word.
_AFTER_SENTENCE = r"^(?s:.*?)(?:[.!?]+\s|\n)(?s:(.*))$"


def listed(policy: PolicyConfig) -> list[int]:
    """Indexes (in emergency.dampeners) of the dampeners read per ask; [] when off."""
    names = set(policy.emergency.later_ask.dampeners)
    return [j for j, d in enumerate(policy.emergency.dampeners) if d.label in names]


def freed_criteria(policy: PolicyConfig) -> list[str]:
    """The criteria a listed dampener applies to, in policy order (each gets an ask_ column)."""
    em = policy.emergency
    applies = {c for j in listed(policy) for c in em.dampeners[j].applies_to}
    return [c.id for c in em.criteria if c.id in applies]


def column(criterion: str) -> str:
    """The boolean column: the later asks meet a dampenable rule of `criterion` by their words."""
    return f"ask_{criterion}"


def later_asks_sql(policy: PolicyConfig, hits: str, damp_met: Callable[[int], str]) -> str:
    """SQL over the relation `hits` (raw_txt, read_txt and emergency_rules_sql's list columns):
    raw_txt and an ask_<criterion> column per freed criterion, for the texts that met a listed
    dampener and, over the whole text, a dampenable rule of a criterion it applies to."""
    em = policy.emergency
    c = Compiler(policy)
    ids = freed_criteria(policy)
    rules = {cr.id: [(i, r) for i, r in enumerate(cr.rules) if not r.undampened]
             for cr in em.criteria if cr.id in ids}
    sets = list(dict.fromkeys(n for rs in rules.values() for _, r in rs for n in r.all_of or []))
    items: list[tuple[str, Matcher]] = [(f"a_set_{n}", c.terms(em.term_sets[n])) for n in sets]
    items += [(f"a_r_{cid}_{i}", c.rule(r)) for cid, rs in rules.items() for i, r in rs if not r.all_of]

    def met(cid: str, prefix: str) -> str:
        """A dampenable rule of the criterion met by the words (`prefix` '' the whole text's
        columns, 'a_' the later asks'); several_users by its words only."""
        conds = [" AND ".join(f"len({prefix}set_{n}) > 0" for n in r.all_of) if r.all_of
                 else f"len({prefix}r_{cid}_{i}) > 0" for i, r in rules[cid]]
        return "(" + " OR ".join(f"({x})" for x in conds) + ")" if conds else "false"

    calm = " OR ".join(damp_met(j) for j in listed(policy))
    anywhere = " OR ".join(met(cid, "") for cid in ids)
    cores = "|".join(f"(?:{c.dampener(em.dampeners[j]).core})" for j in listed(policy))
    # The end of the last calm word: a greedy prefix ends where the last match of the cores ends.
    last = f"length(regexp_extract(whole, {sql_literal('^(?s:.*)(?:' + cores + ')')}))"
    tail = f"regexp_extract(substr(whole, {last} + 1), {sql_literal(_AFTER_SENTENCE)}, 1)"
    numbered = list(enumerate(m for _, m in items))
    looked_up = ", ".join(f"coalesce(mp[{i}], CAST([] AS VARCHAR[])) AS {name}"
                          for i, (name, _) in enumerate(items))
    shown = ", ".join(f"coalesce({met(cid, 'a_')}, false) AS {column(cid)}" for cid in ids)
    return f"""WITH ask_texts AS (
        SELECT raw_txt, {c.normalise('read_txt')} AS whole FROM {hits} WHERE ({calm}) AND ({anywhere})
    ), ask_tails AS (
        SELECT raw_txt, {tail} AS txt FROM ask_texts
    ), ask_hits AS (
        SELECT raw_txt, map_from_entries(list((rule_id, hits))) AS mp
        FROM ({matched_hits('ask_tails', 'raw_txt', numbered)}) GROUP BY raw_txt
    )
    SELECT t.raw_txt, {shown}
    FROM ask_tails t LEFT JOIN (SELECT raw_txt, {looked_up} FROM ask_hits) h USING (raw_txt)"""


@dataclass(frozen=True)
class Pieces:
    """What emergency_rules_sql writes for the later asks; each '' (or []) when off, so the
    statement is then the one before round 37."""

    cte: str  # the later_asks CTE after text_hits
    read: str  # text_hits keeps read_txt for it
    columns: str  # the ask_ columns in m
    join: str  # m's join to later_asks
    evidence: list[str]  # evidence parts naming a criterion read in a later ask

    @staticmethod
    def of(policy: PolicyConfig, damp_met: Callable[[int], str]) -> "Pieces":
        freed = freed_criteria(policy)
        if not freed:
            return Pieces("", "", "", "", [])
        return Pieces(f"), later_asks AS ({later_asks_sql(policy, 'text_hits', damp_met)}\n", ", read_txt",
                      "".join(f", coalesce(a.{column(c)}, false) AS {column(c)}" for c in freed),
                      " LEFT JOIN later_asks a USING (raw_txt)",
                      [f"CASE WHEN {column(c)} THEN 'a later ask read alone: {c.replace('_', ' ')}' END"
                       for c in freed])
