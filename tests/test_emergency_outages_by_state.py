"""Outages told by their state, not their words (policy section 4; docs/classification.md, "Round
34: outages by their state"): a connection that never existed asked for as a cable run, work going on
another way ("limping along"), someone else's notice asked as "is ours ok?" are not an outage now; a
drive "showing as empty for all of us" and breadth told by the staff who cannot work are. Where a
dampener of `emergency.vote_dampened_by` lowers an outage reading, the neighbours' vote (which reads
the topic, not the state) is lowered by the same factor. The texts are my own, none a batch's.
"""

import duckdb
import pytest

from logic.emergency import emergency_rules_sql, emergency_sql
from logic.text_match import TICKET_TEXT
from policy.config import PolicyConfig, default_policy
from tests.rule_matches import Inputs, create_shared, hold_ahead, read_ahead, shared_messages, shipped_reading

SEVERAL = {"core system down for several users", "something down for several users",
           "one system lost for all of its users"}


NEVER_EXISTED = [
    ("Network in the studio", "The back studio lacks wired internet and the wifi is patchy in there. "
     "Could someone run a cable from the cabinet? Any afternoon next week.", 6),
    ("New office", "The new office has no wired connection yet. Please install a network cable to "
     "each of the four desks before they move in.", 4),
]


@pytest.mark.parametrize(("subject", "description", "affected"), NEVER_EXISTED)
def test_a_connection_that_never_existed_is_a_request_not_an_outage(subject, description, affected):
    called, confidence, dampeners, _rules = shipped_reading(subject, description, affected)
    assert not called and "never connected, nothing lost" in dampeners, (confidence, dampeners)


ANOTHER_WAY = [
    ("Server room leak", "Water got into the server room overnight and the old switch is dead. "
     "We're limping along on the spare one; please sort the rack out properly.", 30),
    ("After the storm", "The storm took out the office switch. Everyone still works off the "
     "upstairs switch for now, but we want the cabinet redone.", 20),
]


@pytest.mark.parametrize(("subject", "description", "affected"), ANOTHER_WAY)
def test_work_carrying_on_another_way_is_not_an_outage_now(subject, description, affected):
    called, confidence, dampeners, _rules = shipped_reading(subject, description, affected)
    assert not called and "work carrying on another way" in dampeners, (confidence, dampeners)


NOTICE = ("Supplier says there's an outage", "Had an email from the booking supplier about a service "
          "outage - payments delayed. Is our event page ok? Slightly panicking.", 4)


def test_someone_elses_notice_asked_as_is_ours_ok_is_not_our_outage():
    called, confidence, dampeners, _rules = shipped_reading(*NOTICE)
    assert not called and "nothing of ours broken or affected" in dampeners, (confidence, dampeners)


TOLD_BY_SYMPTOM = [
    ("P drive", "The P: drive is showing as empty for all of us since 8. Everything we need today "
     "is on it.", 9),
    ("Saving error", "The membership database says it cannot save. The receptionists on the front "
     "desk say they can't check anyone in and the kiosks are offline.", 1),
    ("Rota", "The rota system is down and the drivers can't see today's runs.", 1),
]


@pytest.mark.parametrize(("subject", "description", "affected"), TOLD_BY_SYMPTOM)
def test_an_outage_told_by_its_symptom_or_by_who_cannot_work_is_read(subject, description, affected):
    called, confidence, _dampeners, rules = shipped_reading(subject, description, affected)
    assert SEVERAL & set(rules) and called, (confidence, rules)


OTHER_SENSES = [
    # unplugging a machine in an incident is not a cable run asked for
    ("Files locked", "Every file on the server now ends in .xyz and nobody can open anything. I "
     "told her to pull the network cable out.", 12),
    # the people named are not the ones who cannot work
    ("Rota app", "Can you give the front of house volunteers access to the rota app? I am on "
     "tonight but I can't add them myself.", 1),
]


