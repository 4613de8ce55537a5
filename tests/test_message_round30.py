"""Round 30 (issue 19): shapes of boilerplate the message reading (logic/message.py) now cuts, and
the client's words it must keep. The blocks were written for this test, none from
evaluation/noise_blocks.yaml, evaluation/noise_blocks_dev.yaml (checked) or a batch."""

import duckdb
import pytest

from evaluation.noise import read_blocks
from logic.message import message_sql
from policy.paths import PROJECT_ROOT

CLIENT = ("All twelve shop tills stopped taking cards at opening, customers are queueing and we have"
          " had to turn people away.")
TAILS = {
    "notice in another language": "Questo messaggio e i suoi allegati sono riservati e destinati"
                                  " esclusivamente al destinatario indicato. Se lo avete ricevuto per"
                                  " errore vi preghiamo di cancellarlo e di avvisare il mittente.",
    "long card with awards and links": "Marta Kowalski\nCustomer Experience Lead | Harbourside Retail"
                                       " Group\nBest Independent Retailer 2024 | Retail Tech Awards"
                                       " Finalist\nLondon | Manchester | Glasgow\nShop the new season"
                                       " at harbourside.example",
    "residue under a signature": "Regards,\nMarta\n\n[cid:logo-small.png]\n<https://harbourside.example>",
}
HEADS = {
    "bracketed system note": "[This ticket was created from an e-mail forwarded by the store app]",
    "note inside a rule": "=== Machine translation: the original text is kept in the archive ===",
}
# A one-paragraph message about mail above a footer the reading does not know: the message stays.
ABOUT_MAIL = ("emails from the council bounce with message too big, can't send the planning attachments"
              " to them either")
UNKNOWN = ("Case ref 88-4412 | Portal user | Updates to this case are posted at the link in your"
           " account and sent to the address on file. You can change that in settings.")
# A pasted alert after the client's words: short field lines, evidence, not a notice.
ALERT = "Alert source: EDR console\nSeverity: HIGH\nDevice: TILL-07\nAction: isolation failed"
# The client's own last line, terse and with an exclusion, before a mobile sign-off.
LAST = "Also the tills at all 12 shops need replacing before Christmas, can you quote"


def _message(description: str, subject: str = "Tills") -> str:
    text = f"{subject} . {description}"
    return duckdb.connect().execute(f"SELECT {message_sql('t')} FROM (SELECT ? AS t)", [text]).fetchone()[0]


def test_the_blocks_here_are_not_the_benchmarks():
    benchmark = " ".join(b.text for f in ("noise_blocks.yaml", "noise_blocks_dev.yaml")
                         for b in read_blocks(PROJECT_ROOT / "evaluation" / f))
    for block in [*TAILS.values(), *HEADS.values(), ABOUT_MAIL, UNKNOWN, ALERT, LAST]:
        assert max(block.splitlines(), key=len) not in benchmark


@pytest.mark.parametrize("tail", TAILS.values(), ids=TAILS.keys())
def test_a_tail_of_these_shapes_is_not_read(tail):
    assert _message(f"{CLIENT}\n\n{tail}") == _message(CLIENT)


@pytest.mark.parametrize("head", HEADS.values(), ids=HEADS.keys())
def test_a_system_note_before_the_message_is_not_read(head):
    assert _message(f"{head}\n\n{CLIENT}") == f"Tills . {CLIENT}"


def test_a_message_about_mail_above_an_unknown_footer_is_not_taken_for_a_banner():
    assert ABOUT_MAIL in _message(f"{ABOUT_MAIL}\n\n{UNKNOWN}", "Email")


def test_a_pasted_alert_and_the_clients_last_line_stay():
    assert ALERT in _message(f"Is this one we can ignore?\n\n{ALERT}")
    assert LAST in _message(f"{CLIENT}\n\n{LAST}\n\nSent from my phone")


def test_a_bounce_quoted_in_the_clients_words_is_not_a_notice():
    bounce = ("None of us have had an email since 8. Senders get 'recipient address rejected' back and"
              " our customers are ringing.")
    assert bounce in _message(f"[This ticket was created from the portal]\n\n{bounce}", "Email")
