"""Landing to staging: idempotent loads, re-delivered files, superseding versions, quarantine."""

import json
import os
import shutil

import dagster as dg
import duckdb
import pandas as pd
import pytest

from assets import raw
from demo.generate import TICKET_COLUMNS
from pipelines.resources import build_resources
from tests.builders import known_msp, ticket, write_csv
from tests.conftest import use_build
from warehouse.schema import SCHEMA_VERSION, ensure_warehouse

JAN = "2026-01-01"
FEB = "2026-02-01"
MAR = "2026-03-01"


SNAPSHOT_TABLES = ("raw.landing_files", "raw.tickets", "raw.ticket_events", "staging.tickets",
                   "marts.ticket_facts", "marts.client_month", "quality.quarantine")


def _snapshot(query) -> dict:
    # One statement (one read-only connection to the file) for the seven counts, not seven.
    counts = query("SELECT " + ", ".join(f"(SELECT count(*) FROM {t})" for t in SNAPSHOT_TABLES))
    return dict(zip(SNAPSHOT_TABLES, counts[0], strict=True))


def test_raw_assets_materialize_with_lineage(msp_env, query):
    known_msp(msp_env["landing"])
    result = dg.materialize(
        [raw.landing_files, raw.raw_clients, raw.raw_tickets],
        resources=build_resources(),
        partition_key=JAN,
    )
    assert result.success
    rows = query("SELECT ticket_id, _source_file, _source_row, _partition_month::VARCHAR"
                 " FROM raw.tickets WHERE ticket_id = 'A-J00'")
    assert rows == [("A-J00", "tickets/tickets_2026-01.csv", 1, JAN)]
    assert query("SELECT count(*) FROM raw.tickets WHERE _partition_month = ?", [JAN])[0][0] == 14 + 5
    # Raw is the record: each file is loaded whole, once, so February and March are there too.
    assert query("SELECT count(*) FROM raw.tickets")[0][0] == 14 + 5 + 14 + 4


def test_the_schema_is_written_once_per_code_version(tmp_path):
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    ensure_warehouse(con)
    assert con.execute("SELECT version FROM quality.schema_version").fetchall() == [(SCHEMA_VERSION,)]
    views = "SELECT count(*) FROM duckdb_views() WHERE schema_name = 'quality'"
    assert con.execute(views).fetchone()[0] == 2  # file_reconciliation, issues
    # Same version: the steps of a run do not run the DDL again (a dropped view stays dropped).
    con.execute("DROP VIEW quality.issues")
    ensure_warehouse(con)
    assert con.execute(views).fetchone()[0] == 1
    # A warehouse written by other code gets this code's schema, and its version.
    con.execute("UPDATE quality.schema_version SET version = 'older code'")
    ensure_warehouse(con)
    assert con.execute(views).fetchone()[0] == 2
    assert con.execute("SELECT version FROM quality.schema_version").fetchall() == [(SCHEMA_VERSION,)]
    assert con.execute("SELECT current_setting('TimeZone')").fetchone()[0] == "UTC"
    # Inside a caller's transaction, a current warehouse leaves the transaction usable.
    con.execute("BEGIN TRANSACTION")
    ensure_warehouse(con)
    con.execute("COMMIT")


def test_rerun_and_redelivered_file_add_nothing(msp_env, known_copy, run_pipeline, query):
    known_copy((JAN,))  # the known MSP after its first run for January
    first = _snapshot(query)
    run_pipeline([JAN])
    assert _snapshot(query) == first
    # The same January file delivered again under another name is recorded, not loaded.
    shutil.copy(msp_env["landing"] / "tickets" / "tickets_2026-01.csv",
                msp_env["landing"] / "tickets" / "tickets_2026-01_resent.csv")
    run_pipeline([JAN])
    again = _snapshot(query)
    assert again == dict(first, **{"raw.landing_files": first["raw.landing_files"] + 1})
    status, duplicate_of = query("SELECT status, duplicate_of FROM raw.landing_files"
                                 " WHERE path LIKE '%resent%'")[0]
    assert (status, duplicate_of) == ("duplicate", "tickets/tickets_2026-01.csv")


