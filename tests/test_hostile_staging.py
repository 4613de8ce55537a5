"""Hostile and odd input at staging (issue 18; review adversarial-inputs-2026-12-03, cases 27, 28,
31-35, 37, 38, 46): timestamps outside the pipeline's months, instants spelt two ways, numbers
that are not numbers, unknown scope ids and tickets, and a ticket moved to another month.

One landing folder holds every case and is run once through the real landing -> raw -> staging
assets for January 2026; the moved ticket needs whole runs of its own.
"""

import importlib
import json
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from demo.generate import CLIENT_COLUMNS, DECISION_COLUMNS, ENTRY_COLUMNS, EVENT_COLUMNS, TICKET_COLUMNS
from tests.builders import client, known_msp, ticket, write_csv
from tests.publish_demo import set_msp_paths

JAN = "2026-01-01"
FEB = "2026-02-01"
STAGES = ("landing_files", "raw_clients", "raw_review_decisions", "raw_ticket_events",
          "raw_time_entries", "raw_tickets", "staging_clients", "staging_review_decisions",
          "staging_tickets", "staging_ticket_events", "business_calendars", "staging_time_entries")

# Case 27 and 28: the first row is the one that made the file "start" in 1900.
BAD_CREATED = {
    "TS-1": "1900-01-15T10:00:00Z", "TS-2": "2200-01-15T10:00:00Z", "TS-3": "2026-02-30T10:00:00Z",
    "TS-4": "1768212000", "TS-5": "2026-01-14T25:00:00Z", "TS-6": "14/01/2026 10:00",
}


def _event(ticket_id: str, at: str, event_id: str = "") -> dict:
    return {"event_id": event_id, "ticket_id": ticket_id, "event_at": at,
            "event_type": "agent_reply", "actor_type": "agent", "actor": "sam", "is_public": "true"}


def _entry(ticket_id: str, minutes: str, started_at: str = "2026-01-12T11:00:00+00:00", **kw) -> dict:
    return {"entry_id": "", "ticket_id": ticket_id, "started_at": started_at, "minutes": minutes,
            "work_type": "onsite", "billable": "true", "note": "on site", **kw}


