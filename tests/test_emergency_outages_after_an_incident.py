"""Real emergencies told with the words of recovery, clean-up or a calm list, that the shipped
classifier calls: a frozen set any future dampener must leave called (the final call, not the
rules' reading alone).

Round 25's reviewer wrote them to attack a recovery-after-an-incident dampener and dampeners read
per list item (docs/classification.md, "Round 25: emergency"): that change silenced 27 of its
real outages ("After the storm the internet is down in the whole branch." 0.977 -> 0.485) after
passing its own look-alikes and forward chaining, as rounds 23 and 24's emergency rules had. The
texts are the reviewer's own (no blind batch's sentences); kept here are those the shipped policy
of 2026.12.73 calls at 0.7 or more in this test's classification, so that a bank refit moving a
reading a few points does not fail them and a dampener that silences one does (22 of the 74 fail
under round 25's taken-out dampeners, 2026.12.70). A text kept under two subjects is two tickets:
the subject is read with it.
"""

import pytest

from tests.shipped_calls import calls_fixture
from tests.test_classify import _t

# The (affected users, declared an emergency) a text is called with, where several texts share them
ANY_SIZE = ((1, False), (15, False), (15, True))
MANY = ((15, False), (15, True))
TEN_DECLARED = ((10, True),)

# (subject, description, the (affected users, declared an emergency) it is called with)
OUTAGES: list[tuple[str, str, tuple[tuple[int, bool], ...]]] = [
    ("Card machines",
     "Since the power cut this morning the card machines show 'no connection', customers are "
     "queuing",
     ANY_SIZE),
    ("Phones",
     "After the lightning strike the phones are dead across the site",
     ANY_SIZE),
    ("Flood",
     "Following the flood the server room is under water and the file server is off",
     ANY_SIZE),
    ("Virus again",
     "We cleaned up the virus last week but files are being renamed again right now",
     ANY_SIZE),
    ("Internet",
     "After the storm the shop's internet is out, we can't take card payments",
     ANY_SIZE),
    ("Server",
     "After the power cut the server has stopped and the office is unable to log in.",
     ANY_SIZE),
    ("Internet",
     "After the storm the internet is down in the whole branch.",
     ANY_SIZE),
    ("Server",
     "After the power cut the server isn't working for anyone.",
     ANY_SIZE),
    ("Files",
     "After the flood the file server has stopped and all of us are locked out of our files.",
     ANY_SIZE),
    ("Server",
     "After the flood our server isn't working and all of us are sat at our desks.",
     ANY_SIZE),
    ("Network",
     "Following the lightning strike the network has gone down, the whole building is offline.",
     ANY_SIZE),
    ("Server won't",
     "After the flood the server is dead and we have a payroll deadline in two hours.",
     ANY_SIZE),
    ("EMIS",
     "After Saturday's power cut the clinical system is down; the surgery can't see patient "
     "records.",
     MANY),
    ("Website",
     "Following the hack our website is down and orders have stopped coming in.",
     MANY),
    ("Switch",
     "We had a power surge after the storm and now the main switch is dead, everything is "
     "offline.",
     ((15, True),)),
    ("Payroll",
     "After the burst pipe the server is off and payroll has to run by 3pm.",
     MANY),
    ("Company offline",
     "Now that the power is back the network hasn't come up, the whole company's offline.",
     MANY),
    ("Email",
     "After the phishing attack the email server is down and the whole team is locked out.",
     MANY),
    ("Tills",
     "After the power cut the tills have stopped working and there is a line of customers.",
     MANY),
    ("Back to how it was",
     "Please get us back to how it was, since the power cut nobody in the office can print, log "
     "on or open email.",
     MANY),
    ("Booking",
     "After the outage the booking system is down and we have a full day of appointments.",
     MANY),
    ("Rebuild",
     "Rebuild needed: ransomware note on every PC this morning",
     ((15, True),)),
    ("Door entry",
     "Since the break-in the alarm and CCTV are down and the door entry won't open.",
     ((15, True),)),
    ("Ransomware",
     "After the virus last week we thought it was cleaned up, but files on the server are being "
     "encrypted again and there's a new ransom note.",
     TEN_DECLARED),
    ("Hacked",
     "Following the phishing attack, someone is in the finance mailbox sending invoices with new "
     "bank details to our customers.",
     TEN_DECLARED),
    ("Rebuild",
     "Ransomware note on every PC this morning, we'll need a rebuild.",
     TEN_DECLARED),
    ("After the breach",
     "After the breach the attacker is still logging into the admin account and has changed the "
     "passwords.",
     TEN_DECLARED),
    ("Power cut",
     "After the power cut the server has stopped and the office is unable to log in.",
     TEN_DECLARED),
    ("Storm",
     "After the storm the internet is down in the whole branch.",
     TEN_DECLARED),
    ("Flood",
     "Following the flood the server room is under water and the file server is off.",
     TEN_DECLARED),
    ("Fire",
     "After the fire in the kitchen the comms room is full of smoke and the servers have shut "
     "down.",
     TEN_DECLARED),
    ("Server",
     "Now that the power is back, the server hasn't come up and the clinic system is down for "
     "the whole practice.",
     TEN_DECLARED),
    ("Email",
     "After the hack, email has stopped working for the whole team.",
     TEN_DECLARED),
    ("Flood",
     "After the flood the server is down. All of us are at home unable to work.",
     ((10, False),)),
    ("Leak",
     "After the leak, the server in the cupboard is dead. The whole branch relies on it.",
     ((10, False),)),
    ("One thing",
     "Hi:\n1. the server is down and nobody can work",
     ((1, False),)),
    ("Ransom",
     "Whenever you have a moment:\n1. a new mouse for reception\n2. there is a ransom note on "
     "the server and all the files in the shared drive are encrypted",
     ((1, False),)),
    ("Ransom",
     "1. whenever you have a moment, a new mouse for reception\n2. there is a ransom note on the "
     "server and all the files in the shared drive are encrypted",
     ((1, False),)),
    ("Few things",
     "Few things:\n1. tidy up the cables in the comms room\n2. the internet is down in the whole "
     "branch",
     ((8, False),)),
    ("Internet down",
     "The internet is down in the whole branch. While you're here could you tidy up the cables "
     "in the comms room?",
     ((8, False),)),
    ("Server",
     "The file server has stopped and the office is locked out of every file. Is it worth a "
     "rebuild?",
     ((12, False),)),
    ("Tills",
     "All the tills have frozen at the shop. We did a clean up of old files yesterday, could "
     "that be it?",
     ((3, False),)),
]
TICKETS = [_t(f"o{i:02d}-{affected}{'d' if declared else ''}", subject, description, "Other",
              affected, declared)
           for i, (subject, description, fields) in enumerate(OUTAGES) for affected, declared in fields]


