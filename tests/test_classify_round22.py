"""Round 22 (docs/classification.md, "Round 22: scope"): a scope dampener's `unless` wording cancels
it on the ticket. Measured with round 22's candidates (procurement's price, advice and self-buy
dampener with an explicit purchase request as its `unless`; a dead device to replace), which the
policy does not ship (forward chaining +0.0036, under the keep rule's +0.005): the tests add them to
the shipped policy."""

import pytest
from pydantic import ValidationError

from logic.classify import scope_hits_sql
from policy.config import PolicyConfig
from tests.test_classify import _t, matched_texts, prepared_cases
from tests.test_classify import shipped_data as _shipped_data

PRICE = "the client buys it itself, or asks only a price, advice or which part fits"
DEAD = "a dead or lost device to be replaced"
# Round 22's candidates, in the policy's term syntax (docs/classification.md, round 22).
PRICE_DAMPENER = {
    "label": PRICE, "factor": 0.45, "whole_call": True,
    "phrases": ["what|(how much) ... should|would|could|do ... we|i ... budget|spend|allow|expect|allocate",
                "(i'll|i will|we'll|we will) ... buy|order|get|purchase ... myself|ourselves",
                "(hold off)|(on hold)|(not now)|(not yet)|(not this year)|(put off)|postpone*",
                "just|only ... recommendation|advice|opinion|suggestion", "recommendation|advice ... only",
                "buy|buying|order|ordering|purchase|purchasing|get|getting|pick ... ourselves|myself|herself"
                "|himself|themselves",
                "ourselves|myself|herself|himself|themselves ... buy|buying|order|ordering"
                "|purchase|purchasing",
                "(don't|do not|no need to|not asking you to|no need for you to) ... buy|order|purchase"
                "|source|supply",
                "(don't|do not) need|want you to ... buy|order|purchase|source|supply",
                "what|which ... toner|ink|cartridge|cartridges|cable|adapter|charger|part ... take|takes"
                "|fit|fits|need|use|uses|work|works|do|does|should",
                "which|what ... model|one|spec ... (would you)|(do you)|(should we)|(should i)|(should she)"
                "|(should he) ... recommend|suggest|get|buy|go",
                "(have we got)|(do we have)|(have we)|(is there)|(are there) ... spare|unused|free"
                "|unassigned"],
    "unless": ["please|pls|kindly ... order|buy|purchase|source|procure|supply",
               "(can you)|(could you)|(would you)|(will you)|(can we)|(could we) ... order|buy|purchase"
               "|source|procure|supply",
               "(go ahead)|(go-ahead)|(if not)|(if none)|(if there isn't)|(if there aren't)|(if we don't)"
               "|(once agreed)|(once approved) ... order|buy|purchase|source|procure|supply|get",
               "order|buy|purchase|get|source ... (for us)|(for me)|(for her)|(for him)|(for them)"
               "|(on our account)"],
}
DEAD_RULE = {
    "label": DEAD, "weight": 0.55,
    "phrases": ["died|dead|broken|smashed|cracked|stolen|(given up)|(packed up)|(stopped working)"
                "|(beyond repair)|(not worth repairing) ... another|replacement|(new one)",
                "get|send|order|source|supply|find|sort|arrange ... us|me|her|him|them ... (another one)"
                "|replacement|(new one)"],
}


def shipped_data() -> dict:
    """The shipped policy with round 22's two candidates added (what the tests call "shipped")."""
    data = _shipped_data()
    procurement = next(s for s in data["scope_exclusions"] if s["id"] == "procurement")
    procurement["dampeners"].append(dict(PRICE_DAMPENER))
    procurement["rules"].insert(0, dict(DEAD_RULE))
    return data

# Our own tickets, written for this test (no blind batch's sentences).
# A purchase the provider is asked to make, beside a price, advice, spare or self-pickup phrase:
# the request cancels the dampener, so each stays procurement.
REQUESTS = {
    "p1": ("New laptop for Sarah", "Please order a new laptop for Sarah, same spec as last time. I'll pick"
           " it up myself from your office."),
    "p2": ("Spare laptop?", "Is there a spare laptop in the cupboard for the new starter? If not, please"
           " order one."),
    "p3": ("Licences", "Do we have any free Microsoft 365 licences? If not please buy three more for the"
           " new hires."),
    "p4": ("Laptops", "Please order five laptops for the sales team. What should we budget for each?"),
    "p5": ("Monitor", "Not urgent, can you order a second monitor for Priya's desk when you get a chance."),
}
# The look-alikes the dampener is for: the client buys it itself, or asks only a price or advice.
LOOK_ALIKES = {
    "n3": ("Which toner", "Which toner does the HP in reception take? We buy them ourselves from Amazon."),
    "n5": ("Laptop advice", "Which laptop model would you recommend for a designer? We'll purchase it"
           " ourselves."),
}


def _calls_under(texts: dict[str, tuple[str, str]],
                 variants: dict[str, PolicyConfig]) -> dict[str, dict[str, set[str]]]:
    """Each ticket's scope ids called under the shipped policy and each variant (one preparation:
    the variants change scope rules only, which the emergency reading and the votes do not read)."""
    tickets = [_t(tid, *pair) for tid, pair in texts.items()]
    shipped = PolicyConfig.model_validate(shipped_data())
    con, reading = prepared_cases(shipped, tickets)
    out: dict[str, dict[str, set[str]]] = {}
    for name, policy in {"shipped": shipped, **variants}.items():
        found: dict[str, set[str]] = {t[0]: set() for t in tickets}
        sql = scope_hits_sql(policy, reading, matched=matched_texts(con, policy))
        for row in con.execute(sql).fetchall():
            found[row[0]].add(row[1])
        out[name] = found
    return out


