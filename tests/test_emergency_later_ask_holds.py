"""Round 39 (e39b, issue 19): the later ask's reading holds, and outages and exposures told by
their effect (docs/classification.md, "Round 39: the later ask holds").

- emergency.later_ask.holds_against: a reading a later ask freed (round 37) is not held by what
  reads the whole text (the learned signal's hold, the scope vote's planned work, the veto);
- the single-user dampener gives way to a later ask too ("my laptop is slow" asked first), and a
  peripheral's (later_ask.system_named) only to a later ask naming a business system;
- mail nobody has had since a time, and a business system that has kept nothing since a time,
  read as outages; another's data seen through a portal or a link, read as an exposure.

Every look-alike goes through the whole classifier (the final call). The texts are my own.
"""

from pathlib import Path

import duckdb
import pytest
import yaml

from logic import emergency_asks as asks
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

# (subject, description, affected users): each must be called
CALLED = [
    # one user's first ask, then a system lost for a team, told without an opener
    ("Laptop and the booking screen", "Could someone look at why my laptop takes ages to start in "
     "the mornings?\n\nThe booking system has shown an error and won't load since eight, Priya says "
     "she and the front desk team have been turning people away at the counter.", 1),
    # mail that has not arrived for anyone since a time, after a routine ask
    ("Distribution list", "Please add Tom to the sales distribution list.\n\nNone of us have received "
     "a single email from customers since about ten this morning and quotes are going unanswered.", 6),
    # a business system that has kept nothing since a time, after two routine asks
    ("Three things", "1. Could Jo get access to the finance folder?\n2. Reception needs toner for "
     "the printer.\n3. The order system hasn't recorded anything since Monday lunchtime, every order "
     "taken since then is missing.", 5),
    # another's records shown through the portal
    ("Portal statements", "A customer rang to say that after logging in to our portal to pay her "
     "bill she could see the statements of other customers, with their addresses. I tried with the "
     "test account and saw the same.", 1),
]

# (subject, description, affected users): each must not be called
NOT_CALLED = [
    # a routine second ask: nothing down
    ("Mailbox and Outlook", "Could you set up a mailbox for our new starter? And could you check "
     "why Outlook is slow to open on my PC, no rush.", 1),
    # one user's words told after the outage still lower it
    ("Accounts database", "Could you reset the password on the scanner? The accounts database "
     "won't open, it's only on my laptop though, the others are fine.", 1),
    # the printer's trouble told on in the next sentence is still the printer's
    ("Receipts", "The printer in the back office says offline again. Customers are waiting at the "
     "counter for their receipts!", 1),
    # mail nobody had, already back
    ("Mail over the weekend", "None of us had any emails from outside since Saturday morning, but "
     "it came back on Sunday night and everything has arrived now. Just letting you know.", 4),
    # a planned replacement whose second sentence takes the servers down on a quiet day (round 39's
    # merge: called at 0.97 while a later ask's reading was spared the learned hold)
    ("Battery unit", "The battery backup in the server cupboard failed its self-test again and is "
     "eight years old. Please swap it, we've approved the quote. It means switching the servers "
     "off, so do it on a Sunday when nobody is in.", 40),
    # one user's missing mail
    ("My emails", "I haven't had any emails since this morning on my laptop, everyone else seems "
     "to be fine.", 1),
]

TICKETS = [_t(f"lh{i:02d}", subject, description, "Other", affected, False)
           for i, (subject, description, affected) in enumerate(CALLED + NOT_CALLED)]


def shipped_cases() -> dict[str, list]:
    """The cases, classified with the other modules' cases in the session's one call."""
    return {"later_ask_holds": TICKETS}


emergency = calls_fixture("emergency", "later_ask_holds", part="emergency")


@pytest.mark.parametrize("i", range(len(CALLED)))
def test_a_later_ask_or_an_effect_is_called(emergency, i):
    qualifies, confidence, evidence, _state = emergency[f"lh{i:02d}"]
    assert qualifies, (CALLED[i], confidence, evidence)


