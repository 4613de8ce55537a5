"""Round 13 (docs/classification.md): the learned emergency signal, fitted on labelled files, scored
in SQL, a vote on the emergency reading."""

import csv
import hashlib
import json
import re
from pathlib import Path

import duckdb
import numpy as np
import pytest

from evaluation.datasets import emergency_inputs, fit_emergency_model_on_files
from logic.emergency import emergency_rules_sql, emergency_sql
from logic.emergency_model import (
    emergency_model,
    emergency_model_json,
    scores_sql,
    stale_reason,
    write_weights,
)
from logic.message import READ_TEXTS, write_messages
from logic.semantic import prepare_votes
from logic.word_model import STOP_WORDS
from policy.config import PolicyConfig, default_policy
from policy.emergency_model import StoredEmergencyModel
from tests.rule_matches import Inputs, create_shared, held, hold_ahead, shared_messages
from tests.test_classify import RULES, SHIPPED, _bank_of, shipped_data
from tests.test_emergency_round41_recall import ROUND_41_BY_NATURE
from tests.test_emergency_round42_recall import ROUND_42_BY_NATURE
from tests.test_emergency_round43_recall import ROUND_43_BY_NATURE
from tests.test_emergency_round44_recall import ROUND_44_BY_NATURE

COLUMNS = ["ticket_id", "subject", "description", "category", "affected_users", "declared_emergency",
           "time_entries", "true_scope", "true_emergency"]
# A shop's tills: "tills frozen" is an emergency in every labelled ticket that says it, in words
# none of the policy's emergency rules read; declared single-user annoyances are not.
ROWS = [
    ("E1", "Tills frozen", "All tills frozen at the Leeds shop, queue building", "Retail", 1, False, True),
    ("E2", "Tills frozen again", "Tills frozen at the Bradford shop since opening", "Retail", 1, False, True),
    ("E3", "Frozen tills", "Shop tills frozen, card payments stuck", "Retail", 1, False, True),
    ("E4", "Tills frozen", "Tills frozen at both counters this morning", "Retail", 1, False, True),
    ("N1", "Mouse broken", "My mouse scroll wheel sticks, urgent please", "Hardware", 1, True, False),
    ("N2", "Logo colour", "The logo on the intranet is the wrong blue, urgent", "Web", 1, True, False),
    ("N3", "Printer jam", "The hall printer jams on page two", "Printing", 1, False, False),
    ("N4", "New starter", "Please set up an account for our new starter Monday", "Account", 1, False, False),
    ("N5", "Mouse again", "Mouse pointer jumps about, urgent for me", "Hardware", 1, True, False),
    ("N6", "Font", "Wrong font on the letterhead template, urgent", "Software", 1, True, False),
]


def _write(path: Path, rows=ROWS) -> Path:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        for tid, subject, description, category, users, declared, emergency in rows:
            w.writerow([tid, subject, description, category, users, str(declared).lower(), "", "",
                        str(emergency).lower()])
    return path


def _policy(labelled: Path, model_file: Path | None = None, **learned) -> PolicyConfig:
    data = shipped_data()
    data["scope_classification"]["semantic"]["exemplar_files"] = [str(labelled)]
    data["emergency"]["learned_model"].update(
        {"enabled": True, **({"model_file": str(model_file)} if model_file else {}), **learned})
    return PolicyConfig.model_validate(data)


@pytest.fixture(scope="module")
def labelled(tmp_path_factory) -> Path:
    """The module's labelled file, written once: read by its tests, never written (a test that
    changes a labelled file writes its own)."""
    return _write(tmp_path_factory.mktemp("labelled") / "labelled.csv")


# emergency_inputs (the rules, votes and messages of each labelled ticket: about 0.8 s of CPU a
# file) by everything that can change them: the policy but the learned signal's own settings
# (emergency.learned_model, read by the fit and the reading, never by the inputs), and the files'
# paths and contents. The module's tests fit under policies that differ in those settings alone.
_INPUTS: dict[str, tuple] = {}


def _inputs(policy: PolicyConfig, files: list[Path]) -> tuple:
    """emergency_inputs(policy, files), computed once per key above (a copy of the test's own)."""
    data = policy.model_dump(mode="json")
    del data["emergency"]["learned_model"]
    key = hashlib.sha256(json.dumps(data, sort_keys=True).encode())
    for f in files:
        key.update(f"\n{f}\n".encode() + f.read_bytes())
    if key.hexdigest() not in _INPUTS:
        _INPUTS[key.hexdigest()] = emergency_inputs(policy, files)
    rows, truth = _INPUTS[key.hexdigest()]
    return rows.copy(), truth.copy()


def _fit(policy: PolicyConfig, files: list[Path]) -> StoredEmergencyModel:
    """fit_emergency_model_on_files(policy, files) from `_inputs` (test_fitting_is_deterministic
    fits from the files each time)."""
    return fit_emergency_model_on_files(policy, files, inputs=_inputs(policy, files))