def test_an_unchanged_file_is_not_read_again_and_a_changed_one_is(msp_env, query):
    known_msp(msp_env["landing"])
    path = msp_env["landing"] / "tickets" / "tickets_2026-01.csv"

    def register() -> dict:
        result = dg.materialize([raw.landing_files], resources=build_resources())
        return result.asset_materializations_for_node("landing_files")[0].metadata[
            "new_files"].value

    assert register()
    relative = "tickets/tickets_2026-01.csv"
    assert query("SELECT modified_ns FROM raw.landing_files WHERE path = ?", [relative]) == [
        (path.stat().st_mtime_ns,)]
    # Touched, same content: known (by its hash), and its new time is remembered.
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert register() == {}
    assert query("SELECT count(*), max(modified_ns) FROM raw.landing_files WHERE path = ?",
                 [relative]) == [(1, path.stat().st_mtime_ns)]
    # Rewritten in place with the same size: the new time makes it read again, a new version.
    data = path.read_bytes()
    path.write_bytes(data.replace(b"Password", b"Passw0rd", 1))
    assert register() == {"accepted": 1}
    assert query("SELECT count(*) FROM raw.landing_files WHERE path = ?", [relative]) == [(2,)]


def test_later_delivery_supersedes_and_raw_keeps_both(msp_env, known_copy, run_pipeline, query):
    known_copy((JAN,))  # the known MSP after its first run for January
    update = ticket("A-J00", "ACME", "2026-01-12T09:00:00+00:00", status="closed",
                    subject="Password reset (solved)", updated_at="2026-01-20T09:00:00+00:00")
    write_csv(msp_env["landing"] / "tickets" / "tickets_2026-01_update.csv", TICKET_COLUMNS,
              [update])
    run_pipeline([JAN])
    assert query("SELECT count(*) FROM raw.tickets WHERE ticket_id = 'A-J00'")[0][0] == 2
    assert query("SELECT status, subject, versions_delivered FROM staging.tickets"
                 " WHERE ticket_id = 'A-J00'") == [("closed", "Password reset (solved)", 2)]
    assert query("SELECT count(*) FROM marts.ticket_facts WHERE ticket_id = 'A-J00'")[0][0] == 1


