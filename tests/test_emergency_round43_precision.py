"""Round 43 (emprec43, issue 19): emergency false alarms where the client tells that the work
still gets done (policy section 4: the business cannot work, no reasonable workaround).

- the calls carried on another way: the number diverted, put or ringing through to a mobile
  ("the work told as still getting done another way"); cancelled where that fallback fails or
  cannot carry the work (term set fallback_fails: one phone for six people, the divert failing);
- mail to or from one outside party failing while everyone else gets it ("one of several down,
  the others working"); cancelled where the rest fails too.

Both dampeners are firm (the structured field counts the team, not who lost the line) and lower
the neighbours' vote (vote_dampened_by), so the look-alikes are read through the whole classifier
as well as the rules alone. Each family was found in other batches of the bank before it was
written (diverts: batches 14, 61, 64, 65, 68, 69, 75; one outside party: 11, 33, 64, 66, 71, 76).
Three phrasings each (terse, rambling, careful non-native English) and near tickets that must
still be called; the texts are my own, none a batch's.
"""

from policy.config import default_policy
from tests.dampener_look_alikes import LookAlikes
from tests.rule_matches import read_ahead_fixture
from tests.shipped_calls import calls_fixture

STILL = "the work told as still getting done another way"
SEVERAL = "one of several down, the others working"

NOT_CALLED = [
    # the calls diverted to a mobile: terse, rambling, careful non-native English
    ("Phones down", "phones down since 9. calls diverted to my mobile for now.", "Phone", 6, False,
     STILL),
    ("Landline dead at the front desk", "Hi all, so the main landline at the front desk has been "
     "completely dead since about half nine this morning, no dial tone at all, and we think it's "
     "the cable outside because the road is being dug up. I've set up the divert so everything now "
     "rings through to the reception mobile, and that's working okay. Could you chase the phone "
     "company for us when you get a minute?", "Phone", 8, True, STILL),
    ("Telephone not working", "Hello, our telephone in the office is not working from the morning, "
     "nobody can call us. I have put the calls to my mobile phone, so now the customers are calling "
     "there. Please can you check with the provider. Thank you", "Phone", 5, False, STILL),
    # mail to one outside party failing, everyone else getting it
    ("Bounces to one customer", "emails to one customer's domain bouncing since yesterday. other "
     "customers fine.", "Email", 4, False, SEVERAL),
    ("Mail to our accountants bouncing", "Morning! Since Tuesday anything we send to people at our "
     "accountants' firm is bouncing back with some message about the recipient server refusing it. "
     "Everyone else gets our emails fine as far as I can tell, it's only them. Would you mind "
     "having a look when you can?", "Email", 6, False, SEVERAL),
    ("Mails bouncing", "Good day. The mails we send to the hospital addresses are bouncing with an "
     "error since Monday. Mails to everybody else are going fine. Please can you look? Kind "
     "regards", "Email", 5, False, SEVERAL),
]

CALLED = [
    # the fallback cannot carry the work, or fails too
    ("Phones dead", "Phones dead since ten. We diverted the main number to my mobile but it's just "
     "one phone and we have six people trying to take bookings, the queue is building.", "Phone", 6,
     True),
    ("Phones dead everywhere", "All our phones are dead since 10. I tried to divert the number to "
     "the office mobile but the divert is not working either, customers can't reach us at all.",
     "Phone", 7, False),
    # the rest of the mail fails too
    ("All mail bouncing", "Emails to our biggest customer started bouncing this morning and now "
     "everything we send to everyone else is bouncing too, nothing is going out and the order "
     "confirmations are stuck.", "Email", 12, False),
]

LOOK_ALIKES = LookAlikes("round43p", NOT_CALLED, CALLED, frozenset({STILL, SEVERAL}), numbered=True)


def shipped_cases() -> dict[str, list]:
    """The look-alikes and the near tickets, classified with the other modules' cases."""
    return LOOK_ALIKES.cases()


emergency = calls_fixture("emergency", LOOK_ALIKES.case, part="emergency")
rules_read_ahead = read_ahead_fixture(LOOK_ALIKES.rule_cases(), autouse=False)

# The four tests of the shape (tests/dampener_look_alikes.py), under this module's names.
(test_calls_on_a_mobile_or_mail_to_one_party_is_not_called,
 test_a_fallback_that_fails_or_all_mail_down_is_called,
 test_the_rules_read_the_look_alike_by_its_dampener,
 test_the_near_ticket_cancels_the_dampener) = LOOK_ALIKES.tests()


def test_both_readings_are_firm_and_lower_the_vote() -> None:
    """Both dampeners hold against the structured field and lower the neighbours' vote; the
    divert's limit is the shared fallback_fails vocabulary, not a copy of it."""
    em = default_policy().emergency
    assert {STILL, SEVERAL} <= set(em.broad_field.firm)
    assert {STILL, SEVERAL} <= set(em.vote_dampened_by)
    still = next(d for d in em.dampeners if d.label == STILL)
    assert still.unless_sets == ["fallback_fails"]
