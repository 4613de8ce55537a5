"""The urgent second ask read on its own (round 37; docs/classification.md, "Round 37: the urgent
second ask"; logic/emergency_asks.py): a calm or routine dampener (emergency.later_ask) does not
lower a criterion where the text after the sentence holding its last words meets a rule of it by
those words alone. Round 25's reviewer's objections each have a case here: a resolution told next
still lowers the outage; breadth only in the affected-users field does not free a later ask; a
calm word told after the outage still lowers it; and the look-alikes are read through the whole
classifier (the final call), not the rules alone. The texts are my own, none a batch's.
"""

from pathlib import Path

import duckdb
import pytest
import yaml

from logic.emergency import emergency_rules_sql, emergency_text_hits_sql
from logic.message import read_texts
from logic.text_match import TICKET_TEXT
from policy.base import PolicyConfigError
from policy.config import default_policy, load_policy
from policy.paths import PROJECT_ROOT
from tests.rule_matches import _one_ticket_table
from tests.shipped_calls import calls_fixture
from tests.test_classify import _t

SHIPPED = PROJECT_ROOT / "config" / "policy.yaml"

# (subject, description, affected users): an urgent problem told after a routine first ask, with
# none of round 36's openers ("also", "separately" ...): the rules read it only with later_ask
CALLED = [
    ("New starter and invoices", "Could you please set up an account for our new starter Priya from "
     "Monday? Thanks.\n\nThe invoicing system has been throwing an error since nine and none of us "
     "can raise an invoice, the month-end run is today.", 1),
    ("Font for the brochure", "Can you install the Garamond font on Sam's laptop? Not urgent. Since "
     "lunch none of us in the office can open the shared drive, it says access denied for all of us.",
     1),
]

# Near ones that stay below the bar (subject, description, affected users, the later ask read
# alone: only where the later ask meets a rule by its own words)
NOT_CALLED = [
    # the calm words told after the outage: they may speak of it, so they still lower it
    ("Teams and a new starter", "Teams keeps freezing for everyone in the office. Not urgent. Could "
     "you also set up a new starter account for Monday?", 1, False),
    # a resolution told in the next sentence: read over the whole ticket, as before
    ("Mailbox and server", "Please set up a mailbox for the new starter. The server crashed and "
     "nobody could work this morning. We restarted it, working again now.", 1, True),
    # one person's problem told second; the field's count of 3 is the ticket's, not the later ask's
    ("Signature logo", "Please could you change the logo colour in our email signature.\n\nChloe "
     "can't open the shared folder.", 3, False),
    # a word that holds a rule's word ("download" holds "down") is not that word
    ("Zoom for a starter", "Please install Zoom for the new starter. Can all of us download the "
     "presentation from the portal?", 1, False),
]

TICKETS = [_t(f"la{i:02d}", subject, description, "Other", affected, False)
           for i, (subject, description, affected, *_) in enumerate(CALLED + NOT_CALLED)]


def shipped_cases() -> dict[str, list]:
    """The cases, classified with the other modules' cases in the session's one call."""
    return {"later_ask": TICKETS}


emergency = calls_fixture("emergency", "later_ask", part="emergency")


@pytest.mark.parametrize("i", range(len(CALLED)))
def test_an_urgent_later_ask_is_called(emergency, i):
    qualifies, confidence, evidence, _state = emergency[f"la{i:02d}"]
    assert qualifies and "a later ask read alone" in evidence, (CALLED[i], confidence, evidence)


@pytest.mark.parametrize("i", range(len(NOT_CALLED)))
def test_a_near_later_ask_is_not_called(emergency, i):
    qualifies, confidence, evidence, _state = emergency[f"la{len(CALLED) + i:02d}"]
    assert not qualifies, (NOT_CALLED[i], confidence, evidence)
    assert ("a later ask read alone" in evidence) == NOT_CALLED[i][3], (NOT_CALLED[i], confidence, evidence)


def _variant(tmp_path: Path, labels: list[str]) -> Path:
    data = yaml.safe_load(SHIPPED.read_text())
    data["emergency"]["later_ask"] = {"dampeners": labels}  # round 39's settings off (their defaults)
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(("labels", "message"), [
    (["no such dampener"], "later_ask.dampeners: not a dampener's label: no such dampener"),
    (["over before the ticket, nothing asked now"], "a firm or vote-dampening dampener is read over"),
    (["routine request", "routine request"], "later_ask.dampeners: each label once"),
])
def test_a_wrong_later_ask_is_refused(tmp_path, labels, message):
    with pytest.raises(PolicyConfigError, match=message):
        load_policy(_variant(tmp_path, labels))


def test_off_the_statement_has_no_later_asks(tmp_path):
    """Listing no dampener writes the statement as before round 37 (no later_asks CTE)."""
    assert "later_asks" in emergency_rules_sql(default_policy())
    assert "later_asks" not in emergency_rules_sql(load_policy(_variant(tmp_path, [])))


def test_only_calm_or_routine_dampeners_are_listed():
    """A resolution or a planned job stays whole-ticket (round 25's review). Round 39: one user's
    words and a peripheral's in an earlier ask give way too (told after the outage they still
    lower it; tests/test_emergency_later_ask_holds.py), the peripheral's only to a system named."""
    assert default_policy().emergency.later_ask.dampeners == [
        "routine request", "cosmetic issue", "the client says it can wait", "single-user issue",
        "a printer or other peripheral, not a core system"]


def test_the_match_store_reads_the_later_asks_the_same():
    """Read from stored matches (txt NULL: the text normalised again), the later asks give the
    readings the direct match gives (orchestration/emergency_match_store.py)."""
    policy = default_policy()
    con = duckdb.connect()
    _one_ticket_table(con, [(s, d, a, False) for s, d, a, *_ in CALLED + NOT_CALLED])
    con.execute(f"CREATE TEMP TABLE t AS SELECT {TICKET_TEXT} AS raw_txt FROM clf_tickets")
    con.execute(f"CREATE TEMP TABLE rt AS SELECT read_txt AS raw_txt FROM ({read_texts(policy, 't')})")
    con.execute(f"CREATE TEMP TABLE st AS {emergency_text_hits_sql(policy, 'rt')}")
    query = "SELECT ticket_id, confidence, evidence FROM ({}) ORDER BY 1"
    direct, stored = (con.execute(query.format(sql)).fetchall()
                      for sql in (emergency_rules_sql(policy), emergency_rules_sql(policy, "st")))
    assert direct == stored
    assert sum("a later ask read alone" in e for _, _, e in direct) == 3
