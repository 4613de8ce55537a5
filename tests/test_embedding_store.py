"""The semantic vote's embeddings kept in the warehouse: a later run embeds only texts it has not seen."""

import duckdb
import numpy as np
import pytest

from logic import embeddings
from orchestration.embedding_store import TABLE, _md5, load, prune, stored_embeddings
from policy.config import default_policy
from tests.vote_fixtures import record_embeddings
from warehouse.schema import ensure_warehouse


@pytest.fixture
def fresh_process(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """An empty process cache (a new run process); records the texts actually embedded."""
    calls = record_embeddings(monkeypatch)
    yield calls
    embeddings._cache.clear()


def test_a_later_run_embeds_only_new_texts_and_gets_the_same_vectors(fresh_process: list[list[str]]) -> None:
    policy = default_policy()
    con = duckdb.connect()
    ensure_warehouse(con)
    seen = ["Printer offline . the office printer is offline", "VPN down . nobody can connect"]
    with stored_embeddings(con, policy, seen):
        first = embeddings.embed(policy, seen)
    assert con.execute(f"SELECT count(*) FROM {TABLE}").fetchall() == [(2,)]

    embeddings._cache.clear()  # the next run's process holds nothing
    fresh_process.clear()
    later = [*seen, "Server room flooded . water on the floor"]
    with stored_embeddings(con, policy, later):
        again = embeddings.embed(policy, later)
    # Only the new text went through the model; the stored ones are the very same float32 vectors.
    assert fresh_process == [["server room flooded . water on the floor"]]
    assert np.array_equal(again[:2], first)
    assert con.execute(f"SELECT count(*) FROM {TABLE}").fetchall() == [(3,)]


def test_all_texts_stored_means_no_model_load(fresh_process: list[list[str]],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    policy = default_policy()
    con = duckdb.connect()
    ensure_warehouse(con)
    texts = ["Password reset . locked out of my account"]
    with stored_embeddings(con, policy, texts):
        first = embeddings.embed(policy, texts)
    embeddings._cache.clear()

    def no_model(*_args):  # type: ignore[no-untyped-def]
        raise AssertionError("the model was loaded although every text was stored")

    monkeypatch.setattr(embeddings, "load_model", no_model)
    with stored_embeddings(con, policy, texts):
        assert np.array_equal(embeddings.embed(policy, texts), first)


def test_the_pipeline_stores_every_voted_text_s_vector(known_built, fresh_process: list[list[str]]) -> None:
    """A built warehouse holds the vector of every text its months voted on, equal to embedding it."""
    policy = default_policy()
    with duckdb.connect(str(known_built["warehouse"]), read_only=True) as con:
        texts = [r[0] for r in con.execute(
            "SELECT DISTINCT raw_txt FROM staging.semantic_emergency_votes ORDER BY 1").fetchall()]
        assert texts
        found = load(con, policy, texts)
    assert len(found) == len({t.lower() for t in texts})
    stored = embeddings.held(policy, texts)
    embeddings._cache.clear()
    fresh = embeddings.embed(policy, texts)
    assert np.array_equal(np.stack([stored[t.lower()] for t in texts]), fresh)


def _warehouse_with_tickets(texts: dict[str, tuple[str, str]]) -> duckdb.DuckDBPyConnection:
    """A warehouse whose staging.tickets holds one ticket per month: {month: (subject, description)}."""
    con = duckdb.connect()
    ensure_warehouse(con)
    for i, (month, (subject, description)) in enumerate(texts.items()):
        con.execute("""INSERT INTO staging.tickets BY NAME
            SELECT $id AS ticket_id, 'C1' AS client_id, CAST($month AS DATE) AS month,
                   CAST($month AS TIMESTAMPTZ) AS created_at, CAST($month AS TIMESTAMP) AS created_local,
                   $subject AS subject, $description AS description, false AS is_provider_initiated,
                   1 AS versions_delivered, 't.csv' AS _source_file, $row AS _source_row""",
                    {"id": f"T{i}", "month": month, "subject": subject, "description": description,
                     "row": i + 1})
    return con


def _store_rows(con: duckdb.DuckDBPyConnection, texts: list[str]) -> None:
    """Stored vectors for `texts` (their values do not matter to pruning)."""
    policy = default_policy()
    dim = policy.scope_classification.semantic.dim
    for text in texts:
        con.execute(f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?)",
                    [policy.scope_classification.semantic.model, dim, _md5(text.lower()), [0.5] * dim])


def _stored(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute(f"SELECT text_md5 FROM {TABLE}").fetchall()}


def test_a_run_over_every_month_prunes_the_vectors_of_texts_gone() -> None:
    con = _warehouse_with_tickets({"2026-01-01": ("VPN down", "Nobody can connect"),
                                   "2026-02-01": ("Printer offline", "The office printer is offline")})
    current = ["VPN down . Nobody can connect", "Printer offline . The office printer is offline"]
    exemplar, gone = "Server room flooded . water on the floor", "Printer offline . it was the old text"
    _store_rows(con, [*current, exemplar, gone, current[0]])  # the first text stored twice
    # A run over part of the warehouse has not read every text: nothing goes.
    assert prune(con, ["2026-02-01"], [exemplar]) is None
    assert con.execute(f"SELECT count(*) FROM {TABLE}").fetchall() == [(5,)]
    # A run over every month: the superseded text and the second copy go; the tickets' and the
    # built-in exemplars' stay, once each.
    assert prune(con, ["2026-01-01", "2026-02-01", "2026-03-01"], [exemplar]) == 2
    assert _stored(con) == {_md5(t.lower()) for t in [*current, exemplar]}
    assert con.execute(f"SELECT count(*) FROM {TABLE}").fetchall() == [(3,)]


def test_the_emergency_step_prunes_after_a_run_over_every_month() -> None:
    """The step's range hook (match_emergency_range) prunes once its months are done."""
    from datetime import UTC, datetime

    from assets.classification import builtin_exemplars, match_emergency_range
    from orchestration.monthly import RunInputs

    policy = default_policy()
    con = _warehouse_with_tickets({"2026-01-01": ("VPN down", "Nobody can connect")})
    bank_text = builtin_exemplars(policy).texts[0]  # stored already: kept, not stored twice
    _store_rows(con, ["VPN down . Nobody can connect", bank_text, "Gone . a superseded text"])
    run = RunInputs(policy, datetime(2026, 2, 1, tzinfo=UTC))
    gone = _md5("gone . a superseded text")
    with match_emergency_range(con, ["2026-01-01"], run) as shared:
        assert gone in _stored(con)  # not while the months are written
        # The built-in exemplars' vectors are stored (and held) once for the run's months.
        builtin = {_md5(t.lower()) for t in shared["builtin_bank"].texts}
        assert builtin <= _stored(con)
    assert _stored(con) == {_md5("vpn down . nobody can connect"), *builtin}
    assert con.execute(f"SELECT count(*) FROM {TABLE}").fetchall() == [(len(builtin) + 1,)]