def shipped_cases() -> dict[str, list]:
    """The outages, classified with the other modules' cases in the session's one call."""
    return {"outages": TICKETS}


emergency = calls_fixture("emergency", "outages", part="emergency")


# Held by the learned signal since batch-43/44 joined the bank (policy 2026.12.76): the refitted
# model reads p 0.04-0.09 on these four ("rebuild", "tidy up the cables", a declared "power surge
# after the storm"), below learned_model.hold_below 0.1, so the call is halved (readings 0.71-0.99
# -> 0.36-0.50). Two exemptions from the hold were measured and not shipped: by the client's count
# of affected users, and for readings of 0.95 or more; both cost first-seen precision on batch-45/46
# (docs/classification.md, "Round 27: the learned hold after batch-43/44"). Strict: a refit or a
# change that calls them again fails here, and they go back to the frozen set. Round 28's hold
# without a cliff (a ramp from x0.5 at p 0.1 to x1 at 0.2) leaves them held: every ramp that
# released them freed false alarms on forward chaining (docs/classification.md, round 28).
# Round 30 (policy 2026.12.86): the refit on the new dampeners' readings calls o25-10d and o38-8
# again (fewer look-alikes of an outage in the bank read high by the rules), so they left the set.
# Round 31 (batch-51/52 banked, policy 2026.12.89): the refit holds o25-10d again (p 0.12, "need",
# "rebuild", "every": the bank's new aftermath tickets ask for a rebuild after an incident), so it is
# back in the set; the hold is left as it is (round 27's and 28's exemptions cost first-seen
# precision) and the miss is in docs/classification.md (round 31).
# Round 33: the bank's refit (batch-55/56, policy 2026.12.96) called o25-10d again, the refit on
# the round's merged readings (2026.12.99) holds it once more (model p 0.13, "need", "rebuild",
# "every": disagreeing, x0.67, reading 0.71 -> 0.476, just under the bar). A call this close to
# the bar flips with each refit; it is back in the set and the miss is in docs/classification.md.
# Round 39: the refit with batch-67/68 banked (policy 2026.12.125) calls o39-8 again: released.
# Round 40: the refit with batch-69/70 banked (dc9e0b6) holds o39-8 again (emergency model 0.08-0.09,
# x0.5): held. It has flipped with the bank's refits (held since batch-44, called at batch-67/68).
HELD_SINCE_BATCH_44 = {"o14-15d", "o25-10d", "o39-8"}
HELD = pytest.mark.xfail(strict=True, reason="held by the learned signal since batch-43/44")


@pytest.mark.parametrize("ticket", [pytest.param(t, marks=HELD) if t[0] in HELD_SINCE_BATCH_44 else t
                                    for t in TICKETS], ids=[t[0] for t in TICKETS])
def test_a_real_outage_told_after_an_incident_stays_an_emergency(emergency, ticket):
    qualifies, confidence, evidence, _state = emergency[ticket[0]]
    assert qualifies, (ticket[1], ticket[2], ticket[4], ticket[5], confidence, evidence)
