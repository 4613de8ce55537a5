"""Procurement is the provider sourcing and buying (docs/classification.md, round 21): a client who
buys the item itself, asks which model to get or whether a spare is in hand, asks for none."""

import pytest

from policy.config import PolicyConfig
from tests.test_classify import _t, classify, shipped_data

LABEL = "the client buys it itself, or asks which part fits"

# Our own tickets (no blind batch's sentences): the client buys the item itself, or asks which part
# fits, or whether a spare is in hand; beside them a request that the provider buys.
SELF = {
    "s1": ("Laptop for the new designer", "We are purchasing a laptop for the new designer ourselves"
                                          " on the company card. Is 32 GB of memory enough for video work?"),
    "s2": ("Docking station", "Which docking station model would you recommend for the new Dell laptops?"
                              " We'll buy them ourselves."),
    "s3": ("Licence for temp", "Have we got a spare Microsoft 365 licence for the temp starting Monday,"
                               " or do we need to buy another licence? If there is one please assign it."),
    "s4": ("Monitor arms", "We're ordering two monitor arms ourselves from Amazon - which VESA size do"
                           " the new screens take?"),
}
BUY = _t("b1", "Laptops for the new team", "Please order six laptops for the new sales team and have"
         " them delivered to the office by the end of the month.")


def _without_it() -> PolicyConfig:
    data = shipped_data()
    procurement = next(s for s in data["scope_exclusions"] if s["id"] == "procurement")
    procurement["dampeners"] = [d for d in procurement["dampeners"] if d["label"] != LABEL]
    return PolicyConfig.model_validate(data)


@pytest.fixture(scope="module")
def calls() -> dict[str, dict]:
    """The scope calls of the tickets under the shipped policy and under it without the dampener."""
    tickets = [_t(tid, *texts) for tid, texts in SELF.items()] + [BUY]
    shipped = PolicyConfig.model_validate(shipped_data())
    return {"shipped": classify(shipped, tickets)[0], "without": classify(_without_it(), tickets)[0]}


@pytest.mark.slow
@pytest.mark.parametrize("tid", sorted(SELF))
def test_a_client_buying_the_item_itself_is_not_procurement(calls, tid):
    assert "procurement" in calls["without"][tid], ("the rules read a purchase in it", calls["without"][tid])
    assert "procurement" not in calls["shipped"][tid], (SELF[tid], calls["shipped"][tid])


@pytest.mark.slow
def test_asking_the_provider_to_buy_is_still_procurement(calls):
    assert "procurement" in calls["shipped"]["b1"], calls["shipped"]["b1"]
    assert calls["shipped"]["b1"] == calls["without"]["b1"]
