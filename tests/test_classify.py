"""Scope-exclusion and emergency classifiers (assets/classify.py): rules, evidence, config, evaluation."""

from pathlib import Path

import duckdb
import pytest
import yaml

from assets.classify import CLF_TICKETS_COLUMNS, CLF_TIME_COLUMNS, emergency_sql, scope_hits_sql
from assets.semantic import ExemplarBank, builtin_bank, prepare_votes
from evaluation.evaluate import LABELLED, evaluate, load_demo, load_labelled, parse_time_entries
from policy.config import SCOPE_EXCLUSION_IDS, PolicyConfig, PolicyConfigError, load_policy
from policy.paths import PROJECT_ROOT

SHIPPED = PROJECT_ROOT / "config" / "policy.yaml"

# (ticket_id, subject, description, category, affected_users, declared, priority, time entries)
Ticket = tuple[str, str, str, str, int, bool, str | None, list[tuple[float, str, bool, str | None, bool]]]


def _t(tid: str, subject: str, description: str = "", category: str = "", affected: int = 1,
       declared: bool = False, priority: str | None = None,
       time: list[tuple[float, str, bool, str | None, bool]] | None = None) -> Ticket:
    return (tid, subject, description, category, affected, declared, priority, time or [])


def classify(policy: PolicyConfig, tickets: list[Ticket], bank: ExemplarBank | None = None,
             con: duckdb.DuckDBPyConnection | None = None) -> tuple[dict, dict]:
    """Run both SQL statements (rules + semantic vote) over tickets as clf_tickets / clf_time."""
    con = con or duckdb.connect()
    con.execute("""CREATE TEMP TABLE clf_tickets (ticket_id VARCHAR, subject VARCHAR, description VARCHAR,
        category VARCHAR, declared_emergency BOOLEAN, priority VARCHAR, affected_users INTEGER)""")
    con.execute("""CREATE TEMP TABLE clf_time (ticket_id VARCHAR, minutes DOUBLE, work_type VARCHAR,
        billable BOOLEAN, note VARCHAR, outside_hours BOOLEAN)""")
    con.executemany("INSERT INTO clf_tickets VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [(t[0], t[1], t[2], t[3], t[5], t[6], t[4]) for t in tickets])
    entries = [(t[0], *e) for t in tickets for e in t[7]]
    if entries:
        con.executemany("INSERT INTO clf_time VALUES (?, ?, ?, ?, ?, ?)", entries)
    prepare_votes(con, policy, bank if bank is not None else _bank(policy))
    scope: dict[str, dict[str, tuple[float, str]]] = {t[0]: {} for t in tickets}
    for tid, scope_id, confidence, evidence, _state in con.execute(scope_hits_sql(policy)).fetchall():
        scope[tid][scope_id] = (confidence, evidence)
    emergency = {row[0]: row[1:] for row in con.execute(emergency_sql(policy)).fetchall()}
    return scope, emergency


_BANKS: dict[int, ExemplarBank] = {}


def _bank(policy: PolicyConfig) -> ExemplarBank:
    """The built-in exemplar bank, built once per policy object."""
    return _BANKS.setdefault(id(policy), builtin_bank(policy, [LABELLED]))


@pytest.fixture(scope="module")
def policy() -> PolicyConfig:
    return load_policy(SHIPPED)


# Each exclusion fires on wording that is not in the labelled evaluation file; the phrase must show up
# in the evidence.
FIRES = [
    _t("m1", "Exchange to Google", "We're moving every mailbox and shared calendar over to Google Workspace.",
       "Email"),
    _t("m2", "Cut over", "Please cut the whole accounts system over to the new cloud platform."),
    _t("ci1", "Purchase approvals", "Build an approval workflow so purchase requests over 1k go to the FD."),
    _t("cs1", "Driver app", "We want a mobile app developed for our couriers to capture signatures."),
    _t("mr1", "Audit actions", "The security audit raised 35 findings across our servers; please remediate "
                               "all of them."),
    _t("cd1", "Policies for ISO", "Please write our ISO 27001 information security policies."),
    _t("pi1", "Telephony", "Please deploy a new VoIP phone system for all 80 staff in both offices."),
    _t("pr1", "Kit for the interns", "Could you order three laptops and three monitors for the interns?"),
    _t("on1", "Comms cupboard", "Could a technician pop over to tidy the comms cabinet on Friday?"),
    _t("sp1", "Warehouse move",
       "We're relocating to a new warehouse; we need a project plan with milestones."),
    _t("ah1", "Firewall upgrade",
       "Please upgrade the firewall firmware on Saturday night when we're closed."),
]
EXPECTED_FIRE = {
    "m1": ("major_migration", "every mailbox"),
    "m2": ("major_migration", "cut the whole accounts system over"),
    "ci1": ("custom_implementation", "approval workflow"),
    "cs1": ("custom_software", "app developed"),
    "mr1": ("major_remediation", "remediate all of them"),
    "cd1": ("compliance_documentation", "iso 27001"),
    "pi1": ("platform_implementation", "phone system"),
    "pr1": ("procurement", "order three laptops"),
    "on1": ("onsite", "technician pop over"),
    "sp1": ("structured_project", "milestones"),
    "ah1": ("planned_after_hours", "firmware on saturday"),
}
# Standard requests that share a word with an exclusion, and negations: no exclusion at all.
QUIET = [
    _t("q1", "Move one user's bookmarks to the new PC", "Can you copy her bookmarks across?",
       "Configuration"),
    _t("q2", "Migrate my Outlook signature to the new laptop", "", "Configuration"),
    _t("q3", "Mailbox quota", "We don't need a migration, just more space in the mailbox."),
    _t("q4", "Printer driver", "No onsite visit needed, please remote in and reinstall the driver."),
    _t("q5", "Reboot", "There's no need to do this after hours, a lunchtime restart is fine."),
    _t("q6", "Columns", "The order of columns in the export changed."),
    _t("q7", "Project folder", "I can't open the Project Phoenix folder."),
    _t("q8", "Monitor", "The monitor we bought last week isn't detected."),
    _t("q9", "Weekend VPN", "I couldn't connect to the VPN at the weekend, it works now."),
    _t("q10", "Startup error", "Can you fix the startup error without rebuilding the whole laptop?"),
    _t("q11", "Licence for new starter",
       "Please assign Emma a Microsoft 365 licence and create her mailbox."),
    _t("q12", "Meeting on Saturday", "How do I schedule a Teams meeting for Saturday morning?"),
]
# Time-entry signals: (ticket, expected scope ids exactly)
TIME = [
    (_t("t1", "Printer jams", "Jams on every job.", time=[(45, "onsite", True, None, False)]), {"onsite"}),
    (_t("t2", "Printer jams", "Jams on every job.", time=[(30, "travel", True, None, False)]), {"onsite"}),
    (_t("t3", "SQL upgrade", "Upgrade SQL Server please.", time=[(120, "remote", True, None, True)]),
     {"planned_after_hours"}),
    (_t("t4", "SQL upgrade", "Upgrade SQL Server please.", time=[(120, "remote", False, None, True)]), set()),
    (_t("t5", "Ransomware on the server", "Files are encrypted on the file server.", affected=20,
        time=[(240, "remote", True, None, True)]), set()),
    (_t("t6", "SQL upgrade", "Upgrade SQL Server please.", priority="P1",
        time=[(120, "remote", True, None, True)]), set()),
    (_t("t7", "Warehouse network", "Continuing the work we discussed.",
        time=[(300, "remote", True, None, False), (360, "remote", True, None, False)]),
     {"structured_project"}),
    (_t("t8", "Mailboxes", "Please migrate all mailboxes to the new tenant.",
        time=[(300, "remote", True, None, False), (360, "remote", True, None, False)]), {"major_migration"}),
    (_t("t9", "Batch", "Continuing.", time=[(60, "remote", True, "Migration batch", False)]), set()),
]
EMERGENCY = [
    (_t("e1", "Email down", "Outlook and webmail are down for the whole company, nobody can send anything."),
     True),
    (_t("e2", "Strange sign-in", "I got an alert about a sign-in from another country that wasn't me."),
     True),
    (_t("e3", "Files encrypted", "All files on the shared drive are encrypted and there's a ransom note."),
     True),
    (_t("e4", "Phishing", "I typed my password into a fake Microsoft page from a link in an email."), True),
    (_t("e5", "ERP not loading", "The ERP won't load.", affected=6), True),
    (_t("e6", "Production halted", "The MES server is offline, production has stopped and there's no "
                                   "workaround."), True),
    (_t("n1", "URGENT!!! my mouse is broken", "Left click does nothing.", declared=True), False),
    (_t("n2", "Outlook slow", "Outlook is slow on my laptop only, everyone else is fine.", declared=True),
     False),
    (_t("n3", "Wrong font", "The font in my signature looks wrong, cosmetic but annoying.", declared=True),
     False),
    (_t("n4", "New starter tomorrow", "Please create an account for the new starter, urgent!", declared=True),
     False),
    (_t("n5", "Phishing email", "Got a phishing email, I didn't click anything, just reporting it."), False),
    (_t("n6", "Clean-up after the ransomware incident", "Please rebuild the laptops after last month's "
                                                       "ransomware attack."), False),
    (_t("n7", "ERP not loading", "The ERP won't load.", affected=1), False),
]
ALL = FIRES + QUIET + [t for t, _ in TIME] + [t for t, _ in EMERGENCY]


@pytest.fixture(scope="module")
def results(policy: PolicyConfig) -> tuple[dict, dict]:
    return classify(policy, ALL)


@pytest.mark.parametrize("tid", list(EXPECTED_FIRE))
def test_each_exclusion_fires_with_its_evidence(results, tid):
    scope, _ = results
    scope_id, phrase = EXPECTED_FIRE[tid]
    assert scope_id in scope[tid], scope[tid]
    confidence, evidence = scope[tid][scope_id]
    assert 0.5 <= confidence <= 1
    assert phrase in evidence


def test_every_exclusion_is_covered_by_a_firing_case():
    assert {scope_id for scope_id, _ in EXPECTED_FIRE.values()} == set(SCOPE_EXCLUSION_IDS)


@pytest.mark.parametrize("tid", [t[0] for t in QUIET])
def test_look_alikes_and_negations_do_not_fire(results, tid):
    scope, _ = results
    assert scope[tid] == {}


@pytest.mark.parametrize(("ticket", "expected"), TIME, ids=[t[0] for t, _ in TIME])
def test_time_entry_signals(results, ticket, expected):
    scope, _ = results
    assert set(scope[ticket[0]]) == expected


def test_time_entry_evidence_is_readable(results):
    scope, _ = results
    assert "onsite time entries: 45 min" in scope["t1"]["onsite"][1]
    assert "outside business hours: 120 of 120 billable min" in scope["t3"]["planned_after_hours"][1]
    assert "project-sized: 11.0 h logged" in scope["t8"]["major_migration"][1]
    # project-sized on its own: structured project work, at a lower confidence than text evidence
    hours_only, evidence = scope["t7"]["structured_project"]
    assert "no other exclusion found" in evidence
    assert hours_only < scope["sp1"]["structured_project"][0]


@pytest.mark.parametrize(("ticket", "expected"), EMERGENCY, ids=[t[0] for t, _ in EMERGENCY])
def test_emergency_qualification(results, ticket, expected):
    _, emergency = results
    qualifies, confidence, evidence, _state = emergency[ticket[0]]
    assert qualifies is expected, evidence
    assert 0 <= confidence <= 1
    assert evidence


def test_emergency_evidence_names_what_matched(results):
    _, emergency = results
    assert "suspected security incident" in emergency["e3"][2] and "ransom" in emergency["e3"][2]
    assert "6 affected users" in emergency["e5"][2]
    assert "dampened: single-user issue" in emergency["n2"][2]
    assert emergency["q6"][2] == "no emergency signal in the text"


def test_every_ticket_gets_one_emergency_row(results):
    _, emergency = results
    assert set(emergency) == {t[0] for t in ALL}


def test_confidence_is_a_probability_everywhere(results):
    scope, emergency = results
    assert all(0 <= c <= 1 and e for hits in scope.values() for c, e in hits.values())
    assert all(0 <= row[1] <= 1 for row in emergency.values())


def _variant(change) -> PolicyConfig:
    data = yaml.safe_load(SHIPPED.read_text())
    change(data)
    return PolicyConfig.model_validate(data)


def _scope(data: dict, scope_id: str) -> dict:
    return next(s for s in data["scope_exclusions"] if s["id"] == scope_id)


def test_terms_come_from_the_config(policy):
    ticket = _t("c1", "Widgetry", "Please frobnicate the gizmo.")
    assert classify(policy, [ticket])[0]["c1"] == {}
    def teach(d: dict) -> None:
        _scope(d, "procurement")["rules"].append(
            {"label": "test phrase", "weight": 0.9, "phrases": ["frobnicat* ... gizmo"]})
        d["scope_classification"]["semantic"]["enabled"] = False  # the rule's own weight, no vote

    taught = _variant(teach)
    confidence, evidence = classify(taught, [ticket])[0]["c1"]["procurement"]
    assert confidence == pytest.approx(0.9) and 'test phrase: "frobnicate the gizmo"' in evidence


def test_thresholds_come_from_the_config(policy):
    ticket = _t("c2", "ERP not loading", "The ERP won't load.", affected=4)
    assert classify(policy, [ticket])[1]["c2"][0] is True
    stricter = _variant(lambda d: d["emergency"].update(min_affected_users=5))
    assert classify(stricter, [ticket])[1]["c2"][0] is False


def test_category_hint_adds_evidence(policy):
    plain = _t("c3", "Laptop for Sam", "Sam needs a laptop.")
    filed = _t("c4", "Laptop for Sam", "Sam needs a laptop.", category="Procurement")
    scope, _ = classify(policy, [plain, filed])
    assert scope["c3"] == {}
    assert 'category: "procurement" (category "procurement")' in scope["c4"]["procurement"][1]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: _scope(d, "onsite")["rules"][0].update(phrases=["on (site"]),
         "scope_exclusions.7.rules.0.phrases.0: Value error, 'on (site': '(' without ')'"),
        (lambda d: _scope(d, "onsite")["rules"][0].update(weight=1.5),
         "scope_exclusions.7.rules.0.weight: Input should be less than 1"),
        (lambda d: _scope(d, "onsite")["rules"][0].update(verbs=["visit"]),
         "give exactly one of: phrases, verbs + objects, all_of"),
        (lambda d: d["emergency"]["criteria"][0]["rules"][0].update(all_of=["outage", "nonsense"]),
         "emergency: Value error, criteria business_critical_outage: rule 'core system down for several"
         " users' names unknown term set(s) nonsense"),
        (lambda d: d["emergency"]["dampeners"][0].update(applies_to=["made_up"]),
         "dampener 'single-user issue': applies_to must name criteria ids (unknown: made_up)"),
        (lambda d: d["scope_classification"]["dampeners"][0].update(applies_to=["made_up"]),
         "applies_to must name scope exclusion ids (unknown: made_up)"),
        (lambda d: d["scope_classification"]["time_signals"].update(after_hours_min_share=0),
         "scope_classification.time_signals.after_hours_min_share: Input should be greater than 0"),
        (lambda d: d["text_matching"]["negation"].update(max_words=99),
         "text_matching.negation.max_words: Input should be less than or equal to 10"),
    ],
)
def test_invalid_classifier_config_names_key_and_problem(tmp_path, change, message):
    data = yaml.safe_load(SHIPPED.read_text())
    change(data)
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(PolicyConfigError) as err:
        load_policy(path)
    assert message in str(err.value)