def test_a_moved_ticket_counts_once_and_the_months_file_reconciliation_covers_its_files(
    msp_env, known_copy, run_pipeline, query
):
    """One delivery of corrections, one run of February, read by two claims that each ran it
    (8 and 12 s of CPU): a ticket moved to another month counts once, also when only its new
    month is run; each month's file reconciliation covers its files with the view's figures."""
    from assets.staging import _files_reconcile
    from warehouse.reconcile import file_reconciliation_sql

    known_copy((JAN, FEB, MAR))  # the known MSP after its first run for January to March
    write_csv(msp_env["landing"] / "tickets" / "tickets_fix.csv", TICKET_COLUMNS, [
        # A-J00 moves to February; a stale version of A-J01 (created in February, updated before
        # January's version) is superseded by January's row, in a file the month does not read.
        ticket("A-J00", "ACME", "2026-02-03T09:00:00+00:00", subject="Password reset",
               updated_at="2026-02-04T09:00:00+00:00"),
        ticket("A-J01", "ACME", "2026-02-05T09:00:00+00:00", updated_at="2026-01-01T00:00:00+00:00"),
    ])
    run_pipeline([FEB])  # only the new month: the stale January copy must go anyway
    assert query("SELECT month::VARCHAR FROM staging.tickets WHERE ticket_id = 'A-J00'") == [
        ("2026-02-01",)]
    assert query("SELECT month::VARCHAR FROM marts.ticket_facts WHERE ticket_id = 'A-J00'") == [
        ("2026-02-01",)]
    # The stale version of A-J01 stays in January, where its latest version is.
    assert query("SELECT month::VARCHAR FROM staging.tickets WHERE ticket_id = 'A-J01'") == [
        ("2026-01-01",)]

    columns = "path, delivered, accepted, quarantined, superseded, pending"
    with duckdb.connect(str(msp_env["warehouse"])) as con:
        for entity in ("tickets", "ticket_events"):
            view = {r[0]: r[1:] for r in con.execute(
                f"SELECT {columns} FROM quality.file_reconciliation WHERE entity = ?", [entity]
            ).fetchall()}
            covered = set()
            for month in (JAN, FEB, MAR):
                scoped = {r[0]: r[1:] for r in con.execute(
                    f"SELECT {columns} FROM ({file_reconciliation_sql((entity,), (month, month))})"
                ).fetchall()}
                assert all(view[path] == row for path, row in scoped.items()), entity
                covered |= set(scoped)
            # Every file with rows is some month's.
            assert covered == {path for path, row in view.items() if row[0]}
        february = {r[0]: r[1:] for r in con.execute(
            f"SELECT {columns} FROM ({file_reconciliation_sql(('tickets',), (FEB, FEB))})").fetchall()}
        assert set(february) == {"tickets/tickets_2026-02.csv", "tickets/tickets_fix.csv"}
        assert february["tickets/tickets_fix.csv"] == (2, 1, 0, 1, 0)
        passed = _files_reconcile(con, "tickets", [FEB])
        assert passed.passed, passed.description
        assert passed.metadata["files_of"].value == "files with rows judged in 2026-02"
        assert passed.metadata["files"].value == 2
        # Over most staged months the check reads every file, the view's cheaper way.
        assert _files_reconcile(con, "tickets", [JAN, FEB]).metadata["files_of"].value == (
            "every delivered file")
        # A row of February lost from staging fails February's check.
        con.execute("DELETE FROM staging.tickets WHERE ticket_id = 'A-J00'")
        lost = _files_reconcile(con, "tickets", [FEB])
        assert not lost.passed
        assert "tickets/tickets_fix.csv: 2 delivered but 0 accepted" in lost.description

    run_pipeline([JAN, FEB])  # re-running January passes its reconciliation check
    # A-J00's January row is recorded as moved to February, and A-J01's stale February row as
    # belonging to January, where its latest version is.
    assert query("SELECT ticket_id, month::VARCHAR, latest_month::VARCHAR, raw_rows"
                 " FROM quality.moved_tickets ORDER BY ALL") == [
        ("A-J00", "2026-01-01", "2026-02-01", 1), ("A-J01", "2026-02-01", "2026-01-01", 1)]
    assert query("SELECT tickets FROM marts.client_month WHERE client_id = 'ACME'"
                 " AND month < '2026-03-01' ORDER BY month") == [(13,), (15,)]


