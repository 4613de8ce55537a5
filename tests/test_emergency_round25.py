"""Round 25 (issue 19 item 5): emergency dampeners that wording of the incident still going on
cancels (`unless`), a dampener for recovery work after an incident that is over, and dampeners read
per list item (docs/classification.md, "Round 25: emergency").

Every text here was written for this test from the policy's sections 3 and 4 (major remediation
against an emergency), not taken from a batch. `before` is the shipped policy without this round's
parts (the recovery dampener out, every dampener read over the whole ticket): the readings the
round must keep.
"""

import copy

import pytest

from logic.emergency import emergency_rules_sql
from policy.config import PolicyConfig, default_policy
from tests.rule_matches import one_ticket_rules, read_ahead
from tests.test_emergency_round24 import REAL_WITH_QUIET_WORDS, REVIEWED, ROUTINE

RECOVERY = "recovery after an incident that is over"
PER_ITEM = ["the client says it can wait", "low-impact inconvenience or a workaround",
            "past or already resolved"]

# Real emergencies that carry the recovery dampener's words; (subject, description, users, declared)
REAL_RECOVERY = [
    ("Tills", "After last night's power cut the tills still won't start and we open at 9.", 6, False),
    ("Server", "The server we rebuilt last week is down again, nobody can work.", 12, False),
    ("Card machines", "No panic but all our card machines are offline and customers are at the"
     " counter.", 5, False),
    ("Email", "Since the flood the whole office has no email and we can't reach any clients.", 15, False),
    ("Files", "Found this morning after the weekend: every file on the shared drive is encrypted and there's"
     " a ransom note in each folder. Nobody can open anything.", 20, True),
    ("Internet", "After the storm the internet is still down for the whole office; we need it"
     " back.", 10, False),
    ("Booking system", "Following the power cut the booking system won't load at all and reception is turning"
     " guests away.", 8, True),
    ("Network", "After the lightning strike the network is dead right now, nobody can log in.", 25, False),
    ("Payments", "We did the clean-up after the power cut, but the card machines are all offline right now"
     " and customers can't pay.", 6, False),
    ("Phones", "Following the break-in the phone system is offline and customers can't get through; the whole"
     " office is stuck.", 9, False),
    ("Shared drive", "Now that the server is back after the flood, it has crashed again and none of us can"
     " open a file.", 14, False),
    ("Warehouse", "After the fire alarm the warehouse scanners all stopped and the lorries are waiting to be"
     " loaded; we're losing orders.", 30, True),
    # Written after the first version of the dampener silenced them (present-tense outages after an
    # incident): the `unless` list reads a service that won't come back, breadth, a queue, today.
    ("Server", "After the power cut the server won't come back on and the office needs it.", 15, False),
    ("Rebuild", "Our main server has crashed and won't start; please rebuild it from backup today.", 20,
     True),
    ("Email down", "Following the phishing attack our email is down for everyone.", 25, False),
    ("Two tills", "After the storm two of the three tills are dead and the queue is out the door.", 6, False),
    ("Lightning", "After the lightning the internet is down across the office, please come.", 12, True),
    ("Clean-up", "We started the clean-up after the burst pipe but the server is still offline since this"
     " morning and everyone can't work.", 18, False),
]
# Post-incident recovery or rebuild work the dampener quiets (the rules call them without it).
QUIET_RECOVERY = [
    ("After the flood", "After the flood last month the comms cabinet was under water; your engineer got"
     " us going on a temporary switch. Please rebuild the network properly in the new cupboard.", 20, False),
    ("Back to normal", "Lightning hit the office on Monday. The router and the office internet are dead,"
     " we're using a 4G dongle. Please get us back to how it was and buy what's needed.", 12, False),
    ("Stock database", "The power cut on Sunday left the stock database offline; it needs rebuilding from the"
     " backup and the tills' sales replayed in. The tills are working off their own price file.", 25, False),
    ("Server rebuild", "The old file server is dead since Friday. Everything is in the cloud now so it can"
     " wait a few days. Can you rebuild it as a backup box?", 10, False),
    ("Tidy up", "Now that the network is back after the outage, please tidy up the cabling in the comms"
     " room and replace the temporary switch.", 15, True),
    ("Virus clean-up", "After the virus last week the accounts server is offline until it's rebuilt; we work"
     " from the cloud copy. Please rebuild it properly this time.", 30, False),
    ("Storm damage", "Following the storm at the depot the server cabinet got wet and two switches are dead;"
     " it has been dried out and the insurer wants the kit replaced. Please quote and rebuild"
     " it.", 18, False),
    ("Power surge", "After the power surge on Tuesday two switches died and the stock server is offline; we"
     " are limping along on a spare. Please put it back properly.", 8, False),
    ("Leak", "After the leak in the server room last weekend the UPS is dead and the server is on a"
     " temporary cable. Please replace it and set it up as it was before.", 12, False),
    ("Ransomware", "Following the ransomware in the spring we are back up and running; the insurer wants"
     " all laptops rebuilt and the firewall replaced.", 40, True),
    ("Break-in", "After the break-in last month the router was stolen and the CCTV is offline; your"
     " engineer got us going with a loan router. Please rebuild the network and the CCTV the way"
     " it was.", 9, False),
]
# One real incident buried as an item of a list of small things (one user, undeclared).
BURIED_REAL = [
    ("A few things", "Hi, a few things:\n1. The printer is fine now, thanks.\n2. No rush, but the logo on"
     " the website looks a bit small.\n3. Our director's WhatsApp asked Jo to buy £400 of gift cards and"
     " send the codes; she bought them, and he says it wasn't him.", 1, False),
    ("Bits and bobs", "Bits and bobs when you get a chance:\n- can Sam have access to the HR folder\n- the"
     " Wi-Fi was slow yesterday, fine now\n- Priya's mailbox is sending phishing emails to all her contacts,"
     " she didn't send them", 1, False),
    ("Couple of things", "Couple of things:\n1) minor: Teams keeps starting on boot\n2) someone clicked a"
     " link and typed her password into a fake Microsoft page, and now there are emails in her sent items"
     " she didn't send", 1, False),
    ("List", "Morning!\n1. Whenever you have a moment, a new mouse for reception\n2. There is a ransom note"
     " on the server and all the files in the shared drive are encrypted\n3. The calendar was wrong"
     " yesterday but it's ok now", 1, False),
    ("Few small things", "Few small things:\n- new starter on Monday, low priority\n- the accounts mailbox"
     " has a rule forwarding every email to an outside gmail address that nobody set up\n- the projector"
     " was flickering, sorted now", 1, False),
    ("Odds and ends", "Odds and ends, no rush:\n1. the kitchen TV remote\n2. a man rang pretending to be"
     " from IT and Dan let him install remote access on his PC\n3. the printer jam is resolved", 1, False),
]
# Lists of small things the per-item dampeners keep below the threshold.
LISTS_ROUTINE = [
    ("A few things", "A few things, no rush:\n1. the printer in the back is jammed\n2. can Ann have the"
     " shared calendar\n3. the email was down for a minute earlier, fine now", 3, False),
    ("Bits", "When you get a chance:\n- Teams is a bit slow for me\n- my second monitor flickers\n- is"
     " there a spare keyboard", 1, False),
    ("Couple of bits", "Couple of bits:\n1) minor issue: the shared drive is slow in the mornings\n2) the"
     " Wi-Fi in the meeting room drops now and then", 4, False),
    ("Small things", "Small things:\n- the website login was not working yesterday, working again now\n- new"
     " email signature for Tom", 2, False),
    ("Following the outage", "Following last week's outage, a few things to do:\n1. the server is down for"
     " updates tonight\n2. check the backups\n3. replace the UPS battery", 2, False),
    ("After the phishing", "After the phishing incident last month, please:\n- reset every password\n- the"
     " old accounts were compromised, remove them\n- turn on MFA for everyone", 12, False),
    ("Ten minutes", "A few things, no rush:\n1. the email was down for everyone for ten minutes earlier,"
     " fine now\n2. can you add Jo to the rota calendar", 4, False),
    ("Slow", "Quick ones when you get a chance:\n- minor issue, the server is slow for all of us after"
     " lunch\n- a new toner for the office", 3, False),
    ("Odds", "Odds and ends, whenever:\n1. the label printer is offline again\n2. low priority: the"
     " projector remote", 2, False),
]


