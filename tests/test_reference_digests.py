"""Contracts and business calendars are re-staged only when what they are made from changed."""

import csv
import importlib

import dagster as dg
import duckdb
import pytest

from demo.generate import generate


def _ingest(defs: dg.Definitions) -> dict[str, dict]:
    """Run the real ingest job; the metadata of each materialization by asset."""
    result = defs.resolve_job_def("ingest_job").execute_in_process(
        instance=dg.DagsterInstance.ephemeral())
    assert result.success
    return {m.asset_key.to_user_string(): {k: v.value for k, v in m.metadata.items()}
            for m in result.asset_materializations_for_node("staging_clients")
            + result.asset_materializations_for_node("business_calendars")}


def _tables(warehouse) -> dict[str, list]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {t: sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr)
                for t in ("staging.clients", "staging.calendar_intervals",
                          "staging.calendar_closures")}


@pytest.mark.slow
def test_contracts_and_calendars_restage_only_when_their_inputs_change(msp_env, monkeypatch):
    import pipelines.definitions

    monkeypatch.setenv("MSP_AS_OF", "2026-03-05T00:00:00+00:00")
    generate(msp_env["landing"], msp_env["landing"].parent / "truth", seed=3, clients=2, months=1,
             end_month="2026-02")
    defs = importlib.reload(pipelines.definitions).defs
    first = _ingest(defs)
    assert first["staging_clients"]["restaged"] and first["business_calendars"]["rebuilt"]
    built = _tables(msp_env["warehouse"])

    again = _ingest(defs)
    assert not again["staging_clients"]["restaged"] and not again["business_calendars"]["rebuilt"]
    assert again["staging_clients"]["row_count"] == first["staging_clients"]["row_count"]
    assert again["business_calendars"]["open_intervals"] == first["business_calendars"]["open_intervals"]
    assert _tables(msp_env["warehouse"]) == built

    # A table changed behind the step's back is rebuilt, not trusted.
    with duckdb.connect(str(msp_env["warehouse"])) as con:
        con.execute("DELETE FROM staging.calendar_intervals WHERE rowid % 2 = 0")
    repaired = _ingest(defs)
    assert not repaired["staging_clients"]["restaged"] and repaired["business_calendars"]["rebuilt"]
    assert _tables(msp_env["warehouse"]) == built

    # A new contract row (another clients file) re-stages the contracts, then the calendars.
    clients = msp_env["landing"] / "clients" / "clients.csv"
    with clients.open(newline="") as f:
        rows = list(csv.DictReader(f))
    update = {**rows[0], "valid_from": "2026-02-15", "seats": str(int(rows[0]["seats"]) + 5)}
    with clients.with_name("clients_update.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(update))
        writer.writeheader()
        writer.writerow(update)
    changed = _ingest(defs)
    assert changed["staging_clients"]["restaged"] and changed["business_calendars"]["rebuilt"]
    assert changed["staging_clients"]["row_count"] == first["staging_clients"]["row_count"] + 1


def test_a_digest_matches_only_the_same_inputs_and_untouched_tables():
    from warehouse import digests

    con = duckdb.connect()
    con.execute("CREATE SCHEMA quality")
    con.execute("CREATE TABLE staged AS SELECT 1 AS a, 'x' AS b")
    written = lambda: digests.tables_digest(con, "SELECT * FROM staged")  # noqa: E731
    assert not digests.unchanged(con, "step", "inputs", written)
    digests.remember(con, "step", "inputs", written())
    assert digests.unchanged(con, "step", "inputs", written)
    assert not digests.unchanged(con, "step", "other inputs", written)
    con.execute("UPDATE staged SET b = 'y'")
    assert not digests.unchanged(con, "step", "inputs", written)
    con.execute("DROP TABLE staged")
    assert not digests.unchanged(con, "step", "inputs", written)
