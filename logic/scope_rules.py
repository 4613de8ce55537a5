"""The scope rules of the policy as RE2 matchers (logic/text_match.py) and their metadata.

Each rule, category hint and dampener of `scope_exclusions` (and `scope_classification.dampeners`)
gets a rule id; logic/classify.py matches them once and joins the metadata by that id.
"""

from dataclasses import dataclass

from logic.text_match import Compiler, Matcher, per_policy
from policy.classifiers import Dampener
from policy.config import PolicyConfig


@dataclass(frozen=True)
class ScopeRules:
    """The scope rules as matchers: text rules, category hints and the metadata of each rule id."""

    text: list[tuple[int, Matcher]]  # (rule id, its matcher)
    category: list[tuple[int, Matcher]]
    meta: list[tuple[object, ...]]  # rule_id, scope_id, kind, label, weight, only_alone
    compiler: "Compiler"


def _dampener_kind(damp: Dampener) -> str:
    """A dampener's kind in the rules' metadata: of the rules' confidence, or of the whole call."""
    return "call dampener" if damp.whole_call else "dampener"


def _add_dampener(c: "Compiler", damp: Dampener, scope_ids: list[str], next_id: int,
                  text_rules: list[tuple[int, Matcher]], meta: list[tuple[object, ...]]) -> int:
    """Append a dampener (and its `unless` wording, as a 'dampener cancel' rule) on scope_ids."""
    text_rules.append((next_id, c.dampener(damp)))
    meta.extend((next_id, sid, _dampener_kind(damp), damp.label, damp.factor, False) for sid in scope_ids)
    next_id += 1
    if damp.unless:
        text_rules.append((next_id, c.terms(damp.unless)))
        meta.extend((next_id, sid, "dampener cancel", damp.label, 1.0, False) for sid in scope_ids)
        next_id += 1
    return next_id


@per_policy
def scope_rules(policy: PolicyConfig) -> ScopeRules:
    c = Compiler(policy)
    sc = policy.scope_classification
    text_rules: list[tuple[int, Matcher]] = []
    category_rules: list[tuple[int, Matcher]] = []
    meta: list[tuple[object, ...]] = []  # rule_id, scope_id, kind, label, weight, only_alone
    next_id = 0
    for item in policy.scope_exclusions:
        for rule in item.rules:
            text_rules.append((next_id, c.rule(rule)))
            meta.append((next_id, item.id, "signal", rule.label, rule.weight, rule.only_alone))
            next_id += 1
        for rule in item.category_hints:
            category_rules.append((next_id, c.rule(rule)))
            meta.append((next_id, item.id, "category", rule.label, rule.weight, rule.only_alone))
            next_id += 1
        for damp in item.dampeners:
            next_id = _add_dampener(c, damp, [item.id], next_id, text_rules, meta)
    for damp in sc.dampeners:
        next_id = _add_dampener(c, damp, damp.applies_to, next_id, text_rules, meta)
    for y in sc.yields:  # round 25: the wording that keeps a yielding call beside the other id
        text_rules.append((next_id, c.terms(y.unless)))
        meta.append((next_id, y.scope_id, "yield cancel", y.label, 1.0, False))
        next_id += 1
    labels = [(m[1], m[3]) for m in meta if m[2] in ("dampener", "call dampener")]
    if len(labels) != len(set(labels)):  # a cancel finds its dampener by scope id and label
        raise ValueError("two dampeners of one scope id share a label")
    return ScopeRules(text_rules, category_rules, meta, c)


def yielded_cte(policy: PolicyConfig, by_id: bool, call_at: float) -> str:
    """SQL: `, yielded AS (...)`: the voted calls that give way (scope_classification.yields,
    round 25): a `scope_id` call on a ticket where the `to` id is called too and none of the
    yield's `unless` wording matched the ticket's text. Empty when the policy has no yields."""
    sc = policy.scope_classification
    if not sc.yields:
        return ""
    cancels = {(m[1], m[3]): m[0] for m in scope_rules(policy).meta if m[2] == "yield cancel"}
    parts = []
    for y in sc.yields:
        # the other id's own call threshold (call_at_by_id), as the final cut reads it
        at = sc.call_at_by_id.get(y.to, sc.min_confidence) if by_id else call_at
        parts.append(f"""(v.scope_id = '{y.scope_id}'
          AND EXISTS (SELECT 1 FROM voted o WHERE o.ticket_id = v.ticket_id
                      AND o.scope_id = '{y.to}' AND o.confidence >= {at!r})
          AND NOT EXISTS (SELECT 1 FROM matched m WHERE m.ticket_id = v.ticket_id AND m.src = 'text'
                          AND m.rule_id = {cancels[(y.scope_id, y.label)]} AND len(m.hits) > 0))""")
    where = "\n       OR ".join(parts)
    return f", yielded AS (\n    SELECT v.ticket_id, v.scope_id FROM voted v\n    WHERE {where}\n)"


def yield_filter(policy: PolicyConfig) -> str:
    """SQL: the final cut's condition that leaves out the yielded calls (empty without yields)."""
    if not policy.scope_classification.yields:
        return ""
    return (" AND NOT EXISTS (SELECT 1 FROM yielded y WHERE y.ticket_id = voted.ticket_id"
            " AND y.scope_id = voted.scope_id)")