def test_parse_time_entries():
    rows = parse_time_entries("X1", "travel:40;onsite:210:Fitted AP;remote:90:after:nb")
    assert [(r["work_type"], r["minutes"], r["billable"], r["outside_hours"], r["note"]) for r in rows] == [
        ("travel", 40.0, True, False, None), ("onsite", 210.0, True, False, "Fitted AP"),
        ("remote", 90.0, False, True, None)]


def test_input_contract_columns():
    assert CLF_TICKETS_COLUMNS == ("ticket_id", "subject", "description", "category", "declared_emergency",
                                   "priority", "affected_users")
    assert CLF_TIME_COLUMNS == ("ticket_id", "minutes", "work_type", "billable", "note", "outside_hours")


def test_labelled_file_covers_the_brief():
    data = load_labelled(LABELLED)
    truth = data.truth
    assert len(truth) >= 100
    for scope_id in SCOPE_EXCLUSION_IDS:
        assert sum(scope_id in s for s in truth["true_scope"]) >= 6, scope_id
    assert sum(not s for s in truth["true_scope"]) >= 20
    declared = data.tickets.set_index("ticket_id")["declared_emergency"]
    assert truth["true_emergency"].sum() >= 10
    assert sum(declared[t] and not e for t, e in zip(truth["ticket_id"], truth["true_emergency"],
                                                      strict=True)) >= 5


def test_labelled_evaluation_meets_targets(policy):
    scores = evaluate(load_labelled(Path(LABELLED)), policy)
    assert scores.scope_macro_f1 >= 0.90, scores.per_category
    assert scores.emergency_precision >= 0.90
    assert scores.emergency_recall >= 0.90
    assert all(scores.per_category["f1"] >= 0.8), scores.per_category


def test_demo_ground_truth_evaluates(policy):
    scores = evaluate(load_demo(seed=5, clients=3, months=2), policy)
    assert scores.tickets > 100
    assert scores.scope_macro_f1 >= 0.8
    assert scores.emergency_precision >= 0.8