def test_a_months_events_reconciliation_reads_the_files_staging_judged(
    msp_env, known_copy, run_pipeline
):
    """Staging records per month the files it judged; a month's check reconciles those files
    whole (a row of one lost from staging fails it) and reads no other month's files."""
    from assets.staging import _files_reconcile
    from demo.generate import EVENT_COLUMNS
    from warehouse.reconcile import file_reconciliation_sql, recorded_files

    known_copy((JAN, FEB, MAR))

    def event(event_id: str, ticket_id: str, at: str) -> dict:
        return {"event_id": event_id, "ticket_id": ticket_id, "event_at": at,
                "event_type": "agent_reply", "actor_type": "agent", "actor": "sam",
                "is_public": "true"}

    events = msp_env["landing"] / "ticket_events"
    write_csv(events / "ticket_events_2026-02.csv", EVENT_COLUMNS, [
        event("EF1", "A-F00", "2026-02-10T10:00:00+00:00"),
        event("EF2", "A-F01", "2026-02-11T10:00:00+00:00")])
    write_csv(events / "ticket_events_2026-03.csv", EVENT_COLUMNS, [
        event("EM1", "A-M00", "2026-03-10T10:00:00+00:00")])
    run_pipeline([FEB, MAR])
    with duckdb.connect(str(msp_env["warehouse"])) as con:
        recorded: dict[str, set] = {}
        for month, path in con.execute(
                "SELECT CAST(month AS VARCHAR), path FROM quality.judged_files"
                " WHERE stage = 'staging_ticket_events'").fetchall():
            recorded.setdefault(month, set()).update({path} - {None})
        # Every month recorded, with the files the pass over every raw row finds for it.
        for month in (JAN, FEB, MAR):
            found = {r[0] for r in con.execute(
                f"SELECT path FROM ({file_reconciliation_sql(('ticket_events',), (month, month))})"
            ).fetchall()}
            assert recorded[month] == found != set(), month
        jan, feb = "ticket_events/ticket_events_2026-01.csv", "ticket_events/ticket_events_2026-02.csv"
        assert feb in recorded[FEB] and jan not in recorded[FEB]
        # The files named (staging's record) get the figures the pass over every file gives them
        # (the orphan events above: their tickets were never delivered, nor staged, nor quarantined).
        files = recorded_files(con, ("ticket_events",), (FEB, FEB))
        scoped = file_reconciliation_sql(("ticket_events",), (FEB, FEB), files=files)
        named = con.execute(f"SELECT * FROM ({scoped}) ORDER BY path").fetchall()
        whole = con.execute(f"SELECT * FROM ({file_reconciliation_sql(('ticket_events',))})"
                            " WHERE path IN (SELECT unnest($paths)) ORDER BY path",
                            {"paths": sorted(files["ticket_events"])}).fetchall()
        assert named == whole and len(named) == len(files["ticket_events"])
        # A staged row lost from a file of February and one from a file of January.
        for path in (jan, feb):
            con.execute("DELETE FROM staging.ticket_events WHERE _source_file = ? AND _source_row ="
                        " (SELECT min(_source_row) FROM staging.ticket_events WHERE _source_file = ?)",
                        [path, path])
        lost = _files_reconcile(con, "ticket_events", [FEB])
        assert not lost.passed
        assert lost.metadata["files_of"].value == "files staging judged in 2026-02"
        assert lost.metadata["files"].value == len(recorded[FEB])
        assert feb in lost.description and jan not in lost.description
        # Every file, as a full run checks: both losses.
        everything = _files_reconcile(con, "ticket_events")
        assert jan in everything.description and feb in everything.description
        # A file registered before the record but loaded into raw after it may hold the month's
        # rows: it joins the month's files. Tickets staged after the record may have moved
        # between months: the record is not used (the pass over every raw row decides).
        mar = "ticket_events/ticket_events_2026-03.csv"
        assert mar not in recorded_files(con, ("ticket_events",), (FEB, FEB))["ticket_events"]
        con.execute("UPDATE raw.landing_files SET loaded_at = now() + INTERVAL 1 HOUR"
                    " WHERE path = ?", [mar])
        assert mar in recorded_files(con, ("ticket_events",), (FEB, FEB))["ticket_events"]
        con.execute("UPDATE quality.stage_runs SET finished_at = now() + INTERVAL 1 HOUR"
                    " WHERE stage = 'staging_tickets' AND partition_month = ?", [JAN])
        assert recorded_files(con, ("ticket_events",), (FEB, FEB)) is None
        con.execute("UPDATE quality.stage_runs SET finished_at = now() - INTERVAL 1 DAY"
                    " WHERE stage = 'staging_tickets'")
        # A month judged before the record existed: its files found by the pass, as before.
        con.execute("DELETE FROM quality.judged_files WHERE month = ? AND file_id IS NULL", [FEB])
        found = _files_reconcile(con, "ticket_events", [FEB])
        assert found.metadata["files_of"].value == "files with rows judged in 2026-02"
        assert feb in found.description and jan not in found.description


def test_raw_loads_record_each_files_loaded_rows(msp_env, known_copy, query):
    """A file's loaded rows are recorded at load, so a run does not count every file's rows in
    raw; a file without the record (loaded before it existed) is counted once, not reloaded."""
    known_copy((JAN,))
    loaded = query("SELECT f.path, f.loaded_rows, (SELECT count(*) FROM raw.ticket_events r"
                   " WHERE r._file_id = f.file_id AND r._source_file = f.path)"
                   " FROM raw.landing_files f WHERE f.entity = 'ticket_events'"
                   " AND f.status = 'accepted'")
    assert loaded and all(recorded == rows > 0 for _, recorded, rows in loaded)
    with duckdb.connect(str(msp_env["warehouse"])) as con:
        con.execute("UPDATE raw.landing_files SET loaded_rows = NULL")
    before = query("SELECT count(*), max(_loaded_at) FROM raw.ticket_events")
    result = dg.materialize([raw.raw_ticket_events], resources=build_resources())
    metadata = result.asset_materializations_for_node("raw_ticket_events")[0].metadata
    assert metadata["files_loaded"].value == 0
    assert query("SELECT count(*), max(_loaded_at) FROM raw.ticket_events") == before
    assert query("SELECT f.path, f.loaded_rows, (SELECT count(*) FROM raw.ticket_events r"
                 " WHERE r._file_id = f.file_id AND r._source_file = f.path)"
                 " FROM raw.landing_files f WHERE f.entity = 'ticket_events'"
                 " AND f.status = 'accepted'") == loaded


