"""Round 28: the client's message inside a ticket text (logic/message.py), and the emergency reading
that reads it (emergency.message_only). The blocks below were written for this test, not taken from
evaluation/noise_blocks.yaml (checked) nor from a batch."""

import duckdb
import numpy as np
import pytest

from evaluation.noise import read_blocks
from logic.emergency import emergency_rules_sql
from logic.message import MessageRows, message_sql, read_texts_of, write_messages
from policy.config import PolicyConfig, default_policy
from policy.paths import PROJECT_ROOT
from tests.test_classify_range import warehouse  # noqa: F401 (the fixture: a warehouse of three months)

# Blocks a mail system or a mail client adds after the client's text, by shape.
TAILS = {
    "signature with an on-call line": "Best,\nPriya Raman\nHead of Security & Resilience | Calder Homes\n"
                                      "24/7 incident line: 0161 496 0999",
    "title-case card": "Gwen Hughes\nEmergency Planning Officer\nValeside County Council",
    "card under a rule": "--\nMarc Dubois | Responsable Sécurité\n"
                         "T +33 1 84 88 00 12 | www.dubois-sa.example",
    "bilingual notice": "This email and any files sent with it are confidential and intended only for the"
                        " recipient named above. Mae'r e-bost hwn yn gyfrinachol. If this message reached"
                        " you by mistake, tell the sender and delete it.",
    "meeting footer": "Join the meeting now\nMeeting ID: 381 552 904 117\nPasscode: xK29pq\n"
                      "https://meet.example/j/381552904117",
    "reply header": "On Fri, 6 Nov 2026 at 14:03, Security Operations <soc@provider.example> wrote:\n"
                    "> Urgent: ransomware alert closed as a false positive.",
    "outlook header": "________________________________\nFrom: Fraud Team <fraud@bank.example>\n"
                      "Sent: 05 November 2026 17:12\nTo: Accounts <accounts@client.example>\n"
                      "Subject: Security alert",
}
BANNER = ("[External sender] Think before you click: this message came from outside the trust. Never"
          " open links or attachments from senders you do not know.")
REGISTRATION = ("Calder Homes Ltd, registered in Wales no. 04417790. Registered office 2 Quay Street,"
                " Cardiff CF10 1EA.")
CLIENT = ("Nobody at the depot can log in to the dispatch system since 7, drivers are waiting"
          " and the vans can't leave.")


def _messages(texts: list[str]) -> list[str]:
    con = duckdb.connect()
    return [con.execute(f"SELECT {message_sql('t')} FROM (SELECT ? AS t)", [t]).fetchone()[0] for t in texts]


def _message(text: str) -> str:
    return _messages([text])[0]


def test_the_blocks_here_are_not_the_benchmarks():
    benchmark = " ".join(b.text for b in read_blocks())
    for block in [*TAILS.values(), BANNER, REGISTRATION]:
        assert max(block.splitlines(), key=len) not in benchmark


@pytest.mark.parametrize("tail", list(TAILS), ids=list(TAILS))
def test_a_tail_after_the_message_is_not_read(tail):
    assert _message(f"Dispatch down . {CLIENT}\n\n{TAILS[tail]}") == f"Dispatch down . {CLIENT}"


def test_a_run_of_tails_a_banner_and_a_registration_under_a_signature_are_not_read():
    text = (f"Dispatch down . {BANNER}\n\n{CLIENT}\n\n{TAILS['signature with an on-call line']}\n\n"
            f"{REGISTRATION}\n\nSent from my phone\n\n{TAILS['bilingual notice']}")
    assert _message(text) == f"Dispatch down . {CLIENT}"


def test_a_signature_under_the_last_line_is_cut_and_the_sign_off_stays():
    text = f"Dispatch down . {CLIENT}\nThanks,\nJo Baird\nDepot Manager\n07700 900 114"
    assert _message(text) == f"Dispatch down . {CLIENT}\nThanks,"


def test_text_without_a_line_break_or_a_tail_is_returned_as_it_is():
    texts = [f"Dispatch down . {CLIENT}", f"Dispatch . {CLIENT}\n\n\nStill down at 9:40!\r\n",
             "  . \n\n", "no subject separator\n\nKind regards,\nJo"]
    assert _messages(texts) == texts


