"""Round 39 (docs/classification.md, "Round 39: the learned signal and a told state"): an outage
or a disruption the client tells in a state a bag of words cannot read (the work still getting
done another way, over before the ticket, someone else's) is not raised again by the learned
emergency signal's words (policy section 4: no reasonable workaround; a business-critical outage
of now).

The rules lower such a reading by a dampener of emergency.vote_dampened_by and the neighbours'
vote is lowered with it (round 34); learned_model.state_bar "off" keeps the signal from raising
(or lifting) the same reading. The near tickets tell the same outage without the state (the
fallback fails, nothing done another way): the rules call them, and the signal is not needed. Read
through the whole classifier (the final call). The round 38 fallback dampener also reads two more
shapes here: a purpose clause ("diverted it ... so suppliers can still get hold of us") and the
day said to be covered ("we're alright for today"); their near tickets tell the fallback failing
or nobody able to work. The texts are my own, none a batch's.
"""

import pytest

from tests.shipped_calls import calls_fixture
from tests.test_classify import _t, _variant, assert_refused, classify

# (subject, description, category, affected users)
NOT_CALLED = [
    ("Stock system down", "The stock system stopped loading for the whole warehouse this morning. We're "
     "picking from yesterday's printed lists, which works, so orders are still going out.", "Software", 18),
    ("Internet down at the office", "The office internet dropped out just after nine. Everyone has gone "
     "home to work from there for the rest of the day.", "Network", 12),
    ("Phones", "Our main phone line went dead this morning so I've set it to forward to my mobile, and "
     "customers are still getting through fine. Can you look into why?", "Telephony", 20),
    ("Booking system", "The online booking system we use is down for every customer of theirs across "
     "the country today, their status page says so. Nothing wrong at our end, just so you know.",
     "Software", 15),
    # the fallback told by a purpose clause, or the day said to be covered (the round 38 dampener's
    # shapes, round 39)
    ("Main line", "The main office line has been dead since about ten. I've diverted it to my own "
     "mobile so suppliers can still get hold of us. Could you find out what's happened?", "Telephony", 22),
    ("Timesheets down", "The timesheet system is down for everyone at both sites since early today. "
     "We've got the printed sheets from last week so we're alright for today, but could you chase the "
     "supplier?", "Software", 40),
]

CALLED = [
    ("Stock system down", "The stock system stopped loading for the whole warehouse this morning. We "
     "tried the printed lists but they're out of date, so no orders are going out.", "Software", 18),
    ("Internet down at the office", "The office internet dropped out just after nine. Nobody can get "
     "onto anything and we have clients coming in at ten.", "Network", 12),
    ("Phones", "Our main phone line went dead this morning. I tried forwarding it to my mobile but that "
     "fails too, customers can't reach us at all.", "Telephony", 20),
    ("Main line", "The main office line has been dead since about ten. I diverted it to my own mobile "
     "but that's not working either, nobody can get hold of us.", "Telephony", 22),
    ("Timesheets down", "The timesheet system is down for everyone at both sites since early today. The "
     "printed sheets from last week are wrong for today, nobody can clock in and agency staff are "
     "waiting at the door.", "Software", 40),
]


def _tickets() -> list:
    return ([_t(f"n{i}", s, d, c, a) for i, (s, d, c, a) in enumerate(NOT_CALLED)]
            + [_t(f"r{i}", s, d, c, a) for i, (s, d, c, a) in enumerate(CALLED)])


def shipped_cases() -> dict[str, list]:
    """The look-alikes and the near tickets, classified with the other modules' cases."""
    return {"round39": _tickets()}


emergency = calls_fixture("emergency", "round39", part="emergency")


@pytest.mark.parametrize("i", range(len(NOT_CALLED)), ids=[c[0] for c in NOT_CALLED])
def test_an_outage_told_in_a_state_is_not_called(emergency, i):
    qualifies, confidence, evidence, _state = emergency[f"n{i}"]
    assert not qualifies and "emergency model" not in evidence, (NOT_CALLED[i][1], confidence, evidence)


@pytest.mark.parametrize("i", range(len(CALLED)), ids=[c[0] for c in CALLED])
def test_the_same_outage_without_the_state_is_called(emergency, i):
    qualifies, confidence, evidence, _state = emergency[f"r{i}"]
    assert qualifies, (CALLED[i][1], confidence, evidence)


def test_without_the_state_bar_the_signal_raises_the_dampened_reading():
    """The look-alike the bar is for: with state_bar "none" (the code before round 39) the signal's
    words ("whole", "morning") raise the reading the fallback lowered."""
    before = _variant(lambda d: d["emergency"]["learned_model"].update(state_bar="none"))
    _, emergency = classify(before, _tickets()[:1])
    qualifies, confidence, evidence, _state = emergency["n0"]
    assert qualifies and "emergency model" in evidence, (confidence, evidence)


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["emergency"]["learned_model"].update(state_bar="sometimes"), "state_bar"),
    (lambda d: d["emergency"]["learned_model"].update(state_bar="higher", raise_at_dampened=None),
     "state_bar: 'higher' needs raise_at_dampened"),
    (lambda d: d["emergency"].update(vote_dampened_by=[]),
     "learned_model.state_bar: vote_dampened_by names no dampener"),
])
def test_a_wrong_state_bar_is_refused(tmp_path, edit, message):
    assert_refused(tmp_path, edit, message)