@pytest.mark.parametrize(("subject", "description", "affected"), OTHER_SENSES)
def test_the_readings_do_not_reach_another_sense(subject, description, affected):
    called, confidence, dampeners, rules = shipped_reading(subject, description, affected)
    assert "never connected, nothing lost" not in dampeners, dampeners
    if affected == 1:
        assert not called and not SEVERAL & set(rules), (confidence, rules)


def _voted_ticket(description: str) -> Inputs:
    """What `_with_vote` writes as clf_tickets (`hold_ahead`'s input sets)."""
    def write(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("""CREATE TEMP TABLE clf_tickets AS SELECT 'v1' AS ticket_id, 'Email' AS subject,
            ? AS description, 'Email' AS category, false AS declared_emergency,
            NULL::VARCHAR AS priority, 20 AS affected_users""", [description])
    return write


def _with_vote(policy: PolicyConfig, description: str, vote: float) -> float:
    """The reading of one Email-category ticket for 20 users under `policy`, the learned signal
    off, the neighbours' vote given."""
    off = policy.model_copy(update={"emergency": policy.emergency.model_copy(update={
        "learned_model": policy.emergency.learned_model.model_copy(update={"enabled": False})})})
    con = duckdb.connect()
    _voted_ticket(description)(con)
    con.execute(f"CREATE TEMP TABLE clf_semantic_emergency AS SELECT {TICKET_TEXT} AS raw_txt,"
                " ?::DOUBLE AS vote, 'a neighbour' AS evidence FROM clf_tickets", [vote])
    con.execute("CREATE TEMP TABLE clf_semantic_scope (raw_txt VARCHAR, scope_id VARCHAR,"
                " vote DOUBLE, evidence VARCHAR)")
    shared_messages(con)
    # the rules' relation as the same statement gave it on the same ticket (read ahead below)
    sql = emergency_sql(off, rules=create_shared(con, "rules", emergency_rules_sql(off)))
    return con.execute(f"SELECT emergency_confidence FROM ({sql})").fetchone()[0]


OVER = ("Our email stopped for everyone for half an hour this morning, nobody could send or receive, "
        "but it came back on its own. No action needed.")
DOWN = "Our email has stopped for everyone, nobody can send or receive."


def test_the_vote_is_lowered_on_an_outage_the_text_says_is_over():
    shipped = default_policy()
    assert "over before the ticket, nothing asked now" in shipped.emergency.vote_dampened_by
    unlisted = shipped.model_copy(update={"emergency": shipped.emergency.model_copy(
        update={"vote_dampened_by": []})})
    # the neighbours read "mail down" either way; the text says it is over
    assert _with_vote(unlisted, OVER, 0.7) >= 0.5 > _with_vote(shipped, OVER, 0.7)
    # an outage of now keeps the vote whole
    assert _with_vote(shipped, DOWN, 0.7) == _with_vote(unlisted, DOWN, 0.7)


@pytest.fixture(scope="module", autouse=True)
def rules_read_ahead() -> None:
    """Every ticket this module reads, in one statement under the shipped policy
    (tests/rule_matches.py): each test still asserts on its own ticket's row."""
    read_ahead(default_policy(), [(s, d, affected, False) for s, d, affected in
                                   NEVER_EXISTED + ANOTHER_WAY + TOLD_BY_SYMPTOM + OTHER_SENSES + [NOTICE]])
    hold_ahead(emergency_rules_sql(default_policy()), [_voted_ticket(text) for text in (OVER, DOWN)])


def test_vote_dampened_by_must_name_a_dampener():
    """A label that names no dampener is refused on load, naming the setting (a typo would
    otherwise leave the vote whole without a word)."""
    data = default_policy().model_dump()
    data["emergency"]["vote_dampened_by"] = ["over before the tiket"]
    with pytest.raises(ValueError, match="vote_dampened_by: not a dampener's label: over before the tiket"):
        PolicyConfig.model_validate(data)