def test_the_clients_own_words_stay():
    kept = [
        # the emergency told in the last line before a signature
        "Server . Quick one about the new starter's laptop.\n\nAlso the file server just died, nobody"
        " can open anything.\n\nRegards,\nAl Short\nOffice Manager\n01632 960 555",
        # a phishing report that talks about mails, in the client's words
        "Odd email . Got an email from our CEO asking for gift cards.\n\nI clicked the link in the"
        " message and typed my password before I noticed the sender address was wrong. What now?",
        # a forwarded mail's own body under its header: the client's evidence
        "Fwd: invoice . Is this real? They want paying today.\n\n---------- Forwarded message"
        " ---------\nFrom: Accounts <accounts@supplier-pay.example>\nSubject: New bank details\n\n"
        "Please use our new account for all payments from today.",
        # a machine's notice under a rule, and quoted lines: what was seen
        "RAID . Seen this morning, is it bad?\n\n-----\nHost: NAS01\nState: DEGRADED\nDisk 3: FAILED",
        "Alert . fyi from the alerts box\n\n> Defender: mass download by one user, 3,902 files\n"
        "> Severity: High",
        # a first paragraph about a mail that is the client's question, not a banner
        "Warning mail . This message says our mailbox will be deleted unless we click the link?\n\n"
        "Half the office got it this morning.",
    ]
    assert _messages(kept) == [t.split("\n\nRegards,")[0] for t in kept]


def test_a_cut_that_would_leave_almost_nothing_is_not_made():
    text = "FYI . see below\n\nOn Mon, 2 Nov 2026 at 08:00, Alerts <alerts@x.example> wrote:\n> DOWN"
    assert _message(text) == text


def _policy(message_only: bool) -> PolicyConfig:
    p = default_policy()
    return p.model_copy(update={"emergency": p.emergency.model_copy(update={"message_only": message_only})})


def _rules(policy: PolicyConfig, descriptions: list[str]) -> list[tuple]:
    con = duckdb.connect()
    con.execute("CREATE TEMP TABLE clf_tickets (ticket_id VARCHAR, subject VARCHAR, description VARCHAR,"
                " category VARCHAR, declared_emergency BOOLEAN, priority VARCHAR, affected_users INTEGER)")
    con.executemany("INSERT INTO clf_tickets VALUES (?, 'Printer', ?, 'Hardware', false, NULL, 1)",
                    [(f"t{i}", d) for i, d in enumerate(descriptions)])
    write_messages(con, None)
    return con.execute(f"SELECT confidence, evidence FROM ({emergency_rules_sql(policy)})"
                       " ORDER BY ticket_id").fetchall()


def test_the_rules_read_the_message_and_a_tails_words_do_not_count():
    own = "The printer on the first floor is jamming on every job."
    tails = ["Regards,\nSam Ode\nHead of Security | 24/7 emergency on-call: 0800 555 0199",
             "This message may contain a virus. If you are not the intended recipient of this email,"
             " delete it; we never change bank details by email."]
    texts = [own, *(f"{own}\n\n{t}" for t in tails)]
    read = _rules(_policy(True), texts)
    assert read[1:] == [read[0]] * len(tails)
    assert _rules(_policy(False), texts)[0] == read[0]  # no tail: the same reading either way


def test_a_real_emergency_before_a_signature_keeps_its_reading():
    own = "Ransomware note on every PC in the office, all our files are encrypted and nobody can work."
    signed = f"{own}\n\nKind regards,\nLee Grant\nPractice Manager\n01632 960 777"
    plain, with_tail = _rules(_policy(True), [own, signed])
    assert plain == with_tail and plain[0] >= 0.5


def test_message_rows_embed_each_new_message_once_and_leave_out_its_whole_text():
    rows = MessageRows.of(["a\n\nsig", "b", "c\n\nsig"], ["a", "b", "b"])
    assert rows.texts == ["a\n\nsig", "b", "c\n\nsig", "a"]
    assert rows.owners == ["a\n\nsig", "b", "c\n\nsig", "a\n\nsig"]
    assert rows.rows.tolist() == [3, 1, 1]
    plain = MessageRows.of(["x", "y"], None)
    assert plain.texts == ["x", "y"] and plain.owners is None and np.array_equal(plain.rows, [0, 1])