# Bad rows, other formats and a broken file, delivered with the known MSP: one run for January
# read by the three tests below (they ran one each before).
EXTRA_TICKETS = [ticket("X-1", "NOPE", "2026-01-05T10:00:00+00:00"),
                 ticket("X-2", "ACME", "2026-01-05T10:00:00+00:00"),
                 ticket("X-3", "ACME", "05/01/2026 10:00")]
MORE_JSONL = [ticket("J-1", "ACME", "2026-01-06T10:00:00Z", note_for_us="kept in _extra"),
              ticket("J-2", "ACME", "2026-01-06T11:00:00")]  # no offset: read as UTC
MORE_PARQUET = [ticket("P-1", "ACME", "2026-01-07T10:00:00+01:00")]


def _known_with_extras(landing) -> None:
    known_msp(landing)
    write_csv(landing / "tickets" / "tickets_extra.csv", TICKET_COLUMNS, EXTRA_TICKETS)
    with (landing / "tickets" / "tickets_more.jsonl").open("w") as fh:
        fh.writelines(json.dumps(t) + "\n" for t in MORE_JSONL)
    pd.DataFrame(MORE_PARQUET).to_parquet(landing / "tickets" / "tickets_more.parquet")
    (landing / "tickets" / "tickets_broken.csv").write_text("id,client\n1,ACME\n")


@pytest.fixture
def extras(builds, msp_env, monkeypatch) -> dict:
    """The known MSP with the extra files above, run for January once per session."""
    return use_build(monkeypatch, builds("known-extras", _known_with_extras, (JAN,)))


def test_bad_rows_go_to_quarantine_and_counts_reconcile(extras, query):
    rows = query("SELECT source_file, source_row, record_key, field, raw_value, reason_code"
                 " FROM quality.quarantine ORDER BY source_row")
    assert ("tickets/tickets_extra.csv", 1, "X-1", "client_id", "NOPE", "unknown_client") in rows
    assert ("tickets/tickets_extra.csv", 3, "X-3", "created_at", "05/01/2026 10:00",
            "unparseable_timestamp") in rows
    raw_rows = query("SELECT count(*) FROM raw.tickets WHERE _partition_month = ?", [JAN])[0][0]
    staged = query("SELECT count(*) FROM staging.tickets")[0][0]
    quarantined = query("SELECT count(*) FROM quality.quarantine"
                        " WHERE stage = 'staging_tickets'")[0][0]
    # The known MSP's 19 January tickets, the 3 extra rows (2 bad), the 3 JSONL and Parquet ones.
    assert (raw_rows, staged, quarantined) == (14 + 5 + 3 + 3, 14 + 5 + 1 + 3, 2)


def test_jsonl_and_parquet_are_accepted(extras, query):
    rows = query("SELECT ticket_id, created_at::VARCHAR FROM staging.tickets"
                 " WHERE ticket_id IN ('J-1', 'J-2', 'P-1') ORDER BY 1")
    assert rows == [("J-1", "2026-01-06 10:00:00+00"), ("J-2", "2026-01-06 11:00:00+00"),
                    ("P-1", "2026-01-07 09:00:00+00")]
    extra_json = query("SELECT _extra FROM raw.tickets WHERE ticket_id = 'J-1'")[0][0]
    assert json.loads(extra_json) == {"note_for_us": "kept in _extra"}


def test_file_missing_required_column_is_rejected_with_its_name(extras, query):
    status, reason = query("SELECT status, reason FROM raw.landing_files"
                           " WHERE path = 'tickets/tickets_broken.csv'")[0]
    assert status == "rejected"
    assert reason == ("tickets/tickets_broken.csv: row 0 (header): missing required column(s)"
                      " ticket_id, client_id, created_at ('client' looks like client_id renamed)")
