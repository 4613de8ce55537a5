"""Round 44 (emrec44, issue 19): emergencies told without emergency words that the rules did not
read (config/policy.yaml, the round 44 terms, rules and dampener; docs/classification.md, "Round 44:
emergency recall, what unseen writers tell without emergency words").

- calls to the business's own number not reaching it (rings out, a dead or engaged tone, nothing
  coming in): the one way in for the people it serves dead (policy section 4: a major disruption);
- something done on or from the business's account that its owners disown ("not me", "none of us
  did", "I didn't send it"): a password or address changed, a sign-in, a message sent in its name
  (a suspected security incident);
- a physical event at the site (a power cut, a fire, a leak) and what it took out not back
  (a business-critical outage, read with the criterion's dampeners: planned, over, one device).

Per reading fresh phrasings in different registers (terse, rambling, careful non-native English)
that must be called, and near tickets of their limits that must not: the calls rerouted and told
as still reaching the business, one person's own phone, a supplier's line, a fault with "I didn't
change anything", a setting a colleague changed. Every ticket goes through the whole classifier
(the final call). The texts are my own, none a batch's.
"""

from policy.config import default_policy
from tests.dampener_look_alikes import RuleLookAlikes, missing_term_set_refused
from tests.shipped_calls import calls_fixture

CALLS = "calls to our own number not reaching us"
DISOWNED = "an act on our account its owners disown"
REROUTED = "calls rerouted and still reaching us"
SITE = "a physical event at the site taking its systems out"
# Round 44's rules joining emergency.learned_model.by_nature (pinned in tests/test_emergency_round21.py
# and tests/test_emergency_model.py): none. Named there, forward chaining fold 75 (nobody read it)
# gained a false alarm through the exemption (30/4/4 -> 30/5/4); without them it is as before.
ROUND_44_BY_NATURE: list[str] = []

# (rule, subject, description, affected users): each must be called, on the rule named
CALLED = [
    # calls to our own number not reaching us
    (CALLS, "phones", "main number rings out since 9. customers can't get through. rang it from my "
     "mobile, same.", 1),
    (CALLS, "Our booking line", "Sorry to bother you, I think something is wrong with our booking line, a "
     "couple of clients have messaged on Facebook to say they have been trying all morning and it just "
     "gives an engaged tone, and nobody has rung in since we opened which never happens on a Monday.", 2),
    (CALLS, "Problem with the emergency number", "Good evening. Our emergency number for the residents is "
     "going straight to a dead tone since around 18:00. I have tested it from my own mobile. Nobody can "
     "reach us tonight and I am the only one on duty.", 1),
    # an act on our account its owners disown
    (DISOWNED, "shop account", "someone's changed the password on the shop account. wasn't me. can't get "
     "in now.", 1),
    (DISOWNED, "Strange email to our clients", "Hi, a few of our clients have rung to ask about an email "
     "from our accounts address asking them to update their payment details. None of us sent it, and "
     "nobody here has heard of it. What should we do?", 3),
    (DISOWNED, "My mailbox", "Good morning. The app shows somebody signed in to my mailbox from another "
     "city during the night. It was not me, I was sleeping. Please can you check it.", 1),
    # a physical event at the site taking its systems out
    (SITE, "after the storm", "lightning hit the yard last night. booking pc and tills all dead this "
     "morning.", 1),
    (SITE, "Kitchen leak", "Good morning, there was a water leak from the kitchen upstairs into the "
     "cupboard with the router and the server, and since then the server will not come back on. We "
     "opened at 9 and cannot do anything.", 1),
]

# (rule, subject, description, affected users): each must not be called
NOT_CALLED = [
    # the calls rerouted and told as reaching us: the limit, lowered by its dampener
    (CALLS, "office line", "The office number keeps ringing out today, so I have diverted it to the front "
     "desk mobile and customers can still get through to us. Can you look at why when you get a chance?", 1),
    # one person's own phone, not the business's number
    (CALLS, "my phone", "My mobile keeps ringing out when the office calls me, I think it is the signal at "
     "home. Could you check my phone settings?", 1),
    # a supplier's line, not ours
    (CALLS, "Supplier", "Trying to ring our paper supplier to chase an order and their phone just rings "
     "out. Do you have another contact for them?", 1),
    # a fault told with "I didn't change anything": no act on the account
    (DISOWNED, "Outlook", "Outlook stopped showing my calendar this morning. I didn't change anything, not "
     "me I promise. Can you have a look?", 1),
    # a setting a colleague changed, nothing on an account
    (DISOWNED, "Wallpaper", "Someone changed the wallpaper on the reception PC to a cat. Not me! Can you "
     "put the old one back?", 1),
    # a power cut planned for later: nothing is down now
    (SITE, "Power off Sunday", "The landlord is switching the power off on Sunday for new wiring. Last "
     "time the server did not come back on by itself, could someone be here to start it up?", 1),
    # over: everything back on before the ticket
    (SITE, "power cut", "We had a short power cut at 10. Everything came back on fine after, just letting "
     "you know.", 1),
]

LOOK_ALIKES = RuleLookAlikes("r44", CALLED, NOT_CALLED)


def shipped_cases() -> dict[str, list]:
    """The cases, classified with the other modules' cases in the session's one call."""
    return {"round44_recall": LOOK_ALIKES.tickets()}


emergency = calls_fixture("emergency", "round44_recall", part="emergency")

# The two tests of the shape (tests/dampener_look_alikes.py), under this module's names.
test_an_emergency_told_without_its_words_is_called, test_a_near_ticket_is_not_called = LOOK_ALIKES.tests()

# the rerouted calls meet the calls rule and are lowered by its limit
test_rerouted_calls_are_lowered_by_their_limit = LOOK_ALIKES.limits_test([(0, REROUTED)])


def test_the_new_rules_are_held_out_of_by_nature():
    # measured on fold 75: the exemption from the learned hold cost a false alarm
    assert not {CALLS, DISOWNED} & set(default_policy().emergency.learned_model.by_nature)


def test_the_rerouted_limit_is_firm_for_a_broad_field():
    # the field counts the callers: a broad ticket's calls rerouted and reaching us are still lowered
    assert REROUTED in default_policy().emergency.broad_field.firm


test_a_rule_naming_a_missing_term_set_is_refused = missing_term_set_refused([
    "calls_not_reaching", "our_number", "account_acted", "disowned", "site_event", "not_back",
])
