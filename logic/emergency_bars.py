"""The bars the learned emergency signal must reach to raise a reading the rules dampened
(logic/emergency.py's learned vote; policy: emergency.learned_model).

Two situations keep the signal's words from carrying a call on their own:

- round 16: the rules read one person's problem (a dampener of learned_model.dampened_by) and the
  structured field agrees (fewer than emergency.min_affected_users): raised only from
  raise_at_dampened;
- round 39: the rules read an outage or a disruption and a dampener of emergency.vote_dampened_by
  lowered it, a state the text tells that a bag of words cannot read (over before the ticket,
  someone else's, never connected, the work still getting done another way). The neighbours' vote
  is lowered for it already (round 34); with learned_model.state_bar the signal is held to the
  higher bar ("higher") or does not raise it at all ("off"), whatever the field counts (the firm
  dampeners: the field counts who lost the system, not who cannot work).
"""

from policy.config import PolicyConfig
from warehouse.sqlquote import sql_literal


def vote_state(policy: PolicyConfig, alias: str = "s") -> str:
    """SQL over the rules' row `alias`: the factor on the neighbours' vote (round 34). The vote reads
    what a text is about (mail down), not the state it tells (over, someone else's, never
    connected): where the rules read an outage or a disruption (a rule of a criterion the
    dampener applies to, none of another) and a dampener of emergency.vote_dampened_by lowered it,
    the vote is lowered by that dampener's factor too; one read only on its kind of report
    (only_with_sets, round 41) also where no rule met. 1 when none is listed."""
    em = policy.emergency
    factors = []
    for damp in (d for d in em.dampeners if d.label in em.vote_dampened_by):
        inside = [r.label for c in em.criteria if c.id in damp.applies_to for r in c.rules]
        outside = [r.label for c in em.criteria if c.id not in damp.applies_to for r in c.rules]
        inside_sql, outside_sql = ", ".join(map(sql_literal, inside)), ", ".join(map(sql_literal, outside))
        read = f"list_has_any({alias}.rules_met, [{inside_sql}]::VARCHAR[])"
        other = f" AND NOT list_has_any({alias}.rules_met, [{outside_sql}]::VARCHAR[])" if outside else ""
        if damp.only_with_sets:
            # Round 41: a dampener read only on its own kind of report (a sign-in alert, a changed-
            # details request) tells that report's state even where no rule met ("an alert saying
            # sign in from abroad ... that's me": the vote alone read an incident).
            read = f"({read} OR len({alias}.rules_met) = 0)"
        met = f"list_contains({alias}.dampeners, {sql_literal(damp.label)})"
        factors.append(f"CASE WHEN coalesce({met} AND {read}{other}, false) THEN {damp.factor} ELSE 1 END")
    return " * ".join(factors) or "1"


def learned_bars(policy: PolicyConfig) -> tuple[str, str, str]:
    """SQL over the model's inputs `mi` (the rules' dampeners and rules met, the field's affected
    users): (the p a raise needs, where a bar above raise_at applies (no lift there either), where
    no raise is allowed at all). Call only with learned_model.raise_at set."""
    em = policy.emergency
    lm = em.learned_model
    assert lm.raise_at is not None
    higher = max(lm.raise_at, lm.raise_at_dampened or lm.raise_at)  # never a lower bar than raise_at
    # Round 36: with bar_spares_by_nature, a text that met a rule naming the incident by its nature
    # is read at raise_at (the bar reads the signal's words, not the rule's): either bar.
    named_rules = ", ".join(sql_literal(label) for label in lm.by_nature)
    exempt = (f" AND NOT coalesce(list_has_any(mi.rules_met, [{named_rules}]), false)"
              if lm.bar_spares_by_nature and lm.by_nature else "")
    narrow_bar = "false"
    if lm.raise_at_dampened is not None:
        # A reading the rules dampened as narrow (a single-user issue) on a ticket whose structured
        # field counts fewer than min_affected_users: the text and the field agree it is one
        # person's, so the signal's words alone ("account", "log in") need a higher bar.
        named = ", ".join(sql_literal(label) for label in lm.dampened_by)
        dampened = f"coalesce(list_has_any(mi.dampeners, [{named}]), false)"
        narrow = f"coalesce(mi.affected_users, 1) < {em.min_affected_users}"
        narrow_bar = f"(({dampened}) AND {narrow}{exempt})"
    # Round 39: a told state that lowered the vote lowers the signal's raise too (same condition).
    state = (f"(coalesce(({vote_state(policy, 'mi')}) < 1, false){exempt})" if lm.state_bar != "none"
             else "false")
    barred = f"({narrow_bar} OR {state})" if lm.state_bar == "higher" else narrow_bar
    bar = (f"CASE WHEN {barred} THEN {higher} ELSE {lm.raise_at} END" if barred != "false"
           else str(lm.raise_at))
    off = state if lm.state_bar == "off" else "false"
    return bar, f"({barred} OR {off})", off
