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
                  text_rules: list[tuple[int, Matcher]], meta: list[tuple[object, ...]],
                  kind: str | None = None) -> int:
    """Append a dampener (and its `unless` wording, as a 'dampener cancel' rule) on scope_ids."""
    text_rules.append((next_id, c.dampener(damp)))
    kind = kind or _dampener_kind(damp)
    meta.extend((next_id, sid, kind, damp.label, damp.factor, False) for sid in scope_ids)
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
    # Round 39: wording read in the time-entry notes only, as a time signal (logic/classify.py)
    for note in sc.time_signals.note_signals:
        text_rules.append((next_id, c.terms(note.phrases)))
        meta.append((next_id, note.scope_id, "note signal", note.label, note.weight, False))
        next_id += 1
    # Round 40: wording in the notes that says which build was done lowers the other builds' calls
    for damp in sc.time_signals.note_dampeners:
        next_id = _add_dampener(c, damp, damp.applies_to, next_id, text_rules, meta, "note dampener")
    labels = [(m[1], m[3]) for m in meta if m[2] in ("dampener", "call dampener", "note dampener")]
    if len(labels) != len(set(labels)):  # a cancel finds its dampener by scope id and label
        raise ValueError("two dampeners of one scope id share a label")
    return ScopeRules(text_rules, category_rules, meta, c)