def test_fitting_is_deterministic(labelled):
    policy = _policy(labelled)
    first = emergency_model_json(fit_emergency_model_on_files(policy, [labelled]))
    assert first == emergency_model_json(fit_emergency_model_on_files(policy, [labelled]))
    stored = json.loads(first)
    assert "tills frozen" in stored["features"] and "the" not in stored["features"]  # a stop word
    assert {"=declared", "=log_users", "=rules", "=vote", "=category:retail"} <= set(stored["features"])
    weight = dict(zip(stored["features"], stored["weights"][1:], strict=True))
    assert weight["tills frozen"] > 0 > weight["urgent"]


def _tokens(text: str) -> set[str]:
    """An independent Python reading of the tokenisation (the SQL's reference)."""
    toks = [t for t in re.split(r"[^a-z0-9]+", text.lower())
            if len(t) >= 2 and not t.isdigit() and t not in STOP_WORDS]
    return set(toks) | {f"{a} {b}" for a, b in zip(toks, toks[1:], strict=False)}


def test_sql_scoring_equals_a_numpy_reference(labelled):
    policy = _policy(labelled, signals=[])  # the words and structured signals (round 14's groups: below)
    model = _fit(policy, [labelled])
    rows = [("a", "Tills frozen . whole shop", "Retail", True, 40, 0.3, 0.8),
            ("b", "Mouse broken, urgent (2nd time)", "hardware ", False, None, 0.0, None),
            ("c", "", "", None, 1, 0.9, 0.1)]
    con = duckdb.connect()
    con.execute("CREATE TEMP TABLE x (ticket_id VARCHAR, raw_txt VARCHAR, category VARCHAR,"
                " declared_emergency BOOLEAN, affected_users INTEGER, rule_confidence DOUBLE, vote DOUBLE)")
    con.executemany("INSERT INTO x VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    write_messages(con, None, "x")
    write_weights(con, model)
    sql = {tid: p for tid, p, _, _ in con.execute(scores_sql(policy, "x")).fetchall()}
    w = dict(zip(model.features, model.weights[1:], strict=True))
    for tid, text, category, declared, users, rules, vote in rows:
        z = model.weights[0] + sum(w.get(t, 0.0) for t in _tokens(text))
        z += w.get(f"=category:{category.strip().lower()}", 0.0) if category.strip() else 0.0
        z += w["=declared"] * bool(declared) + w["=log_users"] * np.log(1 + (1 if users is None else users))
        z += w["=rules"] * rules + w["=vote"] * (vote or 0.0)
        assert sql[tid] == pytest.approx(1 / (1 + np.exp(-z)), abs=1e-9), tid


def test_texts_sharing_a_message_score_as_the_message(labelled):
    # With message_only and the words alone the text's words are summed once per message read
    # (round 31): two signed texts of one message, and the message itself, get one p and one set
    # of words; a text without a message of its own reads itself.
    policy = _policy(labelled, signals=[])
    model = _fit(policy, [labelled])
    own = "Tills frozen . All tills frozen at the shop, queue building"
    rows = [("a", own), ("b", f"{own}\n\nKind regards,\nLee Grant\nPractice Manager\n01632 960 777"),
            ("c", f"{own}\n\n--\nJo Ash\n01632 960 001"), ("d", "Mouse broken . urgent please")]
    con = duckdb.connect()
    con.execute("CREATE TEMP TABLE x AS SELECT ticket_id, raw_txt, 'Retail' AS category,"
                " false AS declared_emergency, 1 AS affected_users, 0.0 AS rule_confidence,"
                " 0.0 AS vote FROM (VALUES " + ", ".join(f"('{t}', '{x}')" for t, x in rows)
                + ") v(ticket_id, raw_txt)")
    write_messages(con, None, "x")
    write_weights(con, model)
    assert con.execute("SELECT count(*) FROM clf_read_texts").fetchone()[0] == 2  # b and c read a
    scored = {tid: (p, words_for, words_against)
              for tid, p, words_for, words_against in con.execute(scores_sql(policy, "x")).fetchall()}
    for tid in ("b", "c"):
        assert scored[tid][0] == pytest.approx(scored["a"][0], abs=1e-12)
        assert scored[tid][1:] == scored["a"][1:]
    assert "tills frozen" in scored["a"][1] and scored["d"][0] != pytest.approx(scored["a"][0])


def test_each_files_vote_is_taken_without_its_own_tickets(labelled, tmp_path):
    # Alone, a file's tickets have only the policy's concepts to vote with: the same text labelled in
    # another file votes for it once both are fitted on.
    other = _write(tmp_path / "other.csv", [("O1", *ROWS[0][1:])])
    policy = _policy(labelled)
    alone, _ = _inputs(policy, [labelled])
    both, truth = _inputs(policy, [labelled, other])
    assert len(both) == len(ROWS) + 1 and truth.sum() == 5
    assert both.loc[0, "vote"] > alone.loc[0, "vote"]  # E1's twin O1 votes for it
    assert list(both["ticket_id"]) == [str(i) for i in range(len(ROWS) + 1)]


def _ticket(subject: str, description: str, declared: bool = False, category: str = "Retail") -> Inputs:
    """What `_reading` writes as clf_tickets for one ticket (`hold_ahead`'s input sets)."""
    def write(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("""CREATE TEMP TABLE clf_tickets AS SELECT 'n1' AS ticket_id, ? AS subject,
            ? AS description, ? AS category, ? AS declared_emergency, NULL::VARCHAR AS priority,
            1 AS affected_users""", [subject, description, category, declared])
    return write


def _reading(policy: PolicyConfig, model: StoredEmergencyModel | None, subject: str, description: str,
             declared: bool = False, category: str = "Retail", voted: bool = True,
             vote: float | None = None) -> tuple:
    """(qualifies, confidence, evidence, state) of one ticket, the vote from a small bank (or `vote`)."""
    con = duckdb.connect()
    _ticket(subject, description, declared, category)(con)
    shared_messages(con)
    # The rules once, shared with the other readings of the same text (their policies differ in
    # the learned signal's settings, not in the rules): the vote and the reading read them.
    create_shared(con, RULES, emergency_rules_sql(policy))
    prepare_votes(con, policy, _bank_of(policy, [("X1", "printer jam", set(), False)]), rules=RULES,
                  text_model=None, emergency_signal=model)
    if not voted:  # a text the vote was not taken on (a month above max_texts_all)
        con.execute("DELETE FROM clf_semantic_emergency")
    if vote is not None:
        con.execute("UPDATE clf_semantic_emergency SET vote = ?", [vote])
    _, qualifies, confidence, evidence, state = con.execute(emergency_sql(policy, rules=RULES)).fetchone()
    return qualifies, confidence, evidence, state


# The texts the tests read through `_reading`: (subject, description[, declared, category]).
TERSE = ("Tills frozen", "Tills frozen at the York shop")  # a terse incident
JUST_ME = ("Tills frozen", "Tills frozen at the York shop, just me")  # the same, one user's own
NEWSLETTER = ("Suspicious newsletter", "I got a suspicious email and clicked the link, the supplier"
              " newsletter", True, "Email")  # a declared false alarm
GRANT = ("Grant form", "Quick one - the grant form asks if the shared drive is encrypted, is it?",
         False, "Security")
UPS = ("UPS swap", "Replacement UPS arrived for the server room, please book the swap,"
       " everything will be down for ten minutes", False, "Hardware")
CALLER = ("Support call", "A man phoned Jo saying he was from our IT company, asked for remote access"
          " and she let him connect to her PC.")
OUTAGE = ("Email", "Email is down for everyone in the office, nobody can send or receive.")
H6 = ("Support call", "Someone phoned claiming to be from Sage support and got Tom to install "
      "TeamViewer.")
ROUND_20 = [("Server cupboard", "Water is leaking into the server room at the depot."),
            ("Our site", "Our website has been defaced, the homepage shows a hacker's message.")]
NOTICE = ("FW: monitor", "see below\n> Host: CD-APP07\n> Condition: Down", False, "Monitoring")
# a signed text, whose message is not the whole text (test_a_ticket_held_ahead_reads_as_it_reads_alone)
SIGNED = ("Tills frozen", "Tills frozen at the York shop\n\nKind regards,\nJo Ash\nShop Manager\n"
          "01632 960 001")
READ_AHEAD = [TERSE, JUST_ME, NEWSLETTER, GRANT, UPS, CALLER, OUTAGE, H6, *ROUND_20, NOTICE, SIGNED]


@pytest.fixture(scope="module", autouse=True)
def rules_read_ahead() -> None:
    """The rules' relation of every ticket this module reads through `_reading`, from one statement
    (tests/rule_matches.py's `hold_ahead`): each reading still runs its own statement on it."""
    hold_ahead(emergency_rules_sql(default_policy(SHIPPED)), [_ticket(*text) for text in READ_AHEAD])


def test_a_ticket_held_ahead_reads_as_it_reads_alone():
    # hold_ahead rests on the rules and the messages reading each ticket on its own fields: what
    # it held for a ticket read with the others is what the statements give that ticket alone.
    sql = emergency_rules_sql(default_policy(SHIPPED))
    alone = duckdb.connect()
    _ticket(*SIGNED)(alone)
    write_messages(alone, None)
    con = duckdb.connect()
    _ticket(*SIGNED)(con)
    assert held(con, sql), "rules_read_ahead held no rows for the ticket"
    shared_messages(con)
    create_shared(con, RULES, sql)
    messages = f"SELECT * FROM {READ_TEXTS} ORDER BY ALL"
    assert con.execute(messages).fetchall() == alone.execute(messages).fetchall() != []
    assert con.execute(f"SELECT * FROM {RULES}").fetchall() == alone.execute(sql).fetchall() != []


def test_the_signal_raises_a_terse_incident_the_rules_leave_uncertain(labelled):
    # An unseen, undeclared, terse ticket: no rule reads an emergency into it ...
    policy = _policy(labelled, raise_at=0.5)
    off = _policy(labelled, enabled=False)
    text = TERSE
    assert not _reading(off, None, *text)[0]
    # ... the words its labelled twins share do, and the evidence names them.
    model = _fit(policy, [labelled])
    qualifies, confidence, evidence, state = _reading(policy, model, *text)
    assert qualifies and confidence >= 0.5, evidence
    assert re.search(r'emergency model 0\.\d+ \(words .*"tills frozen"', evidence), evidence
    # Raised calls are the model's alone: never raised with raise_at off ...
    assert not _reading(_policy(labelled, raise_at=None), model, *text)[0]
    # ... nor on a text the vote was not taken on (the vote is one of its inputs).
    unvoted = _reading(policy, model, *text, voted=False)
    assert not unvoted[0] and "emergency model" not in unvoted[2], unvoted


SINGLE = ["single-user issue"]


def test_a_reading_the_rules_dampened_for_one_user_needs_the_higher_bar(labelled):
    # Round 16 (issue 19): the same terse incident told as one user's own ("just me"): the rules'
    # single-user dampener matched and the field counts one user, so raise_at_dampened applies.
    policy = _policy(labelled, raise_at=0.5, raise_at_dampened=None)
    model = _fit(policy, [labelled])
    text = JUST_ME
    raised = _reading(policy, model, *text)
    assert raised[0] and "dampened: single-user issue" in raised[2], raised
    p = float(re.search(r"emergency model (0\.\d+)", raised[2]).group(1))
    above, below = min(p + 0.05, 1.0), max(p - 0.05, 0.5)

    def bar(at: float) -> PolicyConfig:
        return _policy(labelled, raise_at=0.5, raise_at_dampened=at, dampened_by=SINGLE)

    assert not _reading(bar(above), model, *text)[0]
    assert _reading(bar(below), model, *text)[0]
    # ... and a text no dampener matched keeps raise_at.
    assert _reading(bar(1.0), model, *TERSE)[0]


def test_the_rules_list_the_dampeners_they_applied_by_label():
    # The single-user bar reads this column (not the evidence text): each dampener the text met,
    # by its policy label, in policy order; none met, an empty list.
    from logic.emergency import emergency_rules_sql

    policy = default_policy(SHIPPED)
    con = duckdb.connect()
    con.execute("""CREATE TEMP TABLE clf_tickets AS SELECT * FROM (VALUES
        ('a', 'Tills frozen', 'Tills frozen at the York shop, just me'),
        ('b', 'Tills frozen', 'Tills frozen at the York shop')) t(ticket_id, subject, description)""")
    con.execute("ALTER TABLE clf_tickets ADD COLUMN category VARCHAR DEFAULT 'Retail'")
    con.execute("ALTER TABLE clf_tickets ADD COLUMN declared_emergency BOOLEAN DEFAULT false")
    con.execute("ALTER TABLE clf_tickets ADD COLUMN affected_users INTEGER DEFAULT 1")
    write_messages(con, None)
    rows = dict(con.execute(f"SELECT ticket_id, dampeners FROM ({emergency_rules_sql(policy)})").fetchall())
    assert "single-user issue" in rows["a"] and rows["b"] == [], rows
    labels = [d.label for d in policy.emergency.dampeners]
    assert rows["a"] == [label for label in labels if label in rows["a"]]


def _rules(policy: PolicyConfig, users: list[int], subject: str, description: str) -> dict[int, tuple]:
    """The rules' (confidence, dampeners) of one text told with each count of affected users."""
    from logic.emergency import emergency_rules_sql

    con = duckdb.connect()
    con.execute("CREATE TEMP TABLE clf_tickets AS SELECT 'u' || n AS ticket_id, ? AS subject,"
                " ? AS description, 'Software' AS category, false AS declared_emergency, n AS affected_users"
                " FROM unnest(?::INTEGER[]) t(n)", [subject, description, users])
    write_messages(con, None)
    return {int(t[1:]): (c, d) for t, c, d in con.execute(
        f"SELECT ticket_id, confidence, dampeners FROM ({emergency_rules_sql(policy)})").fetchall()}


def test_a_ticket_broad_by_its_field_is_not_dampened_by_a_word_in_passing():
    # Round 17: a line-of-business system down for the office, with "print" in passing (the
    # peripheral dampener). At 4 affected users the dampener applies; from broad_field's 5 the
    # field's count outweighs the word; with broad_field off it applies whatever the count.
    text = ("JobTrack", "JobTrack won't open, cannot connect to the server. We can't print travellers.")
    policy = default_policy(SHIPPED)
    assert policy.emergency.broad_field.min_affected_users == 5
    peripheral = "a printer or other peripheral, not a core system"
    read = _rules(policy, [4, 18], *text)
    assert read[4][0] < 0.5 and peripheral in read[4][1], read
    assert read[18][0] >= 0.5 and peripheral not in read[18][1], read
    data = shipped_data()
    data["emergency"]["broad_field"] = {"min_affected_users": None, "criteria": []}
    off = _rules(PolicyConfig.model_validate(data), [18], *text)
    assert off[18][0] < 0.5 and peripheral in off[18][1], off
    data["emergency"]["broad_field"] = {"min_affected_users": 5, "criteria": ["no_such_criterion"]}
    with pytest.raises(Exception, match="broad_field.criteria"):
        PolicyConfig.model_validate(data)
    data["emergency"]["broad_field"] = {"min_affected_users": 5, "criteria": []}
    with pytest.raises(Exception, match="broad_field.criteria"):
        PolicyConfig.model_validate(data)


def test_below_the_bar_p_is_evidence_of_weight_below(labelled):
    # Round 17: a reading left below the call threshold and not raised takes p at weight_below
    # (noisy-or); not where the single-user bar applies.
    policy = _policy(labelled, raise_at=None, weight_below=0.0)
    model = _fit(policy, [labelled])
    text = TERSE
    before = _reading(policy, model, *text)
    after = _reading(_policy(labelled, raise_at=None, weight_below=0.3), model, *text)
    p = float(re.search(r"emergency model (0\.\d+) \(words .*\(x0\.3\)", after[2]).group(1))
    assert after[1] == pytest.approx(1 - (1 - before[1]) * (1 - 0.3 * p), abs=0.01), (before, after)
    single = JUST_ME

    def bar(weight: float) -> PolicyConfig:
        return _policy(labelled, raise_at=0.99, raise_at_dampened=0.99, dampened_by=SINGLE,
                       weight_below=weight)

    assert _reading(bar(0.3), model, *single)[1] == _reading(bar(0.0), model, *single)[1]
    with pytest.raises(Exception, match="weight_below"):
        _policy(labelled, weight_below=1.0)


def test_the_signal_holds_an_over_declared_single_user_call(labelled, tmp_path):
    # Declared false alarms: a link clicked in the supplier's own newsletter, labelled not an emergency.
    rows = [*ROWS, *[(f"D{i}", "Suspicious email", f"Clicked the link in the supplier newsletter {i},"
                     " it was their real newsletter", "Email", 1, True, False) for i in range(4)]]
    data = _write(tmp_path / "declared.csv", rows)
    policy = _policy(data, hold_below=0.5, hold_full=None)  # the step (round 28's ramp: test_emergency_hold)
    text = NEWSLETTER
    # The rules call the declared, single-user text an emergency (security wording, a clicked link) ...
    before = _reading(_policy(data, enabled=False), None, *text)
    assert before[0], before
    # ... which the signal, having learnt the newsletter's false alarms, holds: x hold_factor.
    after = _reading(policy, _fit(policy, [data]), *text)
    assert not after[0] and after[1] == pytest.approx(before[1] * 0.5, abs=2e-3), after
    assert re.search(r'emergency model 0\.\d+ disagrees \(words "[a-z ]+"(, "[a-z ]+")*\) \(x0\.5\)',
                     after[2]), after[2]


def test_a_stale_model_is_refused(tmp_path):
    labelled = _write(tmp_path / "labelled.csv")  # its own: the test writes it again
    model_file = tmp_path / "emergency_model.json"
    policy = _policy(labelled, model_file)
    model_file.write_text(emergency_model_json(fit_emergency_model_on_files(policy, [labelled])))
    assert emergency_model(policy) is not None
    _write(labelled, ROWS[:-1])
    with pytest.raises(ValueError, match="stale emergency model .*exemplar_files"):
        emergency_model(policy)
    assert emergency_model(_policy(labelled, model_file, enabled=False)) is None
    with pytest.raises(FileNotFoundError, match="learned_model.model_file"):
        emergency_model(_policy(labelled, tmp_path / "nope.json"))


def test_the_shipped_emergency_model_is_fitted_on_the_bank_as_it_is():
    from policy.paths import PROJECT_ROOT

    policy = default_policy(SHIPPED)
    cfg = policy.emergency.learned_model
    model = StoredEmergencyModel.model_validate(json.loads((PROJECT_ROOT / cfg.model_file).read_text()))
    assert stale_reason(policy, model) is None


def test_the_config_is_validated(labelled):
    with pytest.raises(Exception, match="raise_at"):
        _policy(labelled, raise_at=1.5)
    with pytest.raises(Exception, match="hold_below"):
        _policy(labelled, hold_below=1.0)
    with pytest.raises(Exception, match="raise_at_dampened"):
        _policy(labelled, raise_at=0.5, raise_at_dampened=1.5, dampened_by=SINGLE)
    with pytest.raises(Exception, match="dampened_by names no dampener"):
        _policy(labelled, raise_at=0.5, raise_at_dampened=0.7, dampened_by=[])
    with pytest.raises(Exception, match="dampened_by"):
        _policy(labelled, raise_at=0.5, raise_at_dampened=0.7, dampened_by=["no such dampener"])


def test_round_14_signals_read_a_forwarded_notice_apart_from_prose(labelled):
    # A forwarded tool notice: forwarded, its fields' states as terms of their own (not the prose's
    # words), and a run-on voicemail transcript's words per sentence mark.
    from logic.emergency_model import text_rows_sql

    policy = _policy(labelled, signals=["forwarded", "fields", "speech"])
    con = duckdb.connect()
    con.execute("CREATE TEMP TABLE x AS SELECT * FROM (VALUES"
                " ('FW: backup report . fyi\n> Job: Nightly\n> Status: Completed with warnings'),"
                " ('server down . hi its me the server is down and nobody can work call me back'))"
                " t(raw_txt)")
    write_messages(con, None, "x")
    rows = con.execute(f"SELECT raw_txt[1:2], term, value FROM ({text_rows_sql(policy, 'x')})"
                       " WHERE term LIKE '=%' OR term LIKE 'field:%'").fetchall()
    got = {(t, term): v for t, term, v in rows}
    assert got[("FW", "=forwarded")] == 1.0 and got[("FW", "field:completed")] == 1.0
    assert ("FW", "field:nightly") in got and ("se", "=forwarded") not in got
    assert got[("se", "=run_on")] > got[("FW", "=run_on")]  # one sentence mark in 17 words
    off = text_rows_sql(_policy(labelled, signals=[]), "x")
    assert "field:" not in off and "=forwarded" not in off and "=run_on" not in off


def test_round_15_a_rule_call_on_routine_text_the_signal_denies_is_held_below_hold_below():
    # Unseen routine text with the rules' outage and breadth words: a question about encryption for
    # a grant form. The signal reads it at p 0.05-0.15: called with a hold below 0.05, held with
    # round 15's measured 0.15 (x hold_factor, no call). 0.15 is not shipped: after batch-21/22
    # joined the bank it also dropped a caller posing as IT support (test_classify's h6, p 0.11), a
    # concept issue 19 names (docs/classification.md, round 15). The UPS swap to book and, since
    # round 17's refit (p 0.10), the grant question sit below the shipped hold (0.1): held by it.
    # Round 19's refit (batch-27/28 in the bank) reads the grant question just under 0.05, so the
    # hold that still lets it through is 0.03; the test holds the rule, not one model value.
    # Round 37 (e37b): the rules no longer read the question as files encrypted (the dampener
    # QUESTION below); the hold is tested on the policy with that dampener's factor at 1 (kept in
    # place: the learned signal's inputs list the dampeners a text met), the mend at the end.
    from policy.config import default_policy

    mended = default_policy()
    shipped = mended.model_copy(update={"emergency": mended.emergency.model_copy(update={
        "dampeners": [d.model_copy(update={"factor": 1.0}) if d.label == QUESTION else d
                      for d in mended.emergency.dampeners]})})
    lm = shipped.emergency.learned_model
    assert (lm.raise_at, lm.hold_below) == (0.5, 0.1)

    def hold(at: float) -> PolicyConfig:  # a step at `at` (round 28's ramp above it off)
        return shipped.model_copy(update={"emergency": shipped.emergency.model_copy(update={
            "learned_model": lm.model_copy(update={"hold_below": at, "hold_full": None})})})

    model = emergency_model(shipped)
    grant = GRANT
    # Where the model reads the question moves with each refit (0.04 once batch-29/30 joined the
    # bank, 0.15 once batch-73/74 did): it is read under a hold well above it, then the rule is
    # tested on holds either side of that reading.
    probe = _reading(hold(0.45), model, *grant)
    read = re.search(r"emergency model (0\.\d\d) disagrees", probe[2])
    assert read and float(read[1]) < 0.43, probe[2]
    p = float(read[1])
    before = _reading(hold(max(0.01, p - 0.02)), model, *grant)
    after = _reading(hold(p + 0.02), model, *grant)
    assert before[0] and not after[0], (before, after)
    assert after[1] == pytest.approx(before[1] * lm.hold_factor, abs=2e-3)
    # Round 36's refit (batch-61/62 banked, five by-nature security readings) reads the grant
    # question at p 0.10, the foot of the shipped ramp (hold_below 0.1 -> hold_full 0.2): the hold
    # takes it from 0.98 to 0.507 (review) at round 36, 0.499 (no call) once batch-63/64 are banked
    # and 0.629 (review) after round 37's refit. Where it lands moves with each refit; what holds
    # is that the hold keeps it from a confident call (docs/classification.md, "Batch-63 and
    # batch-64, first seen": the ransomware phrases read a question about encryption at rest;
    # mended at the rules in round 37, below).
    shipped_grant = _reading(shipped, model, *grant)
    assert shipped_grant[3] != "confident" and "disagrees" in shipped_grant[2], shipped_grant
    # Round 37 (e37b): a question is not a report; the shipped rules dampen it and it is not called.
    mended_grant = _reading(mended, model, *grant)
    assert not mended_grant[0] and QUESTION in mended_grant[2], mended_grant
    ups = UPS
    held = _reading(shipped, model, *ups)
    assert not held[0] and re.search(r"emergency model 0\.0\d disagrees", held[2]), held


QUESTION = "a question about encryption, not an attack"  # round 37's dampener (config/policy.yaml)

ROUND_18_BY_NATURE = [
    "someone posing as IT support asking for access",
    "payment diversion (changed bank details)",
    "sign-in approval prompts nobody started",
    "a mailbox rule nobody set",
    "credentials given to a lure",
    "lapsed domain or certificate taking a service down",
]


def test_round_18_a_rule_naming_the_incident_by_its_nature_is_not_held_by_p():
    # A caller posing as IT support and let in (test_classify's h6 concept). With a hold at 0.99
    # every call is held by p; with by_nature naming the impersonation rule, that call is not. An
    # outage rule (not by nature) is held as before.
    from policy.config import default_policy

    shipped = default_policy()
    lm = shipped.emergency.learned_model
    # The owner's decision, option 1 (docs/decisions.md; docs/classification.md, round 18), and
    # round 20's, 21's, 31's, 33's, 34's, 35's, 36's, 40's, 41's, 42's, 43's and 44's rules naming
    # the incident by its nature (docs/classification.md).
    assert lm.by_nature == (ROUND_18_BY_NATURE + ROUND_20_BY_NATURE + ROUND_21_BY_NATURE
                            + ROUND_31_BY_NATURE + ROUND_33_BY_NATURE + ROUND_34_BY_NATURE
                            + ROUND_35_BY_NATURE + ROUND_36_BY_NATURE + ROUND_40_BY_NATURE
                            + ROUND_41_BY_NATURE + ROUND_42_BY_NATURE + ROUND_43_BY_NATURE
                            + ROUND_44_BY_NATURE)
    named = ["someone posing as IT support asking for access"]

    def variant(by_nature: list[str]) -> PolicyConfig:
        return shipped.model_copy(update={"emergency": shipped.emergency.model_copy(update={
            "learned_model": lm.model_copy(update={"hold_below": 0.99, "by_nature": by_nature})})})

    model = emergency_model(shipped)
    caller = CALLER
    spared = _reading(variant(named), model, *caller, vote=0.5)
    assert spared[0] and "not held: the incident by its nature" in spared[2], spared
    held = _reading(variant([]), model, *caller, vote=0.5)
    assert not held[0] and re.search(r"emergency model 0\.\d+ disagrees .*\(x0\.5\)", held[2]), held
    outage = OUTAGE
    assert not _reading(variant(named), model, *outage, vote=0.5)[0]


def test_round_18_h6_is_a_call_only_through_the_by_nature_exemption():
    # test_classify's h6 with the shipped models and the shipped hold: its vote (0.15) and p (0.07)
    # both read "someone phoned" as routine, so it is a call only because the impersonation rule
    # is exempt from the hold; with by_nature empty the same text is held (0.728 x0.5 to x0.7 as
    # the refitted p moves along the hold's ramp, 0.07 at round 18, 0.12 with batch-68 banked: no
    # call; x0.7 with batch-77/78 banked: 0.512, a call left for review). The exemption is what the
    # test pins: the spared reading is the rules' own, the held one lower and told as held.
    from policy.config import default_policy

    shipped = default_policy()
    lm = shipped.emergency.learned_model
    h6 = H6

    def reading(by_nature: list[str]) -> tuple:
        policy = shipped.model_copy(update={"emergency": shipped.emergency.model_copy(update={
            "learned_model": lm.model_copy(update={"by_nature": by_nature})})})
        return _reading(policy, emergency_model(shipped), *h6, vote=0.15)

    spared = reading(lm.by_nature)
    assert spared[0] and "not held: the incident by its nature" in spared[2], spared
    held = reading([])
    assert held[1] < spared[1] and "disagrees" in held[2] and "(x0." in held[2], (spared, held)
    assert held[3] != "confident", held


ROUND_20_BY_NATURE = [
    "physical threat to the servers or comms room",
    "website defaced or hijacked",
]
# Round 21 (tests/test_emergency_round21.py): a lost device, one account's takeover signs, tills.
ROUND_21_BY_NATURE = [
    "a lost or stolen device holding company data",
    "a sign-in prompt approved that nobody started",
    "signed in through a link, then mail sent in the user's name",
    "mail vanishing before anyone sees it",
    "card payments or tills stopped where customers pay",
]
# Round 31 (tests/test_emergency_look_alikes.py, round31): a lapsed domain told by its parking page.
ROUND_31_BY_NATURE = ["our domain showing a parking or for-sale page (lapsed)"]
# Round 33 (tests/test_emergency_data_exposure.py, tests/test_emergency_look_alikes.py): a data
# exposure (someone outside sees data that is not theirs) and a page posing as ours asking our
# customers for card or login details name a security incident by their nature.
ROUND_33_BY_NATURE = ["someone outside seeing data that is not theirs",
                      "a page posing as ours asking for card or login details"]
# Round 34 (tests/test_emergency_data_exposure.py): other people's details sent out to or shown
# to the people a client serves (reminder texts with someone else's name) are a data exposure by
# its nature, told by its effect.
ROUND_34_BY_NATURE = ["other people's details sent out or shown to the wrong people"]
# Round 35 (tests/test_emergency_told_by_effect_round35.py): an unexpected mailbox rule told by its
# effect (mail moved into a folder its owner never made) and a miner told by its effect.
ROUND_35_BY_NATURE = ["mail moved into a folder its owner never made",
                      "a machine strained by an unknown process after a free download"]
# Round 36 (tests/test_emergency_told_by_effect_round36.py): personal data sent by mistake, a lapsed
# domain and a certificate told by their effect, a denied sign-in, the client impersonated.
ROUND_36_BY_NATURE = ["personal data sent by mistake to the wrong people",
                      "website showing a strange page and mail bouncing (a lapsed domain)",
                      "a certificate warning on our public page, reported by its users",
                      "a sign-in its owner denies, at a named time or place",
                      "a message posing as ours asking our customers to pay"]
# Round 40 (tests/test_emergency_round40_recall.py): a payment device stolen, a mailing carrying
# personal data, personal documents open to anyone, a key opening someone else's room, sales at a
# zero price.
ROUND_40_BY_NATURE = ["a card machine or payment device stolen",
                      "personal data in a mailing that should not have carried it",
                      "personal documents open to anyone through a link or a search engine",
                      "a key or pass opening a room that is someone else's",
                      "selling at a zero or wrong price, sales already taken"]


@pytest.mark.parametrize(("subject", "description"), ROUND_20)
def test_round_20_a_physical_threat_or_a_defaced_site_is_not_held_by_p(subject, description):
    # Round 20: the physical threat to the servers (round 19's B25-114 kind) and the defaced
    # website join by_nature ("files encrypted" does not: test_round_15's grant form question).
    # With a hold at 0.99 (every call held by p) and a vote that disagrees, each text is a call
    # through the exemption, and held with round 18's list alone.
    from policy.config import default_policy

    shipped = default_policy()
    lm = shipped.emergency.learned_model

    def reading(by_nature: list[str]) -> tuple:
        policy = shipped.model_copy(update={"emergency": shipped.emergency.model_copy(update={
            "learned_model": lm.model_copy(update={"hold_below": 0.99, "by_nature": by_nature})})})
        return _reading(policy, emergency_model(shipped), subject, description, vote=0.1)

    spared = reading(lm.by_nature)
    assert spared[0] and "not held: the incident by its nature" in spared[2], spared
    held = reading(ROUND_18_BY_NATURE)
    assert not held[0] and "disagrees" in held[2] and "(x0." in held[2], held


def test_by_nature_names_rules(labelled):
    # Round 19: read from the rules' rules_met column, a phrases rule may be named too.
    assert _policy(labelled, by_nature=["attack or compromise"]).emergency.learned_model.by_nature
    with pytest.raises(Exception, match="by_nature: not a rule's label"):
        _policy(labelled, by_nature=["no such rule"])
    with pytest.raises(Exception, match="by_nature: not a rule's label"):
        _policy(labelled, by_nature=["single-user issue"])  # a dampener's label


def test_round_19_the_rules_list_the_rules_they_met_by_label():
    # The by-nature exemption reads this column (not a second reading of the term sets): each rule
    # of the criteria the text met, by its label, in policy order, before dampeners; an all_of
    # rule's several_users met by the words or by affected_users reaching min_affected_users.
    from logic.emergency import emergency_rules_sql
    from policy.config import default_policy

    policy = default_policy()
    broad = policy.emergency.min_affected_users
    down = ("CRM", "The CRM is down, cannot log in.")
    con = duckdb.connect()
    con.execute("CREATE TEMP TABLE clf_tickets (ticket_id VARCHAR, subject VARCHAR, description VARCHAR,"
                " affected_users INTEGER, category VARCHAR DEFAULT 'Software',"
                " declared_emergency BOOLEAN DEFAULT false)")
    con.executemany("INSERT INTO clf_tickets (ticket_id, subject, description, affected_users)"
                    " VALUES (?, ?, ?, ?)", [
                        ("caller", "Support call", "Someone phoned claiming to be from Sage support and"
                         " got Tom to install TeamViewer.", 1),
                        ("one", *down, 1), ("short", *down, broad - 1), ("field", *down, broad),
                        ("words", "CRM", "The CRM is down for everyone in the office.", 1),
                        ("printer", "Printer", "The printer jams on page two.", 1)])
    write_messages(con, None)
    met = dict(con.execute(f"SELECT ticket_id, rules_met FROM ({emergency_rules_sql(policy)})").fetchall())
    several = "something down for several users"  # all_of [outage, several_users]
    assert met["caller"] == ["someone posing as IT support asking for access"], met
    assert several not in met["one"] and several not in met["short"], met
    assert several in met["field"] and several in met["words"], met
    assert met["printer"] == [], met  # a dampener met is not a rule met
    order = [r.label for c in policy.emergency.criteria for r in c.rules]
    assert all(m == sorted(m, key=order.index) for m in met.values()), met


def test_a_notice_field_state_raises_an_unseen_forwarded_alert(tmp_path):
    # Forwarded monitoring notices: "Down" in a field is an emergency whatever the field's name, the
    # same word in prose ("was down overnight for patching") is not. An unseen alert with a field
    # name no labelled ticket has ("Condition: Down") is raised only when the field's value is a
    # term of its own (round 14 `fields`).
    keys = ["State", "Status", "Result", "Health"]
    rows = [*ROWS,
            *[(f"A{i}", f"FW: monitor {i}", f"see below\n> Host: AB-SRV0{i}\n> {k}: Down", "Monitoring", 1,
               False, True) for i, k in enumerate(keys)],
            *[(f"U{i}", f"FW: monitor {i}", f"see below\n> Host: AB-SRV0{i}\n> {k}: Up\nthe server was down"
               " overnight for patching", "Monitoring", 1, False, False) for i, k in enumerate(keys)]]
    data = _write(tmp_path / "alerts.csv", rows)
    text = NOTICE
    calls = {}
    for signals in ([], ["forwarded", "fields"]):
        policy = _policy(data, raise_at=0.78, signals=signals)
        calls[len(signals)] = _reading(policy, _fit(policy, [data]), *text)
    assert not calls[0][0], calls[0]
    assert calls[2][0] and '"field:down"' in calls[2][2], calls[2]