@pytest.mark.parametrize("i", range(len(NOT_CALLED)))
def test_a_near_ticket_is_not_called(emergency, i):
    qualifies, confidence, evidence, _state = emergency[f"lh{len(CALLED) + i:02d}"]
    assert not qualifies, (NOT_CALLED[i], confidence, evidence)


def _rules(policy, cases: list[tuple]) -> dict[str, tuple[float, list[str]]]:
    """Ticket id -> (the rules' confidence, rules_met), the rules alone."""
    con = duckdb.connect()
    _one_ticket_table(con, [(s, d, a, False) for s, d, a in cases])
    rows = con.execute(f"SELECT ticket_id, confidence, rules_met FROM ({emergency_rules_sql(policy)})")
    return {t: (c, m) for t, c, m in rows.fetchall()}


def test_a_freed_reading_is_named_in_rules_met():
    """What reads the whole text tells a freed reading by its rules_met item (asks.FREED): the
    booking system after one user's ask is; the printer told on next is not."""
    read = _rules(default_policy(), [CALLED[0], NOT_CALLED[2]])
    assert any(m.startswith(asks.FREED) for m in read["t1"][1])
    assert not any(m.startswith(asks.FREED) for m in read["t2"][1])


def _variant(tmp_path: Path, change) -> Path:
    data = yaml.safe_load(SHIPPED.read_text())
    change(data["emergency"])
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_off_nothing_is_spared(tmp_path):
    """holds_against empty: the whole-text readings lower a freed reading as before round 39."""
    off = load_policy(_variant(tmp_path, lambda em: em["later_ask"].update(holds_against=[])))
    assert asks.freed(off, "s", "vote_veto") == "false"
    assert asks.freed(default_policy(), "s", "vote_veto") != "false"
    # round 40: the learned hold is spared again, the planned job told in one sentence being read
    # as work outside the working day over the whole text (tests/test_emergency_round40_recall.py)
    assert asks.freed(default_policy(), "s", "learned_hold") != "false"


def test_the_peripheral_gives_way_only_to_a_system_named(tmp_path):
    """Without system_named the printer told on next (NOT_CALLED[2]) is freed by the rules."""
    case = NOT_CALLED[2:3]
    loose = load_policy(_variant(tmp_path, lambda em: em["later_ask"].update(system_named=[])))
    assert _rules(loose, case)["t1"][0] >= 0.5
    assert _rules(default_policy(), case)["t1"][0] < 0.5


@pytest.mark.parametrize(("change", "message"), [
    ({"holds_against": ["the vote"]}, "holds_against"),
    ({"holds_against": ["learned_hold", "learned_hold"]}, "later_ask.holds_against: each label once"),
    ({"dampeners": [], "system_named": []}, "later_ask.holds_against: no dampener is read per ask"),
    ({"system_named": ["past or already resolved"]}, "later_ask.system_named: not in later_ask.dampeners"),
    ({"system_set": "no_such_set"}, "later_ask.system_set: not a term set"),
])
def test_a_wrong_setting_is_refused(tmp_path, change, message):
    with pytest.raises(PolicyConfigError, match=message):
        load_policy(_variant(tmp_path, lambda em: em["later_ask"].update(change)))


def test_the_match_store_reads_the_same():
    """Read from stored matches (txt NULL), the later asks and the system named give the readings
    and rules_met the direct match gives (orchestration/emergency_match_store.py)."""
    policy = default_policy()
    con = duckdb.connect()
    _one_ticket_table(con, [(s, d, a, False) for s, d, a in CALLED + NOT_CALLED])
    con.execute(f"CREATE TEMP TABLE t AS SELECT {TICKET_TEXT} AS raw_txt FROM clf_tickets")
    con.execute(f"CREATE TEMP TABLE rt AS SELECT read_txt AS raw_txt FROM ({read_texts(policy, 't')})")
    con.execute(f"CREATE TEMP TABLE st AS {emergency_text_hits_sql(policy, 'rt')}")
    query = "SELECT ticket_id, confidence, evidence, rules_met FROM ({}) ORDER BY 1"
    direct, stored = (con.execute(query.format(sql)).fetchall()
                      for sql in (emergency_rules_sql(policy), emergency_rules_sql(policy, "st")))
    assert direct == stored
