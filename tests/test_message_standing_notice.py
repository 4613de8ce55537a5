"""A standing notice under the client's message (a firm's fraud warning, a footer) is not read as
the client's words; the client's own labelled paragraph is (docs/classification.md, "Round 31:
emergency"). The texts are my own, none a batch's or a noise block's.
"""

import duckdb
import pytest

from logic.message import message_sql

CLIENT = "The card machines at both shops say no connection and customers are queueing."
NOTICE = ("Fraud warning: our firm will not change its payment details by phone. If you are asked to"
          " pay a new account, ring the office on the number you know before paying anything.")


def _message(description: str) -> str:
    text = f"Cards . {description}"
    return duckdb.connect().execute(f"SELECT {message_sql('$t')}", {"t": text}).fetchall()[0][0]


def test_a_standing_notice_under_the_message_is_not_read():
    assert _message(f"{CLIENT}\n\n{NOTICE}") == f"Cards . {CLIENT}"


@pytest.mark.parametrize("last", [
    "Update: I've just checked and if you ring the shop they can read you the error.",
    "Note: if you can come before 2 we'll be open, can you?",
])
def test_the_clients_own_labelled_paragraph_stays(last):
    """Said in the first person or asking: the client's words, not a notice."""
    assert _message(f"{CLIENT}\n\n{last}").endswith(last)
