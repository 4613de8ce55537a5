"""A run over several months records each month's own figures on that month's materialization."""

import logging

import dagster as dg
import duckdb

from tests.conftest import KNOWN_MONTHS, build_instance


def test_each_month_of_a_range_run_shows_its_own_row_count(known_builds):
    env = known_builds(KNOWN_MONTHS)
    instance = build_instance(env)
    records = instance.fetch_materializations(dg.AssetKey("ticket_facts"), limit=100).records
    shown = {r.partition_key: r.asset_materialization.metadata["row_count"].value for r in records}
    with duckdb.connect(str(env["warehouse"]), read_only=True) as con:
        rows = dict(con.execute("SELECT strftime(month, '%Y-%m-%d'), count(*) FROM marts.ticket_facts"
                                " GROUP BY ALL").fetchall())
    assert shown == rows
    assert len(set(shown.values())) > 1, "the known months differ in size: a sum would show"


def test_the_classifiers_record_their_figures_per_month(known_builds):
    """scope_hits and emergency_readings come from the monthly SQL factory: each month's
    materialization holds the stats query's figures and those of the Python step before it."""
    instance = build_instance(known_builds(KNOWN_MONTHS))
    expected = {
        "emergency_readings": {"row_count", "qualifies_emergency", "embedded_texts", "exemplars",
                               "embedding_seconds"},
        "scope_hits": {"row_count", "tickets_with_hits", "billable_hits", "reviewed_hits",
                       "review_queue_tickets"},
    }
    for asset, keys in expected.items():
        records = instance.fetch_materializations(dg.AssetKey(asset), limit=100).records
        assert {r.partition_key for r in records} == set(KNOWN_MONTHS), asset
        for record in records:
            assert keys <= set(record.asset_materialization.metadata), (asset, record.partition_key)


def test_child_rows_staged_in_one_pass_show_each_months_figures(known_builds):
    """staging_ticket_events and staging_time_entries stage a range's months in one pass
    (orchestration.partitions.for_the_range); each month's materialization still holds its own
    row count and quarantined rows."""
    env = known_builds(KNOWN_MONTHS)
    instance = build_instance(env)
    with duckdb.connect(str(env["warehouse"]), read_only=True) as con:
        for asset, table in (("staging_time_entries", "staging.time_entries"),
                             ("staging_ticket_events", "staging.ticket_events")):
            records = instance.fetch_materializations(dg.AssetKey(asset), limit=100).records
            shown = {r.partition_key: (r.asset_materialization.metadata["row_count"].value,
                                       r.asset_materialization.metadata["quarantined"].value)
                     for r in records}
            rows = dict(con.execute(f"SELECT strftime(month, '%Y-%m-%d'), count(*) FROM {table}"
                                    " GROUP BY ALL").fetchall())
            quarantined = dict(con.execute(
                "SELECT strftime(partition_month, '%Y-%m-%d'), count(*) FROM quality.quarantine"
                " WHERE stage = ? GROUP BY ALL", [asset]).fetchall())
            assert shown == {m: (rows.get(m, 0), quarantined.get(m, 0)) for m in KNOWN_MONTHS}, asset
        assert len(set(shown.values())) > 1, "the known months' events differ: a sum would show"


def test_a_range_run_logs_one_event_per_step_with_a_line_per_month(known_builds):
    """Each log line is a write to the run's event log: a step over several months logs its
    months' lines as one event."""
    events = known_builds(KNOWN_MONTHS)["warehouse"].parent / "events.json"
    logs = [e for e in dg.deserialize_value(events.read_text(), list)
            if e.step_key == "ticket_facts" and not e.is_dagster_event]
    assert len(logs) == 1
    # The first line is the range's preparation (the response clock, built once: before_range).
    preface, *lines = logs[0].user_message.splitlines()
    assert preface.startswith("ticket_facts: prepared for 2026-01"), preface
    assert [line.split(" for ")[1][:7] for line in lines] == [m[:7] for m in KNOWN_MONTHS]


def test_steps_log_their_files_and_months_as_one_info_event(known_builds):
    """Landing's and raw's line per file, the child rows' line per month and the classifiers'
    preparation line go to the run's event log as one event per step (each event is a write to
    the run's SQLite event log)."""
    events = known_builds(KNOWN_MONTHS)["warehouse"].parent / "events.json"
    info: dict[str, list[str]] = {}
    for e in dg.deserialize_value(events.read_text(), list):
        if not e.is_dagster_event and e.level == logging.INFO and e.step_key:
            info.setdefault(e.step_key, []).append(e.user_message)
    steps = ("landing_files", "raw_tickets", "raw_ticket_events", "raw_time_entries",
             "staging_ticket_events", "staging_time_entries", "emergency_readings", "scope_hits")
    assert {step: len(info.get(step, [])) for step in steps} == dict.fromkeys(steps, 1)
    landing = info["landing_files"][0].splitlines()
    assert sum(" accepted (" in line for line in landing) > len(KNOWN_MONTHS), landing
    assert landing[-1].startswith("landing: ") and " new file(s) " in landing[-1]
    assert any(" loaded, " in line for line in info["raw_tickets"][0].splitlines())
    for step in ("emergency_readings", "scope_hits"):
        first, *months = info[step][0].splitlines()
        assert first.startswith(f"{step}: prepared for ")
        assert [line.split(" for ")[1][:7] for line in months] == [m[:7] for m in KNOWN_MONTHS]
    staged = info["staging_ticket_events"][0].splitlines()
    assert [line.split(" ")[1].rstrip(":") for line in staged] == [m[:7] for m in KNOWN_MONTHS]
