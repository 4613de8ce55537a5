"""Round 44 (emprec44, issue 19): emergency false alarms where the outage words tell work asked
for, not a system lost now (policy section 4: planned work is not an outage).

- a neglected set-up asked to be put in order: a comms cupboard like spaghetti, a network "a
  mess" left by the old IT person, a full tidy or clean-up, everything to be labelled and what is
  dead taken out ("nobody knows what's plugged into what" is the mess, not an outage);
- "down" told of a job to be done, not of a state: a server an upgrade needs down for two hours,
  a system the client cannot have down in the week, servers to be shut down properly before a
  power cut, tablets to be locked down;
- device management asked for (phones and laptops managed centrally, lost ones to be wiped), told
  with the loss that prompted it or might happen: no device gone now (a loss told as of now, "last
  night", cancels it).

The first two are firm (the structured field counts who the work touches). Each family was found
in other batches of the bank before it was written (the mess: batches 7, 12, 14, 18, 21, 22, 25,
27, 35, 36, 38, 41, 42, 55, 58, 59, 60, 70, 77, 78; "down" of a job: 2, 4, 5, 9, 12, 13, 15, 16,
24, 28, 29, 30, 35, 36, 48, 54, 55, 59, 60, 62, 64, 71, 72, 73, 77; device management: 9, 13,
15, 31, 44, 48, 59, 64, 68). Three phrasings each (terse,
rambling, careful non-native English) and near tickets that must still be called; the texts are
my own, none a batch's.
"""

from policy.config import default_policy
from tests.dampener_look_alikes import LookAlikes
from tests.rule_matches import read_ahead_fixture
from tests.shipped_calls import calls_fixture

MESS = "a neglected set-up asked to be put in order"
JOB = "down told of a job to be done, not of a state"
DEVICES = "device management asked for, no device lost now"

NOT_CALLED = [
    # a neglected set-up asked to be put in order: terse, rambling, careful non-native English
    ("Server room", "server cupboard is a rats nest, nobody knows which cable is the internet. "
     "can you come and sort it out properly.", "Network", 30, False, MESS),
    ("Network tidy when you can", "Hi both, since our last IT person left the network has been a "
     "bit of a mystery - there are three switches nobody can log in to, cables everywhere, and "
     "nothing is labelled, so when anything went down last year it took ages to find. Could you "
     "do a full tidy-up, label everything and take out whatever's dead? Evenings are fine.",
     "Network", 25, False, MESS),
    ("Cleaning of the accounts", "Hello. Our user accounts are in a bad state: many old accounts "
     "of people who left, nobody is sure who is admin. We want a complete clean-up of all the "
     "accounts. Thank you", "Account", 40, False, MESS),
    # "down" told of a job to be done: terse, rambling, careful non-native English
    ("Firewall update", "firewall update needs the internet down for 20 mins. do it after 6 "
     "please, everyone is on the phones till then.", "Network", 20, False, JOB),
    ("Tablets for the vans", "Morning! We've got the new tablets for the engineers' vans at last, "
     "all 15 of them. Could you set them up so they only run the job app and the camera, and lock "
     "them down so nobody can install games on them like last time? No rush on it.", "Hardware",
     15, False, JOB),
    ("Moving the database", "Good day. The accounts database must move to the new server. We "
     "cannot have the accounts system down during the month end, so please plan it for the 3rd. "
     "Kind regards", "Server", 12, False, JOB),
    # device management asked for, the loss past or a what-if
    ("Phones for the drivers", "bought 10 phones for the drivers. want them managed centrally so we "
     "can wipe lost ones. what do you recommend", "Hardware", 10, False, DEVICES),
    ("Intune?", "Morning! After Jo's laptop went walkabout on the train last spring the partners "
     "have finally agreed we should get all the laptops and phones into Intune, with encryption and "
     "remote wipe and the lot. Could you send us a plan and a rough price?", "Security", 20, False,
     DEVICES),
    ("Management of tablets", "Hello. We have 25 tablets for the warehouse. Please set up device "
     "management so we can lock or wipe them if one is stolen. Thank you", "Hardware", 25, False,
     DEVICES),
]

CALLED = [
    # an outage of now beside a mess, or a server that shut itself down
    ("Internet down for everyone", "Internet has been down for everyone since 9 - nobody can get "
     "onto email or the booking system and the phones are dead. Customers are waiting.",
     "Network", 25, False),
    ("Server shut itself down", "The server room aircon failed and the server shut itself down "
     "ten minutes ago. Nobody can open any files or the accounts system.", "Server", 30, False),
    ("Tills down", "All the tills went down at 11 and none of them will come back on. We can't "
     "take any payments and the queue is out of the door.", "Hardware", 8, True),
    # a device lost now, management named as missing
    ("Laptop stolen", "My work laptop was stolen from the car last night. It has client files and "
     "email on it and we don't have Intune or anything to wipe it. What do we do?", "Security", 1,
     False),
]

LOOK_ALIKES = LookAlikes("round44p", NOT_CALLED, CALLED, frozenset({MESS, JOB, DEVICES}), numbered=True)


def shipped_cases() -> dict[str, list]:
    """The look-alikes and the near tickets, classified with the other modules' cases."""
    return LOOK_ALIKES.cases()


emergency = calls_fixture("emergency", LOOK_ALIKES.case, part="emergency")
rules_read_ahead = read_ahead_fixture(LOOK_ALIKES.rule_cases(), autouse=False)

# The four tests of the shape (tests/dampener_look_alikes.py), under this module's names.
(test_a_mess_to_tidy_a_job_taking_a_system_down_or_device_management_is_not_called,
 test_an_outage_of_now_a_server_that_shut_itself_down_or_a_device_lost_now_is_called,
 test_the_rules_read_the_look_alike_by_its_dampener,
 test_the_near_ticket_cancels_the_dampener) = LOOK_ALIKES.tests()


def test_the_readings_reach_what_they_should() -> None:
    """The set-up and the job hold against the structured field and lower the outage criteria
    only; device management lowers the security reading, its undampened lost-device rule too, and
    only where a portable device is named."""
    em = default_policy().emergency
    devices = next(d for d in em.dampeners if d.label == DEVICES)
    assert devices.applies_to == ["suspected_security_incident"] and devices.reaches_undampened
    assert devices.only_with_sets == ["portable_device"]
    assert {MESS, JOB} <= set(em.broad_field.firm)
    for label in (MESS, JOB):
        damp = next(d for d in em.dampeners if d.label == label)
        assert set(damp.applies_to) == {"business_critical_outage", "major_disruption"}
