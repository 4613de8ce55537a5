"""Round 41 (issue 19): an existing product tailored to the client's way of working is custom
implementation, by what the provider's notes say it did.

`scope_classification.time_signals.note_signals` gains one custom implementation signal: the notes
say a device was locked down to the client's own use (a lockdown or locked-down profile designed,
built or configured), or one sign-in across existing systems mapped to the client's groups or roles.
Such builds name no workflow or connector and were read as nothing. The near tickets carry the same
request with notes of a fix, not a build: nothing is called. Beside them: a device merely enrolled
in device management with a kiosk profile names no lockdown designed, and a sign-in certificate
renewed names no mapping. A second note signal: the notes say the work ran with regular progress
checks (weekly checks, monthly checkpoints): a piece of work with phases, a structured project; its
near ticket, one answer about the same job, is not. The texts were written for this test, none
from a batch.
"""

import pytest

from policy.config import PolicyConfig, default_policy
from tests.shipped_calls import calls_fixture
from tests.test_classify import SHIPPED, _t, _variant, classify

SCREEN = ("People waiting in reception keep closing the sign-in screen on the wall tablet and"
          " browsing the web on it. Can it be made so it only ever shows our sign-in page and"
          " comes back by itself if someone closes it?")
LOGINS = ("Our staff have a password for the rota site, another for expenses and their work email"
          " on top. Could they sign in to all of it once with their work account? Bank staff"
          " don't have work accounts, so they still need a way in.")
TICKETS = [
    # a device locked down to one use, designed by the provider: custom implementation
    _t("lock", "Sign-in tablet keeps getting closed", SCREEN, category="Hardware",
       time=[(150.0, "project", True, "designed locked-down sign-in page profile with self restart", False),
             (60.0, "remote", True, "applied to reception tablet and tested", False)]),
    # near: the same request, the tablet restarted and the page reopened, nothing designed
    _t("lock_near", "Sign-in tablet keeps getting closed", SCREEN, category="Hardware",
       time=[(15.0, "remote", True, "restarted tablet and reopened sign-in page", False)]),
    # one sign-in across the client's existing systems, mapped to its own roles: custom implementation
    _t("sso", "Too many passwords", LOGINS, category="Account",
       time=[(200.0, "project", True, "configured single sign-on for rota and expenses sites with"
              " role mapping by team", False),
             (90.0, "project", True, "separate login route for bank staff", False),
             (45.0, "remote", True, "pilot with office staff", False)]),
    # near: the same request answered with a password reset, nothing built
    _t("sso_near", "Too many passwords", LOGINS, category="Account",
       time=[(15.0, "remote", True, "reset rota site password and showed how to save it in the"
              " browser", False)]),
    # beside: devices enrolled in device management with a kiosk profile, no lockdown designed
    _t("enrol", "Tablets for the drivers", "Can the six new drivers' tablets be managed like the"
       " rest, so we can wipe one if it's lost?", category="Hardware",
       time=[(90.0, "remote", True, "enrolled tablets in device management with kiosk profile", False)]),
    # beside: a sign-in certificate renewed, no mapping
    _t("cert", "Can't sign in to the rota site", "Since this morning nobody can log in to the rota"
       " site with their work account.", category="Account",
       time=[(30.0, "remote", True, "sso certificate between rota site and email expired, renewed",
              False)]),
]
ARCHIVE = ("Years of old delivery notes are sitting in boxes in the store room. We'd like them all"
           " turned into files we can search, saved against the right customer, and the paper"
           " recycled afterwards. A student is starting next month to do the feeding.")
PHASED = [
    # a bulk job run in steps with regular progress checks: structured project
    _t("phased", "Old delivery notes into files", ARCHIVE, category="Other",
       time=[(90.0, "project", True, "agreed file naming and where each batch is saved", False),
             (60.0, "project", True, "fortnightly progress reviews with the student", False)]),
    # near: one answer about the same job, no steps, no checks
    _t("phased_near", "Old delivery notes into files", ARCHIVE, category="Other",
       time=[(15.0, "email", True, "replied with scanner settings to use", False)]),
    # beside a build the notes name (an upload workflow configured): the checks still count, as
    # the id's own evidence (own_evidence_beside keeps a note signal of the id's own)
    _t("phased_beside", "Old delivery notes into files", ARCHIVE, category="Other",
       time=[(120.0, "project", True, "configured scanner upload workflow into the document store", False),
             (90.0, "project", True, "weekly progress checks with the student over six weeks", False)]),
    # near: the same build, no steps or checks logged
    _t("phased_beside_near", "Old delivery notes into files", ARCHIVE, category="Other",
       time=[(120.0, "project", True, "configured scanner upload workflow into the document store", False)]),
]
OWN_LABEL = "the provider's note says it locked a device down or mapped sign-in to the client's groups"
STEPS = "the provider's note says it ran the work with regular progress checks"


@pytest.fixture(scope="module")
def policy() -> PolicyConfig:
    return default_policy(SHIPPED)


def shipped_cases() -> dict[str, list]:
    """The module's tickets, classified with the other modules' cases (tests/shipped_calls.py)."""
    return {"shipped": TICKETS + PHASED}


shipped = calls_fixture("shipped")


@pytest.fixture(scope="module")
def calls_without() -> dict:
    """The same tickets without the round-41 note signal: what it moves."""
    def drop(d: dict) -> None:
        ts = d["scope_classification"]["time_signals"]
        ts["note_signals"] = [n for n in ts["note_signals"] if n["label"] not in (OWN_LABEL, STEPS)]
    scope, _ = classify(_variant(drop), TICKETS + PHASED)
    return scope


@pytest.mark.parametrize("tid", ["lock", "sso"])
def test_an_existing_product_tailored_is_custom_implementation(shipped, tid):
    assert "custom_implementation" in shipped[tid]
    assert OWN_LABEL in shipped[tid]["custom_implementation"][1]


@pytest.mark.parametrize("tid", ["lock", "sso"])
def test_the_note_signal_is_what_calls_it(calls_without, tid):
    assert "custom_implementation" not in calls_without[tid]


@pytest.mark.parametrize("tid", ["lock_near", "sso_near"])
def test_the_same_request_fixed_not_built_calls_nothing(shipped, calls_without, tid):
    assert "custom_implementation" not in shipped[tid]
    assert set(shipped[tid]) == set(calls_without[tid])


@pytest.mark.parametrize("tid", ["enrol", "cert"])
def test_notes_of_enrolment_or_repair_are_not_read_as_tailoring(shipped, tid):
    assert all(OWN_LABEL not in str(call[1]) for call in shipped[tid].values())


def test_work_run_with_regular_progress_checks_is_a_structured_project(shipped, calls_without):
    assert "structured_project" in shipped["phased"]
    assert STEPS in shipped["phased"]["structured_project"][1]
    assert "structured_project" not in calls_without["phased"]


def test_one_answer_about_the_same_job_is_not(shipped, calls_without):
    assert "structured_project" not in shipped["phased_near"]
    assert set(shipped["phased_near"]) == set(calls_without["phased_near"])


def test_progress_checks_beside_a_build_still_count(shipped):
    assert "structured_project" in shipped["phased_beside"]
    assert STEPS in shipped["phased_beside"]["structured_project"][1]
    assert "structured_project" not in shipped["phased_beside_near"]
