"""Round 37 (docs/classification.md, "Round 37: a fallback told by what the client does, a threat
the protection caught"): emergency false alarms told by what the client does (policy section 4).

An outage whose fallback is named by the doing and told as coping ("slower but it's working",
"we're keeping up", replying from my own address for now, orders phoned in instead, people moving
elsewhere for now) has a reasonable workaround; a threat the protection quarantined on one machine
that carries on is caught, nothing running; a compromise told with its long-past date, asked to be
cleaned up, is an aftermath; a question whether a drive is encrypted is not a report that files
were; a lure reported and not acted on lowers the neighbours' vote too.
Each has near tickets that must still be called: the fallback does not keep up or failed too, it
covers part of the work while sales are lost, the threat keeps coming back on several machines or
files are renamed, the lure clicked and the login typed, a site hacked this morning, a drive
encrypted with nobody able to open anything. Read through
the whole classifier (the session's one shipped classification: the final call) and, for the
dampener each meets, through the rules alone. The texts are my own, none a batch's.
"""

from policy.config import default_policy
from tests.dampener_look_alikes import LookAlikes
from tests.rule_matches import read_ahead_fixture
from tests.shipped_calls import calls_fixture

FALLBACK = "work carrying on another way"
CAUGHT = "a threat the protection caught, nothing running"
QUESTION = "a question about encryption, not an attack"

# A limit left (round 37): the rules read the fallback (0.32), but in a security category (Email)
# the neighbours' vote weighs 0.7 and the fallback does not lower it (round 34: a workaround beside
# an outage of now may still be one), so the final call stays at 0.57. Strict: a change that fixes
# it fails here.
LIMITS = {"Outbound mail": "a mail outage with a working fallback, called by the vote in a security category"}

# (subject, description, category, affected users, declared, the dampener the rules must meet)
NOT_CALLED = [
    ("Booking screen", "The booking screen at reception has frozen for everyone since ten. We're "
     "taking names on a clipboard and entering them later, slower but it's working. Could someone "
     "look this afternoon?", "Software", 12, True, FALLBACK),
    ("Outbound mail", "The shared enquiries mailbox won't send anything this morning. I'm replying "
     "from my own address for now. Can you take a look?", "Email", 6, False, FALLBACK),
    ("Web orders", "Our online order form gives an error on submit for all customers. A few "
     "customers have phoned their orders in instead and I'm keying them. Can you check today?",
     "Software", 20, True, FALLBACK),
    ("Stock scanners", "The warehouse handhelds won't sync with the stock system since opening. The "
     "team are writing counts on sheets and I'm typing them in - a bit tedious but we're keeping "
     "up.", "Hardware", 8, False, FALLBACK),
    ("Upstairs wifi", "The wireless on the second floor has died since last night. The staff up "
     "there will move down to the canteen for now. Could someone come and look?", "Network", 30,
     True, FALLBACK),
    ("Antivirus alert", "A pop-up said the antivirus found a trojan in a download and has "
     "quarantined it. The PC seems fine. Is there anything I should do?", "Security", 1, False,
     CAUGHT),
    ("Virus found!!", "Defender flagged a file on the USB stick a visitor gave me and quarantined it "
     "straight away. Laptop is running normally. Did I do something wrong?", "Security", 1, True,
     CAUGHT),
    ("Old website", "Our old website was hacked a couple of years ago and never properly fixed; it "
     "has admin accounts nobody knows. Could you clean it all up when you have time?", "Software",
     1, False, "a past incident's aftermath asked as work now"),
    ("Insurance form", "The cyber insurance renewal asks whether our shared drive is encrypted at "
     "rest. Is it? I need to tick yes or no by Friday.", "Security", 1, False,
     QUESTION),
]

CALLED = [
    ("Booking screen", "The booking system is down for everyone since ten. We tried taking names on "
     "paper but the queue is out of the door and we can't keep up. Please come now.", "Software",
     12, True),
    ("Mail down", "Nobody can send or receive email since 9. I tried replying from my own address "
     "for now but that's bouncing too, and clients are waiting on quotes.", "Email", 10, False),
    ("Web orders", "The online order form errors on submit for every customer. Only a couple have "
     "rung their orders in instead; the rest go elsewhere and we're losing sales.", "Software", 20,
     True),
    ("Tills", "Card tills are down in both shops since opening. We're writing sales on paper, slow "
     "but it's working, except we can't serve anyone paying by card and people are walking out.",
     "Hardware", 8, True),
    ("Virus pop-ups", "The antivirus keeps saying a trojan was quarantined on four office PCs, it "
     "comes back every few minutes and one PC has restarted itself.", "Security", 4, True),
    ("Antivirus", "Antivirus says it quarantined something but all the files in my documents have "
     "been renamed with a strange ending and won't open.", "Security", 1, False),
    ("Odd email", "Got an email claiming to be from our bank; I clicked the link and typed in my "
     "login before I noticed the address was wrong.", "Email", 1, False),
    ("Shared drive", "The shared drive is encrypted and nobody can open anything this morning; "
     "there's a file in every folder asking us to get in touch.", "Security", 12, True),
    ("Website hacked", "Our website was hacked this morning and now shows a page demanding payment; "
     "customers are emailing us.", "Software", 1, False),
]


LOOK_ALIKES = LookAlikes("round37", NOT_CALLED, CALLED, frozenset({FALLBACK, CAUGHT, QUESTION}),
                         limits=LIMITS)


def shipped_cases() -> dict[str, list]:
    """The look-alikes and the near tickets, classified with the other modules' cases."""
    return LOOK_ALIKES.cases()


emergency = calls_fixture("emergency", LOOK_ALIKES.case, part="emergency")
rules_read_ahead = read_ahead_fixture(LOOK_ALIKES.rule_cases(), autouse=False)

# The four tests of the shape (tests/dampener_look_alikes.py), under this module's names.
(test_a_fallback_that_works_or_a_caught_threat_is_not_called,
 test_a_failing_fallback_or_a_running_threat_is_called,
 test_the_rules_read_the_look_alike_by_its_dampener,
 test_the_near_ticket_cancels_the_dampener) = LOOK_ALIKES.tests()


def test_the_caught_threat_lowers_the_vote_and_the_fallback_does_not():
    """The caught threat tells a state (nothing under way) the neighbours' vote cannot read, so it
    lowers it as the outage's 'nothing down now' dampeners do; the fallback does not (a workaround
    beside an outage of now is still one, round 34). Round 38 put the reported lure back, its unless
    reading a live compromise beside "never got a reply" (B62-052; see
    test_emergency_fallback_by_shape_round38)."""
    em = default_policy().emergency
    assert CAUGHT in em.vote_dampened_by
    assert FALLBACK not in em.vote_dampened_by and FALLBACK in em.broad_field.firm
