"""Round 16 (docs/classification.md, "Round 16: scope"): a visit asked for in the text and not yet
logged is onsite evidence on its own; a visit the text says is not needed stays negated."""

import pytest

from policy.config import default_policy
from tests.test_classify import _t, classify

# Tickets no labelled file holds. ASKED: a visit asked for, only a remote call logged so far
# (remote_only_onsite_factor is 1: an export may log every entry as remote). POP: a visit asked
# for, nothing logged. NOT_WANTED: the same printer, the visit declined in so many words.
ASKED = _t("v1", "label printer", "Can someone come in on Tuesday to set up the new label printer in the"
           " dispatch office?", time=[(15, "remote", True, "called to arrange", False)])
POP = _t("v2", "meeting room screen", "Could one of your engineers pop over next week and mount the screen"
         " in the meeting room?")
NOT_WANTED = _t("v3", "label printer", "The label printer driver needs updating. No need to come in, you"
                " can do it remotely.", time=[(15, "remote", True, "driver updated", False)])


@pytest.fixture(scope="module")
def calls() -> dict[tuple[str, str], str]:
    rows: list = []
    classify(default_policy(), [ASKED, POP, NOT_WANTED], scope_rows=rows)
    return {(r[0], r[1]): r[3] for r in rows}


def test_a_visit_asked_for_and_not_yet_logged_is_onsite(calls):
    # the rules read the request itself; no onsite or travel time entry is needed for the call
    assert "someone to attend in person" in calls[("v1", "onsite")]
    assert ("v2", "onsite") in calls
    assert not any("onsite time entries" in calls[(t, "onsite")] for t in ("v1", "v2"))


def test_a_visit_declined_stays_negated(calls):
    assert ("v3", "onsite") not in calls
