"""Round 37 (issue 19): a device or part the client asks the provider to get is procurement.

Policy section 3 excludes hardware and software bought through the provider. New writers ask for a
part or device in plain words ("can you get a new battery?", "could we get a bigger screen?", "please
supply the displays", "we need the card readers bought") that the older rules' verb and object lists
did not hold. "get" alone is everywhere ("when you get a chance"), so the new rule needs an ask before
it, a determiner or quantity right after it and a device or part within three words. The texts were
written for this test, none from a batch."""

import pytest

from policy.config import PolicyConfig, default_policy
from tests.shipped_calls import calls_fixture
from tests.test_classify import SHIPPED, _t

GOT = "a device or part asked to be got"
TICKETS = [
    _t("battery", "Phone battery", "My work phone is down to 20% by lunchtime every day now. Could you get a"
       " new battery for it?"),
    _t("bigger", "Screen for the reception desk", "The reception screen is tiny and Sam keeps leaning in to"
       " read it. Can we get a larger monitor for that desk?"),
    _t("supply", "Meeting room screens", "We are fitting out the two new meeting rooms next month. Please"
       " supply the displays and the brackets for the walls, and we'll book the electrician."),
    _t("bought", "Badge readers", "For the new door system we need the badge readers bought before the"
       " contractor arrives on the 14th; the software side is handled by the door company."),
    # near tickets: "get" in another sense; a fault to fix; a replacement the client buys itself; a
    # new starter who gets a laptop from a process the client asks to be configured
    _t("chance", "Monitor flickers", "The monitor on the front desk flickers every few minutes. Could you"
       " have a look when you get a chance? No rush."),
    _t("fix", "Battery warning", "The laptop says 'consider replacing your battery' but it still lasts all"
       " day. Can you get the warning to stop popping up?"),
    _t("self", "Dead mouse", "My mouse has died. I'll pick a new one up from the shop myself, nothing to"
       " order."),
    _t("starters", "Laptop setup", "We'd like new starters to get a laptop that signs in and installs"
       " everything by itself. Can you configure that in our device management?"),
]


@pytest.fixture(scope="module")
def policy() -> PolicyConfig:
    return default_policy(SHIPPED)


def shipped_cases() -> dict[str, list]:
    """The module's tickets, classified with the other modules' cases (tests/shipped_calls.py)."""
    return {"calls": TICKETS}


calls = calls_fixture("calls")


def _hits(policy: PolicyConfig, text: str) -> dict[str, list[str]]:
    """The procurement rules' matches in one text, by label (the scope matcher over the text)."""
    import duckdb

    from logic.text_match import Compiler, matched_hits

    compiler = Compiler(policy)
    item = next(s for s in policy.scope_exclusions if s.id == "procurement")
    items = [(i, compiler.rule(r)) for i, r in enumerate(item.rules)]
    con = duckdb.connect()
    con.execute("CREATE TABLE t (k INTEGER, raw VARCHAR)")
    con.execute("INSERT INTO t VALUES (0, ?)", [text])
    texts = f"(SELECT k, {compiler.normalise('raw')} AS txt FROM t)"
    rows = con.execute(matched_hits(texts, "k", items)).fetchall()
    return {item.rules[rule_id].label: hits for _, rule_id, hits in rows}


TEXTS = {t[0]: f"{t[1]} . {t[2]}" for t in TICKETS}


@pytest.mark.parametrize("tid", ["battery", "supply"])
def test_a_part_or_device_asked_for_is_procurement(calls, tid):
    assert "procurement" in calls[tid], calls[tid]


@pytest.mark.parametrize("tid", ["battery", "bigger"])
def test_the_ask_to_get_a_device_is_read(policy, tid):
    assert GOT in _hits(policy, TEXTS[tid])


def test_displays_to_supply_and_readers_to_buy_are_read(policy):
    assert "supply or specify equipment" in _hits(policy, TEXTS["supply"])
    assert "equipment wanted, to be bought" in _hits(policy, TEXTS["bought"])


@pytest.mark.parametrize("tid", ["chance", "fix", "self", "starters"])
def test_get_in_another_sense_or_a_fault_is_not_read(policy, calls, tid):
    assert GOT not in _hits(policy, TEXTS[tid])
    assert GOT not in calls[tid].get("procurement", (0, ""))[1]


@pytest.mark.parametrize("tid", ["chance", "fix", "starters"])
def test_get_in_another_sense_or_a_fault_is_not_procurement(calls, tid):
    assert "procurement" not in calls[tid], calls[tid]


def test_the_rule_reads_the_ask_first(policy):
    item = next(s for s in policy.scope_exclusions if s.id == "procurement")
    rule = next(r for r in item.rules if r.label == GOT)
    # an ask before "get" and the object after it: "new starters get a laptop" is no ask
    assert rule.order == "verb_first" and rule.max_gap <= 3
    assert all(v.split()[0] in {"can|could|would|will", "please|pls"} for v in rule.verbs or [])


def test_a_wrong_order_is_refused(policy):
    from pydantic import ValidationError

    from policy.classifiers import MatchRule

    with pytest.raises(ValidationError):
        MatchRule(label=GOT, weight=0.6, verbs=["please get a"], objects=["battery"], order="object_first")