def _variant(drop_recovery: bool = False, whole_ticket: bool = False,
             no_unless: bool = False) -> PolicyConfig:
    """The shipped policy with this round's parts taken out (as asked)."""
    data = copy.deepcopy(default_policy().model_dump(mode="python"))
    em = data["emergency"]
    if drop_recovery:
        em["dampeners"] = [d for d in em["dampeners"] if d["label"] != RECOVERY]
        em["broad_field"]["firm"] = [f for f in em["broad_field"]["firm"] if f != RECOVERY]
    for d in em["dampeners"]:
        if whole_ticket:
            d["scope"] = "ticket"
        if no_unless:
            d["unless"] = []
    return PolicyConfig.model_validate(data)


POLICIES = {"shipped": default_policy(), "before": _variant(drop_recovery=True, whole_ticket=True),
            "whole ticket": _variant(whole_ticket=True), "no unless": _variant(no_unless=True)}
_TICKETS = sorted(set(REAL_RECOVERY + QUIET_RECOVERY + BURIED_REAL + LISTS_ROUTINE)
                  | {(s, d, 30, True) for s, d in REAL_WITH_QUIET_WORDS + REVIEWED}
                  | {(s, d, 1, False) for s, d in ROUTINE + REVIEWED})


@pytest.fixture(scope="module", autouse=True)
def rules_read_ahead() -> None:
    """Every reading of this module in one statement per policy."""
    for policy in POLICIES.values():
        read_ahead(policy, _TICKETS)


