"""The semantic vote's embeddings kept in the warehouse: a later run embeds only texts it has not seen."""

import duckdb
import numpy as np
import pytest

from logic import embeddings
from orchestration.embedding_store import TABLE, load, stored_embeddings
from policy.config import default_policy
from warehouse.schema import ensure_warehouse


@pytest.fixture
def fresh_process(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """An empty process cache (a new run process); records the texts actually embedded."""
    embeddings._cache.clear()
    calls: list[list[str]] = []
    original = embeddings._embed_lowered

    def counting(model, texts):  # type: ignore[no-untyped-def]
        calls.append(list(texts))
        return original(model, texts)

    monkeypatch.setattr(embeddings, "_embed_lowered", counting)
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
