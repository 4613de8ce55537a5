"""Emergency dampeners read per list item (round 25; docs/classification.md, "Round 25: emergency").

A dampener with `scope: list_item` lowers a criterion only where none of its rules is met outside
the list items holding the dampener's words: "1. printer's fine now 2. logo a bit blurry,
no rush 3. Marcus bought the gift cards our 'MD' asked for" keeps item 3's reading. Words before
the first item (the subject, a greeting, "Following last month's breach, we need:") head the whole
list, so there they lower every item, as a whole-ticket dampener does. A text without list items is
one segment: the reading is the whole-ticket one. The rules' hits are the phrases they matched
(logic/text_match.py), so a rule is met in a segment when one of its hits is in the segment's text;
a hit never crosses a line break that opens an item (a phrase's gaps stop at line breaks).
"""

from logic.text_match import Compiler
from policy.classifiers import Dampener, MatchRule
from warehouse.sqlquote import sql_literal

# A line opening a list item: "1." "2)" "-" "*" or a bullet, after a line break.
ITEM_BREAK = r"\n[ \t]*(?:[0-9]{1,2}[.)]|[-*\x{2022}])[ \t]"


def scoped(dampeners: list[Dampener]) -> list[int]:
    """The indexes of the dampeners read per list item."""
    return [j for j, d in enumerate(dampeners) if d.scope != "ticket"]


def segmented_cte(c: Compiler, dampeners: list[Dampener], source: str) -> str:
    """SQL: CTEs `ms0`, `ms` over `source` (the rules' hit lists per text) adding free_<j> for each
    dampener j read per list item: the text (items joined by chr(1)) of the items holding none of
    its hits, '' where the text before the first item holds one; only computed where j matched."""
    js = scoped(dampeners)
    met = " OR ".join(f"len(d_{j}) > 0" for j in js)
    text = f"replace({c.normalise('raw_txt')}, '~', '')"

    def holds(segment: str, j: int) -> str:
        return f"list_bool_or(list_transform(d_{j}, lambda h: contains({segment}, h)))"

    free = ", ".join(
        f"""CASE WHEN len(d_{j}) = 0 OR {holds('segs[1]', j)} THEN ''
                 ELSE array_to_string(list_filter(segs[2:], lambda s: NOT {holds('s', j)}), chr(1))
            END AS free_{j}""" for j in js)
    return f""", ms0 AS (
    SELECT *, CASE WHEN {met} THEN string_split_regex({text}, {sql_literal(ITEM_BREAK)}) END AS segs
    FROM {source}
), ms AS (
    SELECT * EXCLUDE (segs), {free} FROM ms0
)"""


def rule_free(j: int, rule: MatchRule, column: str, sets: dict[str, str], several_at: int) -> str:
    """SQL: the rule (its hit column, or for an all_of rule each of its term sets) has a hit in an
    item free of dampener j's words; several_users met by the affected users field counts as free."""
    def outside(col: str) -> str:
        return f"len(list_filter({col}, lambda h: contains(free_{j}, h))) > 0"

    if not rule.all_of:
        return outside(column)
    parts = [f"({outside(sets[n])} OR coalesce(affected_users, 0) >= {several_at})"
             if n == "several_users" else outside(sets[n]) for n in rule.all_of]
    return "(" + " AND ".join(parts) + ")"