def test_read_texts_of_gives_messages_only_when_the_policy_asks():
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT * FROM (VALUES"
                " ('S . hello there all\n\n--\nJo Ash\n01632 960 001'), ('S . plain')) v(raw_txt)")
    write_messages(con, None, "t")
    neither = _policy(False)
    neither = neither.model_copy(update={"scope_classification": neither.scope_classification.model_copy(
        update={"message_only": False})})
    assert read_texts_of(con, neither, "SELECT raw_txt FROM t")[1] is None
    # either reading asks (round 29: scope_classification.message_only reads them too)
    for asks in (_policy(True), _policy(False)):
        texts, messages = read_texts_of(con, asks, "SELECT raw_txt FROM t")
        assert messages == ["S . hello there all", "S . plain"] and texts[1] == "S . plain"


def test_the_halves_of_the_benchmarks_blocks_split_every_kind():
    train, evaluation, every = read_blocks(half="train"), read_blocks(half="eval"), read_blocks()
    assert sorted(b.text for b in [*train, *evaluation]) == sorted(b.text for b in every)
    assert not {b.text for b in train} & {b.text for b in evaluation}
    kinds = {b.kind for b in every}
    assert {b.kind for b in train} == kinds
    assert {b.kind for b in evaluation} == {k for k in kinds if sum(b.kind == k for b in every) > 1}


SIGNED = ("Email down", "Nobody in the office can send mail since 9am.\n\nKind regards,\nJo Ash\n"
          "Office Manager\n01632 960 001")


@pytest.mark.slow  # runs the classification steps (about a minute on a busy machine)
def test_a_run_computes_each_texts_message_once(request, tmp_path, monkeypatch):
    """A pipeline run over three months computes the messages in one statement over their distinct
    texts (round 30): the emergency reading's rules, vote and learned signal and the scope reading
    then join them (staging.ticket_messages), none computes them again."""
    import dagster as dg

    import logic.message
    from assets.classification import emergency_readings, scope_hits
    from orchestration.resources import PipelineSettings, WarehouseResource
    from policy.paths import policy_file
    from tests.test_classify_range import MONTHS

    path = request.getfixturevalue("warehouse")
    with duckdb.connect(str(path)) as con:  # a signed text in two months: one message
        for tid, month in (("s1", MONTHS[0]), ("s2", MONTHS[2])):
            con.execute("INSERT INTO staging.tickets BY NAME SELECT ? AS ticket_id, CAST(? AS DATE) AS month,"
                        " ? AS subject, ? AS description, 'Email' AS category, false AS declared_emergency,"
                        " 'high' AS final_priority, 1 AS affected_users, 'c1' AS client_id,"
                        " CAST(? AS TIMESTAMPTZ) AS created_at, CAST(? AS TIMESTAMP) AS created_local,"
                        " false AS is_provider_initiated, 1 AS versions_delivered,"
                        " 'tickets.csv' AS _source_file, 1 AS _source_row",
                        [tid, month, *SIGNED, month + " 10:00:00+00", month + " 10:00:00"])
    built: list[str] = []
    original = logic.message.message_sql

    def counting(text: str) -> str:
        built.append(text)
        return original(text)

    monkeypatch.setattr(logic.message, "message_sql", counting)
    settings = PipelineSettings(landing_dir=str(tmp_path), published_dir=str(tmp_path),
                                policy_file=str(policy_file()), as_of="2026-04-01T00:00:00+00:00")
    result = dg.materialize(
        [emergency_readings, scope_hits],
        resources={"duckdb": WarehouseResource(database=str(path)), "settings": settings},
        tags={"dagster/asset_partition_range_start": MONTHS[0],
              "dagster/asset_partition_range_end": MONTHS[-1]})
    assert result.success
    assert len(built) == 1, built  # one statement computed the run's messages
    with duckdb.connect(str(path)) as con:
        rows = con.execute("SELECT CAST(month AS VARCHAR), read_txt FROM staging.ticket_messages"
                           " ORDER BY month").fetchall()
        readings = con.execute("SELECT count(*) FROM marts.emergency_readings").fetchone()[0]
    assert rows == [(m, f"{SIGNED[0]} . Nobody in the office can send mail since 9am.")
                    for m in (MONTHS[0], MONTHS[2])], rows
    assert readings == 11
    # and nothing else builds the expression: every reader joins the run's relation
    sources = [p for p in PROJECT_ROOT.glob("*/*.py") if p.parts[-2] not in ("tests", ".venv")]
    users = sorted(str(p.relative_to(PROJECT_ROOT)) for p in sources if "message_sql(" in p.read_text())
    assert users == ["logic/message.py"], users