def _read(policy: str, case: tuple[str, str, int, bool]) -> tuple[float, list[str], list[str]]:
    return one_ticket_rules(POLICIES[policy], *case)


def test_round_25_has_its_look_alikes():
    assert len(REAL_RECOVERY) >= 12 and len(QUIET_RECOVERY) >= 10
    assert len(BURIED_REAL) >= 6 and len(LISTS_ROUTINE) >= 6


@pytest.mark.parametrize("case", REAL_RECOVERY, ids=lambda c: c[0])
def test_a_real_emergency_in_recovery_words_keeps_its_reading(case):
    confidence, dampeners, rules = _read("shipped", case)
    assert confidence >= default_policy().emergency.min_confidence, (confidence, rules, dampeners)
    assert confidence == _read("before", case)[0], (dampeners, rules)
    assert RECOVERY not in dampeners


def test_without_unless_the_recovery_dampener_silences_real_emergencies():
    # the `unless` wording (the incident still going on) is what keeps them
    silenced = [c[0] for c in REAL_RECOVERY
                if _read("no unless", c)[0] < default_policy().emergency.min_confidence]
    assert len(silenced) >= 6, silenced


@pytest.mark.parametrize("case", QUIET_RECOVERY, ids=lambda c: c[0])
def test_recovery_after_an_incident_is_quieted(case):
    min_confidence = default_policy().emergency.min_confidence
    confidence, dampeners, rules = _read("shipped", case)
    assert RECOVERY in dampeners, (dampeners, rules)
    assert _read("before", case)[0] >= min_confidence > confidence, (confidence, rules, dampeners)


@pytest.mark.parametrize("case", BURIED_REAL, ids=lambda c: c[0])
def test_an_incident_buried_in_a_list_of_small_things_keeps_its_call(case):
    confidence, dampeners, rules = _read("shipped", case)
    assert confidence >= default_policy().emergency.min_confidence, (confidence, rules, dampeners)
    assert confidence >= _read("before", case)[0]


def test_read_over_the_whole_ticket_the_other_items_silence_the_buried_incidents():
    raised = [c[0] for c in BURIED_REAL
              if _read("whole ticket", c)[0] < default_policy().emergency.min_confidence]
    assert len(raised) >= 2, raised


@pytest.mark.parametrize("case", LISTS_ROUTINE, ids=lambda c: c[0])
def test_a_list_of_small_things_stays_below_the_threshold(case):
    confidence, dampeners, rules = _read("shipped", case)
    assert confidence < default_policy().emergency.min_confidence, (confidence, rules, dampeners)


@pytest.mark.parametrize("case", [(s, d, 30, True) for s, d in REAL_WITH_QUIET_WORDS + REVIEWED]
                         + [(s, d, 1, False) for s, d in ROUTINE + REVIEWED], ids=lambda c: c[0])
def test_the_round_23_and_24_reviewers_texts_keep_their_reading(case):
    assert _read("shipped", case)[0] == _read("before", case)[0]


@pytest.mark.parametrize("case", [c for c in REAL_RECOVERY + QUIET_RECOVERY if "\n" not in c[1]],
                         ids=lambda c: c[0])
def test_without_list_items_a_per_item_dampener_reads_as_a_whole_ticket_one(case):
    assert _read("shipped", case) == _read("whole ticket", case)


def test_with_every_dampener_whole_ticket_the_statement_has_no_segments():
    sql = emergency_rules_sql(POLICIES["whole ticket"])
    assert "string_split_regex" not in sql and "free_" not in sql
    assert "string_split_regex" in emergency_rules_sql(default_policy())


def test_the_per_item_dampeners_are_the_calm_words_only():
    scoped = [d.label for d in default_policy().emergency.dampeners if d.scope != "ticket"]
    assert scoped == PER_ITEM
