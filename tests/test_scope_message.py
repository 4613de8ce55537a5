"""Round 29: the scope reading (rules, vote, word model) reads the client's message of a ticket text
(scope_classification.message_only, logic/message.py); time-entry notes are read whole. The blocks
below were written for this test, not taken from evaluation/noise_blocks.yaml (checked) nor a batch."""

import duckdb
import pytest

from evaluation.noise import read_blocks
from logic.classify import scope_hits_sql
from logic.message import message_sql, write_messages
from logic.word_model import _design, stale_reason, word_model
from policy.config import PolicyConfig, default_policy

OWN = "The printer on the first floor is jamming on every job, can someone look?"
# Tails whose words the scope rules read as exclusions when the whole text is read.
TAILS = {
    "signature naming a migration programme": "Kind regards,\nDana Holt\nProgramme Lead, Cloud Migration"
                                              " & Projects\nNorthgate Estates\n0161 496 0123",
    "disclaimer naming site visits": "This email and any attachments are confidential and intended for the"
                                     " recipient only. Out of hours support for planned project work, site"
                                     " visits and hardware purchases is billed separately. If you received"
                                     " this message in error please notify the sender.",
}
# The exclusion the client asks for in the last paragraph before the signature.
LAST_LINE = ("The printer on the first floor is jamming.\n\nAlso, can you quote us for migrating all our"
             " mailboxes to Google Workspace next month?\n\nThanks,\nJo Baird\nOffice Manager\n01632 960 114")
# An exclusion only in the technician's time log, a sign-off in the note: read whole.
NOTE = "Migrated all 40 mailboxes to Google Workspace over the weekend.\n\nRegards,\nTech desk"


def _policy(message_only: bool, words: bool = True) -> PolicyConfig:
    p = default_policy()
    sc = p.scope_classification
    wm = sc.word_model.model_copy(update={"enabled": words})
    # Round 38's confident_only (onsite) left out: the disclaimer's "site visits" is an onsite
    # review call when the whole text is read, the very exclusion this module shows the tail adds.
    states = sc.call_states.model_copy(update={"confident_only": []})
    return p.model_copy(update={"scope_classification": sc.model_copy(
        update={"message_only": message_only, "word_model": wm, "call_states": states})})


def _inputs(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE TEMP TABLE clf_tickets (ticket_id VARCHAR, subject VARCHAR, description VARCHAR,"
                " category VARCHAR, declared_emergency BOOLEAN, priority VARCHAR, affected_users INTEGER)")
    rows = [("own", OWN), *((f"tail{i}", f"{OWN}\n\n{t}") for i, t in enumerate(TAILS.values())),
            ("last", LAST_LINE), ("note", "Please see the time log.")]
    con.executemany("INSERT INTO clf_tickets VALUES (?, 'Printer', ?, '', false, NULL, 1)", rows)
    con.execute("CREATE TEMP TABLE clf_time (ticket_id VARCHAR, minutes DOUBLE, work_type VARCHAR,"
                " billable BOOLEAN, note VARCHAR, outside_hours BOOLEAN, seq INTEGER)")
    con.execute("INSERT INTO clf_time VALUES ('note', 60, 'remote', true, ?, false, 1)", [NOTE])
    write_messages(con, None)


def _calls(policy: PolicyConfig) -> dict[str, set[str]]:
    con = duckdb.connect()
    _inputs(con)
    calls: dict[str, set[str]] = {}
    for tid, sid, *_ in con.execute(scope_hits_sql(policy, semantic=False)).fetchall():
        calls.setdefault(tid, set()).add(sid)
    return calls


def test_the_blocks_here_are_not_the_benchmarks():
    benchmark = " ".join(b.text for b in read_blocks())
    for block in [*TAILS.values(), LAST_LINE, NOTE]:
        assert max(block.splitlines(), key=len) not in benchmark


@pytest.fixture(scope="module")
def calls() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    return _calls(_policy(False)), _calls(_policy(True))


def test_a_tails_words_add_no_exclusion_when_the_message_is_read(calls):
    whole, message = calls
    assert whole.get("own") is None and all(whole.get(f"tail{i}") for i in range(len(TAILS)))
    assert all(message.get(f"tail{i}") is None for i in range(len(TAILS)))


def test_an_exclusion_in_the_last_line_before_a_signature_and_in_the_notes_still_counts(calls):
    whole, message = calls
    assert "major_migration" in message["last"] and message["last"] == whole["last"]
    assert "major_migration" in message["note"] and message["note"] == whole["note"]


def test_the_scope_vote_is_the_messages():
    """The statement joins the scope vote on the text read: a vote keyed by the message counts, one
    keyed by the whole text does not."""
    policy = _policy(True, words=False)
    con = duckdb.connect()
    _inputs(con)
    message = con.execute(f"SELECT {message_sql('t')} FROM (SELECT 'Printer . ' || ? AS t)",
                          [f"{OWN}\n\n{TAILS['disclaimer naming site visits']}"]).fetchone()[0]
    assert message == f"Printer . {OWN}"
    con.execute("CREATE TEMP TABLE clf_semantic_scope (raw_txt VARCHAR, scope_id VARCHAR, vote DOUBLE,"
                " evidence VARCHAR)")
    con.execute("INSERT INTO clf_semantic_scope VALUES (?, 'procurement', 0.9, 'a message'),"
                " ('Printer . ' || ?, 'custom_software', 0.9, 'a whole text')",
                [message, f"{OWN}\n\n{TAILS['signature naming a migration programme']}"])
    con.execute("CREATE TEMP TABLE clf_semantic_emergency (raw_txt VARCHAR, vote DOUBLE, evidence VARCHAR)")
    con.execute("CREATE TEMP TABLE clf_emergency AS SELECT ticket_id, false AS qualifies_emergency"
                " FROM clf_tickets")
    hits = scope_hits_sql(policy, "clf_emergency", floor=0.0)
    rows = con.execute(f"SELECT ticket_id, scope_id FROM ({hits}) WHERE evidence LIKE '%semantic vote%'"
                       ).fetchall()
    # the three tickets whose message is the printer's own words (the tails cut), none by the whole text
    assert set(rows) == {("own", "procurement"), ("tail0", "procurement"), ("tail1", "procurement")}


def test_the_word_model_is_fitted_on_messages_and_refused_when_fitted_on_whole_texts():
    con = duckdb.connect()
    _inputs(con)
    terms = {p: set(_design(con, _policy(p)).query("ticket_id == 'tail0'")["term"]) for p in (False, True)}
    assert "migration" in terms[False] and "migration" not in terms[True]
    model = word_model(default_policy())
    assert model is not None and stale_reason(default_policy(), model) is None
    other = model.model_copy(update={"message_only": not model.message_only})
    assert "message_only" in (stale_reason(default_policy(), other) or "")
