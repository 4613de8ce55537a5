"""Round 36 (issue 19): custom software against custom implementation, and planned after-hours.

Software to be written (coded, programmed) with nothing to configure is custom software, not a
custom implementation, however much it reads like an automation between systems: custom
implementation's whole-call dampener "software to be written, nothing to configure". The texts
were written for this test, none from a batch."""

import pytest

from policy.config import PolicyConfig, default_policy
from tests.shipped_calls import calls_fixture
from tests.test_classify import SHIPPED, _t

LABEL = "software to be written, nothing to configure"
TICKETS = [
    _t("write", "Orders into the stock sheet",
       "Every evening someone copies the web shop orders into the stock spreadsheet by hand. Could you"
       " write us a small program that pulls the orders in automatically each night?"),
    _t("something", "Quote from uploads",
       "When a customer uploads a drawing we price it by hand. Could someone write something that reads"
       " the sizes and emails a draft quote to the sales team automatically?"),
    _t("code_change", "Bigger clock on the lobby screen",
       "Could the queue screen in the lobby show the waiting time in large numbers and turn amber after"
       " twenty minutes? I realise this means a change to the software itself, so please quote first."),
    # near tickets: a connector to set up; software and a workflow to configure; staff writing by
    # hand; a fault since a software change
    _t("since_change", "Queue screen frozen", "Since the change to the software last week the queue screen"
       " in the lobby keeps freezing and has to be restarted every morning."),
    _t("connector", "Orders into the stock system",
       "Every evening someone copies the web shop orders into the stock system by hand. The stock system"
       " has a connector for the shop: could you set it up so the orders sync automatically each night?"),
    _t("both", "Orders and approvals",
       "Every evening someone copies the web shop orders into the stock system by hand. Could you write a"
       " small program that pulls the orders in, and configure the stock system's approval workflow for"
       " orders over 500 pounds?"),
    _t("by_hand", "Bookings into the diary",
       "Our receptionists write every booking into the diary by hand. Could the online booking form create"
       " the diary entry automatically when a client submits it?"),
]


@pytest.fixture(scope="module")
def policy() -> PolicyConfig:
    return default_policy(SHIPPED)


def shipped_cases() -> dict[str, list]:
    """The module's two ticket sets, classified with the other modules' cases (tests/shipped_calls.py)."""
    return {"calls": TICKETS, "after_hours": AFTER_HOURS}


calls = calls_fixture("calls")


@pytest.mark.parametrize("tid", ["write", "something"])
def test_software_to_be_written_is_custom_software_only(calls, tid):
    assert "custom_software" in calls[tid]
    assert "custom_implementation" not in calls[tid]


def test_a_change_to_the_softwares_own_code_is_not_a_custom_implementation(calls):
    # the software rule alone (0.6) is held or dropped when the neighbours do not agree, as with the
    # test's bank (the labelled file); the implementation call is gone either way
    assert "custom_implementation" not in calls["code_change"]


def test_a_fault_since_a_software_change_is_no_project(calls):
    assert "custom_software" not in calls["since_change"]
    assert "custom_implementation" not in calls["since_change"]


def test_a_connector_to_set_up_stays_custom_implementation(calls):
    assert "custom_implementation" in calls["connector"]
    assert "custom_software" not in calls["connector"]
    assert LABEL not in calls["connector"]["custom_implementation"][1]


def test_configuring_beside_the_writing_keeps_both(calls):
    assert {"custom_implementation", "custom_software"} <= set(calls["both"])
    assert LABEL not in calls["both"]["custom_implementation"][1]


def test_staff_writing_by_hand_is_not_software_to_write(calls):
    assert "custom_implementation" in calls["by_hand"]
    assert LABEL not in calls["by_hand"]["custom_implementation"][1]


def test_the_dampener_is_a_whole_call_dampener_of_custom_implementation(policy):
    item = next(s for s in policy.scope_exclusions if s.id == "custom_implementation")
    damp = next(d for d in item.dampeners if d.label == LABEL)
    assert damp.whole_call and damp.unless and 0 < damp.factor < 1


# --- planned after-hours: emergency work, and a supplier's maintenance notice -------------------
NOTICE = "asks whether a supplier's maintenance affects them"
AFTER_HOURS = [
    _t("emergency", "Tills all down", "Every till in all four shops stopped taking payments after the update"
       " tonight. Nobody can sell anything and we open at 8. Please call me now.", affected=40, declared=True,
       time=[(60.0, "remote", True, "rolled back the till update", True)]),
    _t("notice", "Supplier maintenance email - does it affect us?", "Our card payment provider emailed:"
       " 'Planned maintenance, the service will be unavailable Sunday 01:00-05:00.' We are closed then."
       " Does this affect us at all?"),
    # near tickets: work the client plans outside hours, for a fault or around a supplier's window
    _t("planned", "Server disk swap out of hours", "The failing disk in the file server needs replacing."
       " Please do it on Saturday morning when the office is closed so nobody loses access.",
       time=[(90.0, "remote", True, "replaced disk and rebuilt array", True)]),
    _t("around_notice", "Firewall update during the supplier's window", "Our internet provider has a"
       " maintenance window on Sunday night anyway, will it affect us? Please schedule the firewall"
       " firmware update for the same night and be on call until it is back.",
       time=[(45.0, "remote", True, "updated firewall firmware in the window", True)]),
]


after_hours = calls_fixture("after_hours")


def test_an_emergency_fixed_at_night_is_not_planned_after_hours(after_hours):
    assert "planned_after_hours" not in after_hours["emergency"]


def test_a_suppliers_maintenance_notice_is_not_planned_after_hours(after_hours):
    assert "planned_after_hours" not in after_hours["notice"]


def test_work_the_client_plans_out_of_hours_stays(after_hours):
    assert "planned_after_hours" in after_hours["planned"]
    assert "planned_after_hours" in after_hours["around_notice"]
    assert NOTICE not in after_hours["around_notice"]["planned_after_hours"][1]


@pytest.mark.parametrize("value", [0, -0.5, 1.5])
def test_a_wrong_emergency_after_hours_factor_is_refused(value):
    data = default_policy(SHIPPED).model_dump()
    data["scope_classification"]["time_signals"]["emergency_after_hours_factor"] = value
    with pytest.raises(ValueError):
        PolicyConfig.model_validate(data)
