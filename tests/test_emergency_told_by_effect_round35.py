"""Security incidents told by their effect, and security false alarms the writer explains (policy
section 4; docs/classification.md, "Round 35: security incidents told by their effect"), read
through the emergency rules alone: mail moved into a folder its owner never made, a shop or its
link taking visitors to a gambling site, a machine strained by a process its user does not know
after a free download; a login alert the writer explains as their own ("turns out it was me"),
which takes back even a rule that names the incident by its nature, and a security tool flagging
the client's own software. Each with look-alikes. The texts are my own, none a batch's.
"""

import pytest

from policy.config import PolicyConfig, default_policy
from tests.rule_matches import read_ahead_fixture, shipped_reading

FOLDER = "mail moved into a folder its owner never made"
HIJACKED = "website defaced or hijacked"
MINER = "a machine strained by an unknown process after a free download"
PROMPTS = "sign-in approval prompts nobody started"
TAKEN_BACK = "a security alarm taken back in the same ticket"
OWN_SOFTWARE = "a security tool flagging our own software (a false positive)"

CALLED = [
    (FOLDER, "Missing replies", "Replies from our accountant stopped reaching my inbox last week. They "
     "are all going into a folder called 'Archive2' and I never made that folder."),
    (FOLDER, "emails gone?", "Found all the emails from the bank in a subfolder named '..' that nobody "
     "here created. Not a big deal, I dragged them back, just thought you should know."),
    (HIJACKED, "Website", "When customers tap our salon's link on Facebook it takes them to a betting "
     "site. Probably a glitch on their end?"),
    (HIJACKED, "shop", "Our online store sometimes redirects visitors to a pharmacy advert, only on "
     "phones. Not sure what's going on."),
    (MINER, "laptop slow and hot", "Since I installed a free PDF converter from some site my laptop "
     "fans are roaring all day and there's a process called 'chrome_helpr' I don't recognise."),
]


@pytest.mark.parametrize(("label", "subject", "description"), CALLED)
def test_an_incident_told_by_its_effect_is_called(label, subject, description):
    called, confidence, _dampeners, rules = shipped_reading(subject, description)
    assert label in rules and called, (confidence, rules)


NOT_MET = [
    (FOLDER, "Folders", "Can you create a folder in my mailbox for supplier invoices and a rule to "
     "move them into it?"),
    (FOLDER, "Junk", "Emails from the school keep going into my junk folder. I didn't change anything."),
    (FOLDER, "Where did they go", "I made a folder for the Henderson job and now the emails I moved into "
     "it have disappeared."),
    (HIJACKED, "Block sites", "Can you block gambling and betting sites on the staff wifi? Someone keeps "
     "going to them at lunch."),
    (HIJACKED, "Sponsor", "We're sponsoring the casino night for the charity - can you add their logo "
     "to our website?"),
    (MINER, "Hot PC", "My PC is running hot and the fans are loud since the summer. Can someone clean it?"),
    (MINER, "Rendering", "I downloaded the free trial of the drawing software, it uses 100% CPU when "
     "rendering. Is my PC too old?"),
]


@pytest.mark.parametrize(("label", "subject", "description"), NOT_MET)
def test_a_look_alike_does_not_meet_the_rule(label, subject, description):
    _called, confidence, _dampeners, rules = shipped_reading(subject, description)
    assert label not in rules, (confidence, rules)


EXPLAINED = [
    # The rule naming prompts nobody started is met ("didn't recognise"), and the writer's own
    # explanation takes it back although the rule is undampened.
    (PROMPTS, TAKEN_BACK, "Sign-in alert", "I had a sign-in alert from a device I didn't recognise. "
     "Turns out it was me on the hotel computer. Just letting you know."),
    ("attack or compromise", OWN_SOFTWARE, "Antivirus", "The antivirus quarantined our own invoicing "
     "script as malware this morning, it's the one Dev wrote last year. Can you add an exception?"),
    ("attack or compromise", OWN_SOFTWARE, "Blocked", "Our own installer gets flagged as a trojan on the "
     "new laptops. It isn't a real virus, we built it. Can it be allowed?"),
]


@pytest.mark.parametrize(("rule", "label", "subject", "description"), EXPLAINED)
def test_an_alarm_the_writer_explains_is_no_call(rule, label, subject, description):
    called, confidence, dampeners, rules = shipped_reading(subject, description)
    assert rule in rules and label in dampeners and not called, (confidence, rules, dampeners)


STILL_CALLED = [
    # An act on a lure cancels the explanation: the alert was the writer, fooled.
    # (Not "it was me": the older false-alarm dampener reads that with no `unless`.)
    (TAKEN_BACK, "Login alert", "Login alert from Lagos. Turns out that was us in a way - I clicked a "
     "link in a fake invoice email yesterday and typed my password there."),
    # A detection of something that is not the client's own software stays an incident.
    (OWN_SOFTWARE, "Trojan", "Defender quarantined a trojan from an invoice attachment Pat opened this "
     "morning, and her PC keeps popping up windows."),
]


@pytest.mark.parametrize(("label", "subject", "description"), STILL_CALLED)
def test_an_incident_beside_an_explanation_is_still_called(label, subject, description):
    called, confidence, dampeners, rules = shipped_reading(subject, description)
    assert called and label not in dampeners, (confidence, rules, dampeners)


def _with(update: dict, dampener: str | None = None) -> dict:
    data = default_policy().model_dump()
    if dampener is None:
        data["emergency"]["learned_model"].update(update)
    else:
        for damp in data["emergency"]["dampeners"]:
            if damp["label"] == dampener:
                damp.update(update)
    return data


def test_the_new_settings_refuse_a_bad_value():
    assert PolicyConfig.model_validate(_with({"lift_from": 0.2})).emergency.learned_model.lift_from == 0.2
    with pytest.raises(Exception, match="lift_from"):
        PolicyConfig.model_validate(_with({"lift_from": 1.5}))
    with pytest.raises(Exception, match="reaches_undampened"):
        PolicyConfig.model_validate(_with({"reaches_undampened": "sometimes"}, TAKEN_BACK))


rules_read_ahead = read_ahead_fixture([(s, d, 1, False) for _label, s, d in CALLED + NOT_MET + STILL_CALLED]
                                      + [(s, d, 1, False) for _rule, _label, s, d in EXPLAINED])


def test_a_p_below_lift_from_lifts_nothing(tmp_path):
    # Round 35: below the call threshold and not raised, p lifts the reading (weight_below); with
    # lift_from, a p below it (one that would hold a call) lifts nothing: the reading is the one
    # weight_below 0 gives. A p at or above lift_from lifts as before.
    from evaluation.datasets import fit_emergency_model_on_files
    from tests.test_emergency_model import _policy, _reading, _write

    labelled = _write(tmp_path / "labelled.csv")
    text = ("Tills", "The tills at the York shop are slow today")

    def reading(**learned) -> float:
        policy = _policy(labelled, raise_at=None, **{"weight_below": 0.3, **learned})
        return _reading(policy, fit_emergency_model_on_files(policy, [labelled]), *text, vote=0.0)[1]

    unlifted, lifted = reading(weight_below=0.0), reading(lift_from=None)
    assert unlifted < lifted < 0.5, (unlifted, lifted)
    assert reading(lift_from=1.0) == unlifted
    assert reading(lift_from=0.0) == lifted