def _without(label: str) -> PolicyConfig:
    data = shipped_data()
    procurement = next(s for s in data["scope_exclusions"] if s["id"] == "procurement")
    procurement["dampeners"] = [d for d in procurement["dampeners"] if d["label"] != label]
    return PolicyConfig.model_validate(data)


def _without_unless(label: str) -> PolicyConfig:
    data = shipped_data()
    procurement = next(s for s in data["scope_exclusions"] if s["id"] == "procurement")
    next(d for d in procurement["dampeners"] if d["label"] == label).pop("unless")
    return PolicyConfig.model_validate(data)


@pytest.fixture(scope="module")
def calls(round22_calls) -> dict[str, dict[str, set[str]]]:
    """The scope calls under the shipped policy, without the dampener and without its `unless`."""
    return {"shipped": round22_calls["shipped"], "without": round22_calls["without price"],
            "no unless": round22_calls["no unless"]}


@pytest.mark.parametrize("tid", sorted(REQUESTS))
def test_a_purchase_request_cancels_the_price_dampener(calls, tid):
    assert "procurement" in calls["shipped"][tid], (REQUESTS[tid], calls["shipped"][tid])
    assert calls["shipped"][tid] == calls["without"][tid]


def test_without_unless_the_dampener_drops_purchase_requests(calls):
    # what round 21's dampener did (it was taken out for it): the `unless` is what keeps them
    dropped = [tid for tid in REQUESTS if "procurement" not in calls["no unless"][tid]]
    assert len(dropped) >= 3, calls["no unless"]


@pytest.mark.parametrize("tid", sorted(LOOK_ALIKES))
def test_a_client_buying_it_itself_is_not_procurement(calls, tid):
    assert "procurement" in calls["without"][tid], ("the rules read a purchase in it", calls["without"][tid])
    assert "procurement" not in calls["shipped"][tid], (LOOK_ALIKES[tid], calls["shipped"][tid])


def test_unless_is_read_by_emergency_dampeners_too():
    """Since round 29 an emergency dampener takes `unless` (was: scope dampeners only); a term that
    the policy's term check refuses is still refused there."""
    data = _shipped_data()
    data["emergency"]["dampeners"][0]["unless"] = ["please"]
    assert PolicyConfig.model_validate(data).emergency.dampeners[0].unless == ["please"]
    data["emergency"]["dampeners"][0]["unless"] = [""]
    with pytest.raises(ValidationError):
        PolicyConfig.model_validate(data)


def test_two_dampeners_of_one_id_cannot_share_a_label():
    from logic.scope_rules import scope_rules

    data = shipped_data()
    procurement = next(s for s in data["scope_exclusions"] if s["id"] == "procurement")
    procurement["dampeners"].append(dict(procurement["dampeners"][0]))
    with pytest.raises(ValueError, match="share a label"):
        scope_rules(PolicyConfig.model_validate(data))


# A device dead, broken or stolen and a replacement asked for: sourcing goods (policy section 3).
REPLACEMENTS = {
    "r1": ("Scanner", "The scanner at reception has died completely, can you get us another one?"),
    "r3": ("Phone smashed", "Dropped my work mobile and the screen is smashed beyond repair, I need a"
           " replacement."),
}
# Look-alikes: a fault to fix, a replacement the client gets itself, a new link, not goods.
NOT_GOODS = {
    "n1": ("Printer died", "The printer in the office has died, it shows error E-04. Can you get it"
           " working again?"),
    "n2": ("Mouse", "My mouse stopped working. I'll get another one myself from the shop, no need to order."),
    "n6": ("Link", "The Teams invite link has expired, can you send me a new one?"),
    "n7": ("Broken share", "The shared drive mapping is broken since the update, can you set up a new one"
           " for the team?"),
    "n8": ("Dead battery", "Laptop battery is dead again, it is still under warranty, please log a"
           " warranty claim for a replacement."),
}


def _without_rule(label: str) -> PolicyConfig:
    data = shipped_data()
    procurement = next(s for s in data["scope_exclusions"] if s["id"] == "procurement")
    procurement["rules"] = [r for r in procurement["rules"] if r["label"] != label]
    return PolicyConfig.model_validate(data)


@pytest.fixture(scope="module")
def round22_calls() -> dict[str, dict[str, set[str]]]:
    """Every ticket of this file's scope calls under the shipped policy and the four variants the
    tests compare it with, from one preparation (the tickets are classified each on its own; the
    ids of the two sets are distinct)."""
    texts = {**REQUESTS, **LOOK_ALIKES, **REPLACEMENTS, **NOT_GOODS}
    assert len(texts) == len(REQUESTS) + len(LOOK_ALIKES) + len(REPLACEMENTS) + len(NOT_GOODS)
    return _calls_under(texts, {"without price": _without(PRICE), "no unless": _without_unless(PRICE),
                                "without dead": _without_rule(DEAD)})


@pytest.fixture(scope="module")
def dead_calls(round22_calls) -> dict[str, dict[str, set[str]]]:
    """The scope calls under the shipped policy and without the dead-device rule."""
    return {"shipped": round22_calls["shipped"], "without": round22_calls["without dead"]}


@pytest.mark.parametrize("tid", sorted(REPLACEMENTS))
def test_a_dead_device_to_replace_is_procurement(dead_calls, tid):
    assert "procurement" not in dead_calls["without"][tid], dead_calls["without"][tid]
    assert "procurement" in dead_calls["shipped"][tid], (REPLACEMENTS[tid], dead_calls["shipped"][tid])


@pytest.mark.parametrize("tid", sorted(NOT_GOODS))
def test_a_fault_or_a_new_link_is_not_procurement(dead_calls, tid):
    assert "procurement" not in dead_calls["shipped"][tid], (NOT_GOODS[tid], dead_calls["shipped"][tid])