def _hostile_landing(landing: Path) -> None:
    known_msp(landing)
    write_csv(landing / "tickets" / "tickets_ts.csv", TICKET_COLUMNS, [
        *[ticket(tid, "ACME", created) for tid, created in BAD_CREATED.items()],
        ticket("TS-7", "ACME", "2026-01-16T10:00:00Z"),
    ])
    write_csv(landing / "ticket_events" / "events_ts.csv", EVENT_COLUMNS, [
        _event("TS-1", "2026-01-16T11:00:00Z"),
        _event("TS-3", "2026-01-16T12:00:00Z"),
        _event("GHOST-9", "1900-01-01T00:00:00Z"),   # never delivered, dated 1900
        _event("A-J00", "2200-03-01T00:00:00Z"),     # a real ticket, an event in the future
    ])
    # Case 32: the same entry (no entry_id) delivered twice, the instant and number spelt otherwise.
    (landing / "time_entries").mkdir(parents=True, exist_ok=True)
    for name, started, minutes in (("te_a.jsonl", "2026-01-12T11:00:00+00:00", 120),
                                   ("te_b.jsonl", "2026-01-12T11:00:00Z", 120.0)):
        line = {**_entry("A-J01", "", started), "minutes": minutes, "note": "server swap"}
        (landing / "time_entries" / name).write_text(json.dumps(line) + "\n")
    # Case 37: numbers that are not numbers of minutes.
    write_csv(landing / "time_entries" / "te_numbers.csv", ENTRY_COLUMNS, [
        _entry("A-J02", "NaN"), _entry("A-J02", "Infinity"), _entry("A-J02", "1e300"),
        _entry("A-J02", "-5"), _entry("A-J02", "2000"), _entry("A-J02", "45"),
    ])
    # Cases 35 and 38 (and a rate that is not a number).
    write_csv(landing / "clients" / "clients_odd.csv", CLIENT_COLUMNS, [
        client("SEAT6", "0.6", "2025-06-01"),
        client("SEAT0", "0", "2025-06-01"),
        client("SCOPE1", 5, "2025-06-01", included_scope="onsite_typo;major_migration"),
        client("RATE1", 5, "2025-06-01", hourly_rate="NaN"),
        client("OKAY1", "3.0", "2025-06-01", included_scope="Onsite; procurement"),
    ])
    # A ticket row without an id (quarantined): it must not hide unknown tickets (NOT IN NULL).
    write_csv(landing / "tickets" / "tickets_blank_id.csv", TICKET_COLUMNS, [
        ticket("", "ACME", "2026-01-17T10:00:00Z")])
    # Cases 33 and 34.
    write_csv(landing / "review_decisions" / "review_decisions_odd.csv", DECISION_COLUMNS, [
        {"ticket_id": "A-J00", "decision": "emergency=yes", "reviewer": "kim",
         "decided_at": "2026-01-20T10:00:00Z"},
        {"ticket_id": "NOPE-9", "decision": "emergency=confirmed", "reviewer": "kim",
         "decided_at": "2026-01-20T10:00:00Z"},
        {"ticket_id": "A-J01", "decision": "scope:onsite=approved", "reviewer": "kim",
         "decided_at": "2026-01-20T10:00:00Z"},
    ])
    # Case 31: a later version of ACME's ticket names BETA.
    write_csv(landing / "tickets" / "tickets_client_change.csv", TICKET_COLUMNS, [
        ticket("A-J03", "BETA", "2026-01-12T12:03:00+00:00", updated_at="2026-01-25T09:00:00+00:00"),
    ])


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """The hostile landing folder, materialised once for January 2026 (landing to staging)."""
    root = tmp_path_factory.mktemp("hostile")
    mp = pytest.MonkeyPatch()
    set_msp_paths(mp, root)
    mp.delenv("MSP_AS_OF", raising=False)
    _hostile_landing(root / "landing")
    import pipelines.definitions

    defs = importlib.reload(pipelines.definitions).defs
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
        asset_selection=[dg.AssetKey(name) for name in STAGES], partition_key=JAN,
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False,
    )
    checks = {e.asset_check_evaluation_data.asset_check_key.name: e.asset_check_evaluation_data
              for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"}

    def query(sql: str, params: list | None = None) -> list[tuple]:
        with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
            return con.execute(sql, params or []).fetchall()

    yield {"result": result, "checks": checks, "query": query, "root": root}
    mp.undo()


def _issues(hostile, path: str) -> dict[int, tuple]:
    rows = hostile["query"](
        "SELECT source_row, severity, reason_code, field, message, partition_month, client_id"
        " FROM quality.issues WHERE source_file = ? ORDER BY source_row", [path])
    return {r[0]: r[1:] for r in rows}


def _reconciliation(hostile, path: str) -> tuple:
    return hostile["query"](
        "SELECT delivered, accepted, quarantined, superseded, pending, unaccounted"
        " FROM quality.file_reconciliation WHERE path = ?", [path])[0]


def test_out_of_range_and_unparseable_created_at_are_quarantined_in_an_existing_month(hostile):
    issues = _issues(hostile, "tickets/tickets_ts.csv")
    for row, (tid, value) in enumerate(BAD_CREATED.items(), start=1):
        severity, code, field, message, month, client_id = issues[row]
        expected = "timestamp_out_of_range" if tid in ("TS-1", "TS-2") else "unparseable_timestamp"
        assert (severity, code, field, client_id) == ("row quarantined", expected, "created_at", "ACME")
        assert message.startswith(f"tickets/tickets_ts.csv: row {row}, field created_at: "), message
        assert value[:10] in message
        assert month.isoformat() == JAN, (tid, month)
    assert "before the first month the pipeline covers (2024-01" in issues[1][3]
    assert "in the future" in issues[2][3]
    # Nothing parked in a month that does not exist; the file spans January only.
    assert hostile["query"]("SELECT DISTINCT _partition_month::VARCHAR FROM raw.tickets"
                            " WHERE _source_file = 'tickets/tickets_ts.csv'") == [(JAN,)]
    assert hostile["query"]("SELECT min_month::VARCHAR, max_month::VARCHAR FROM raw.landing_files"
                            " WHERE path = 'tickets/tickets_ts.csv'") == [(JAN, JAN)]
    from pipelines.run import months_with_tickets

    assert months_with_tickets() == [JAN, FEB, "2026-03-01"]  # not every month from 2024 on
    assert hostile["query"]("SELECT ticket_id FROM staging.tickets WHERE ticket_id LIKE 'TS-%'") == [
        ("TS-7",)]
    # Counts reconcile: nothing pending for ever.
    assert _reconciliation(hostile, "tickets/tickets_ts.csv") == (7, 1, 6, 0, 0, 0)


def test_events_of_a_rejected_ticket_point_at_its_rejection(hostile):
    issues = _issues(hostile, "ticket_events/events_ts.csv")
    assert issues[1][1] == issues[2][1] == "ticket_quarantined"
    assert ("the ticket itself is quarantined (see its staging_tickets quarantine row):"
            " tickets/tickets_ts.csv row 1, created_at is before the first month") in issues[1][3]
    assert "tickets/tickets_ts.csv row 3, created_at is not an ISO 8601 timestamp" in issues[2][3]
    # A never-delivered ticket's event dated 1900 is judged in its file's first month.
    assert issues[3][1] == "unknown_ticket" and issues[3][4].isoformat() == JAN
    # A real ticket's event dated 2200 is quarantined, not counted as its first response.
    assert issues[4][1:3] == ("timestamp_out_of_range", "event_at")
    assert _reconciliation(hostile, "ticket_events/events_ts.csv") == (4, 0, 4, 0, 0, 0)


def test_an_entry_delivered_twice_with_the_instant_spelt_otherwise_counts_once(hostile):
    rows = hostile["query"]("SELECT minutes FROM staging.time_entries"
                            " WHERE ticket_id = 'A-J01' AND note = 'server swap'")
    assert rows == [(120.0,)]
    a = _reconciliation(hostile, "time_entries/te_a.jsonl")
    b = _reconciliation(hostile, "time_entries/te_b.jsonl")
    assert sorted([a, b]) == [(1, 0, 0, 1, 0, 0), (1, 1, 0, 0, 0, 0)]


def test_numbers_that_are_not_minutes_are_quarantined_at_staging(hostile):
    issues = _issues(hostile, "time_entries/te_numbers.csv")
    codes = {row: (code, field) for row, (_, code, field, *_rest) in issues.items()}
    assert codes == {1: ("invalid_number", "minutes"), 2: ("invalid_number", "minutes"),
                     3: ("invalid_number", "minutes"), 4: ("negative_minutes", "minutes"),
                     5: ("invalid_number", "minutes")}
    assert "time_entries/te_numbers.csv: row 1, field minutes: minutes is not a finite number" \
        in issues[1][3]
    assert "1440" in issues[5][3]
    assert hostile["query"]("SELECT minutes FROM staging.time_entries"
                            " WHERE _source_file = 'time_entries/te_numbers.csv'") == [(45.0,)]
    # Quarantined at staging, so the blocking suite has nothing to fail on.
    assert hostile["checks"]["staging_time_entries_values"].passed
    assert _reconciliation(hostile, "time_entries/te_numbers.csv") == (6, 1, 5, 0, 0, 0)


def test_seats_and_rates_that_are_not_whole_or_finite_are_quarantined(hostile):
    issues = _issues(hostile, "clients/clients_odd.csv")
    assert issues[1][1:3] == ("invalid_number", "seats")  # 0.6, not rounded to 1
    assert issues[2][1:3] == ("invalid_number", "seats")
    assert issues[4][1:3] == ("invalid_number", "hourly_rate")
    staged = dict(hostile["query"]("SELECT client_id, seats FROM staging.clients"))
    assert "SEAT6" not in staged and "SEAT0" not in staged and staged["OKAY1"] == 3


def test_unknown_scope_ids_in_a_contract_are_named(hostile):
    issues = _issues(hostile, "clients/clients_odd.csv")
    severity, code, field, message, _, client_id = issues[3]
    assert (severity, code, field, client_id) == ("row quarantined", "unknown_scope", "included_scope",
                                                  "SCOPE1")
    assert "onsite_typo" in message.split("(value")[0] and "major_migration" not in \
        message.split("(known")[0].split(": ", 3)[-1]
    assert hostile["query"]("SELECT included_scope FROM staging.clients WHERE client_id = 'OKAY1'") == [
        (["onsite", "procurement"],)]


def test_review_decisions_of_unknown_tickets_are_quarantined_with_their_client(hostile):
    issues = _issues(hostile, "review_decisions/review_decisions_odd.csv")
    assert issues[1][1] == "invalid_decision" and issues[1][5] == "ACME"  # first run, ticket known
    assert issues[2][1:3] == ("unknown_ticket", "ticket_id")
    assert issues[2][5] is None
    assert 3 not in issues
    assert hostile["query"]("SELECT ticket_id FROM staging.review_decisions") == [("A-J01",)]
    assert _reconciliation(hostile, "review_decisions/review_decisions_odd.csv") == (3, 1, 2, 0, 0, 0)


def test_a_later_version_naming_another_client_is_warned_about(hostile):
    issues = _issues(hostile, "tickets/tickets_client_change.csv")
    severity, code, field, message, _, client_id = issues[1]
    assert (severity, code, field, client_id) == ("warning", "client_changed", "client_id", "BETA")
    assert "for client ACME (tickets/tickets_2026-01.csv row 4)" in message and "BETA" in message
    assert hostile["query"]("SELECT client_id FROM staging.tickets WHERE ticket_id = 'A-J03'") == [
        ("BETA",)]


def test_a_blocking_check_failure_names_file_and_row(hostile, tmp_path):
    """A NaN that reached staging (planted) fails the blocking suite with its file and row named."""
    from data_checks.checks import SPECS
    from data_checks.validation import run_checks
    from orchestration.resources import PipelineSettings
    from policy.paths import policy_file

    copy = tmp_path / "copy.duckdb"
    shutil.copy(hostile["root"] / "warehouse.duckdb", copy)
    settings = PipelineSettings(landing_dir=str(tmp_path), published_dir=str(tmp_path),
                                policy_file=str(policy_file()))
    warned: list[str] = []
    with duckdb.connect(str(copy)) as con:
        con.execute("UPDATE staging.time_entries SET minutes = 'NaN'"
                    " WHERE _source_file = 'time_entries/te_numbers.csv'")
        spec = next(s for s in SPECS if s.name == "staging_time_entries_values")
        result = run_checks([spec], con, settings, [JAN], None, lambda _: None, warned.append)
    assert not result[spec.name][JAN].passed
    assert any("time_entries/te_numbers.csv: row 6 (minutes nan)" in line for line in warned), warned


def test_a_ticket_moved_to_another_month_counts_once_when_only_the_new_month_is_run(
    msp_env, monkeypatch, known_copy
):
    """Case 46: a corrected created_at, and only the new month run (what the CLI user does)."""
    from pipelines.run import run_all
    from pipelines.sensors import months_touched

    monkeypatch.delenv("MSP_AS_OF", raising=False)
    landing = msp_env["landing"]
    known_copy((JAN,))  # the known MSP after its run for January (before: a run of its own)
    import pipelines.definitions

    importlib.reload(pipelines.definitions)
    instance = dg.DagsterInstance.ephemeral()
    moved = write_csv(landing / "tickets" / "tickets_corrected.csv", TICKET_COLUMNS, [
        ticket("A-J00", "ACME", "2026-02-15T09:00:00+00:00", updated_at="2026-02-16T09:00:00+00:00")])
    # The landing sensor runs the old month too, after the new one.
    assert months_touched(landing, [(moved, "tickets")]) == {JAN, FEB}
    run_all([FEB], instance=instance, reports=False, docs=False)

    def query(sql: str) -> list[tuple]:
        with duckdb.connect(str(msp_env["warehouse"]), read_only=True) as con:
            return con.execute(sql).fetchall()

    assert query("SELECT month::VARCHAR FROM staging.tickets WHERE ticket_id = 'A-J00'") == [(FEB,)]
    assert query("SELECT month::VARCHAR FROM marts.ticket_facts WHERE ticket_id = 'A-J00'") == [(FEB,)]
    per_month = dict(query("SELECT month::VARCHAR, sum(tickets) FROM marts.client_month GROUP BY 1"))
    staged = dict(query("SELECT month::VARCHAR, count(*) FROM staging.tickets GROUP BY 1"))
    # 19 delivered in January, one moved to February (14 of its own): each counted once.
    assert per_month == staged == {JAN: 18, FEB: 15}
    assert query("SELECT count(*) FROM quality.stale_months") == [(0,)]


def test_the_sensor_runs_the_month_a_ticket_left_after_the_month_it_moved_to(tmp_path):
    """Case 46 through the landing sensor: runs are queued in order, the old month last."""
    import os

    from orchestration.resources import PipelineSettings
    from pipelines.sensors import landing_sensor
    from policy.paths import policy_file

    landing = tmp_path / "landing"
    known_msp(landing)

    def evaluate(cursor: str | None):
        for path in landing.rglob("*.csv"):  # settled: copied an hour ago
            os.utime(path, (1_700_000_000, 1_700_000_000))
        settings = PipelineSettings(landing_dir=str(landing), published_dir=str(tmp_path / "p"),
                                    policy_file=str(policy_file()))
        return landing_sensor(dg.build_sensor_context(cursor=cursor, resources={"settings": settings}))

    first = evaluate(None)
    write_csv(landing / "tickets" / "tickets_corrected.csv", TICKET_COLUMNS, [
        ticket("A-J00", "ACME", "2026-02-15T09:00:00+00:00", updated_at="2026-02-16T09:00:00+00:00")])
    moved = evaluate(first.cursor)
    assert [r.partition_key for r in moved.run_requests] == [FEB, JAN]


def test_the_tickets_reconcile_check_names_a_lost_row(hostile, tmp_path):
    """The SQL check's failure names the file and row of a raw row found nowhere."""
    from assets.staging import _tickets_reconcile_month

    copy = tmp_path / "copy.duckdb"
    shutil.copy(hostile["root"] / "warehouse.duckdb", copy)
    with duckdb.connect(str(copy)) as con:
        assert _tickets_reconcile_month(con, JAN).passed
        con.execute("DELETE FROM staging.tickets WHERE ticket_id = 'TS-7'")
        lost = _tickets_reconcile_month(con, JAN)
    assert not lost.passed
    assert "e.g. tickets/tickets_ts.csv: row 7 (ticket TS-7) is in none" in lost.description


@pytest.mark.parametrize(("key", "value", "message"), [
    ("future_margin_days", -1, "data_quality.input_limits.future_margin_days: Input should be"
                               " greater than or equal to 0"),
    ("max_entry_minutes", 0, "data_quality.input_limits.max_entry_minutes: Input should be"
                             " greater than 0"),
])
def test_input_limits_are_validated_with_their_key(tmp_path, key, value, message):
    import yaml

    from policy.base import PolicyConfigError
    from policy.config import load_policy
    from policy.paths import PROJECT_ROOT

    data = yaml.safe_load((PROJECT_ROOT / "config" / "policy.yaml").read_text())
    assert data["data_quality"]["input_limits"] == {"future_margin_days": 31, "max_entry_minutes": 1440}
    data["data_quality"]["input_limits"][key] = value
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(PolicyConfigError) as err:
        load_policy(path)
    assert message in str(err.value)
