"""Hostile and odd landing files (issue 18, review of 2026-12-03): text from a file never becomes
SQL, links are not followed, no row vanishes unseen, odd names and line endings, edits in place.

One landing folder holds every case and is run once through the real landing -> raw -> staging
assets for January; the edit-in-place cases run the pipeline several times on their own folder.
"""

import importlib
import json
import os
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from demo.generate import CLIENT_COLUMNS, TICKET_COLUMNS
from tests.builders import client, known_msp, ticket, write_csv
from tests.publish_demo import set_msp_paths
from warehouse.sqlquote import reader_path, sql_identifier, sql_literal

JAN = "2026-01-01"
STAGES = ("landing_files", "raw_clients", "raw_review_decisions", "raw_ticket_events",
          "raw_time_entries", "raw_tickets", "staging_clients", "staging_review_decisions",
          "staging_tickets", "staging_ticket_events", "business_calendars", "staging_time_entries")
SECRET = "ZENDESK_API_TOKEN=tok_SECRET123 db_password=hunter2"
# The smallest unquoted cell DuckDB 2.0's CSV reader drops without a reject entry: a line longer
# than its 32 MB read buffer (16 x the 2 MB line limit); 2-30 MB lines are rejected and reported.
DROPPED_CELL = 31 * 1024 * 1024


def _sql_header(target: Path) -> str:
    """The review's case 17 header: an extra column whose name closes the quoted identifier and
    appends a COPY statement that writes `target`."""
    return (
        'ticket_id,event_at,event_type,actor_type,x,"x"") AS _extra FROM (SELECT NULL AS ticket_id,'
        " NULL AS event_at, NULL AS event_type, NULL AS actor_type, NULL AS x, 0 AS _row) WHERE"
        f" false; COPY (SELECT 'written by a CSV header' AS msg) TO '{target}'; SELECT"
        ' json_object(\'a\', ""x"'
    )


def _build(root: Path) -> None:
    landing = root / "landing"
    known_msp(landing)
    tickets = landing / "tickets"
    # Case 17: SQL in a header; case 18: a double quote in a header.
    (landing / "ticket_events" / "ticket_events_extra.csv").write_bytes(
        (_sql_header(root / "pwned.csv") + "\r\n"
         "A-OUT1,2026-01-26T09:00:00+00:00,internal_note,agent,1,2\r\n").encode())
    write_csv(tickets / "tickets_vip.csv", [*TICKET_COLUMNS, 'Customer "VIP" flag', "it's; odd"],
              [ticket("VIP-1", "ACME", "2026-01-15T10:00:00+00:00",
                      **{'Customer "VIP" flag': "yes", "it's; odd": "semi"})])
    # A newline inside a quoted header: the reader returns no row at all, without a word.
    write_csv(tickets / "tickets_header_newline.csv", [*TICKET_COLUMNS, "two\nlines"],
              [ticket("NL-1", "ACME", "2026-01-15T10:30:00+00:00", **{"two\nlines": "x"})])
    # JSON keys that look like SQL or like JSON paths, and a Parquet column with a quote.
    row = ticket("KEY-1", "ACME", "2026-01-15T11:00:00+00:00")
    row.update({'Customer "VIP" flag': "gold", "$.x": "dollar", "x'); DROP TABLE raw.tickets; --": 1})
    (tickets / "tickets_keys.jsonl").write_text(json.dumps(row) + "\n")
    frame = pd.DataFrame([ticket("PQ-1", "ACME", "2026-01-15T12:00:00+00:00")])
    frame['Customer "VIP" flag'] = ["silver"]
    frame.to_parquet(tickets / "tickets_vip.parquet")
    # Case 13: tickets as one JSON array line, not JSON Lines.
    (tickets / "tickets_api.jsonl").write_text(json.dumps(
        [ticket("ARR-1", "BETA", "2026-01-15T13:00:00+00:00", requester="ceo@summit.example")]) + "\n")
    # Case 25: glob characters in a file name.
    write_csv(tickets / "tickets_*.csv", TICKET_COLUMNS,
              [ticket("GLOB-1", "ACME", "2026-01-16T10:00:00+00:00")])
    write_csv(tickets / "tickets_[1].csv", TICKET_COLUMNS,
              [ticket("GLOB-2", "ACME", "2026-01-16T11:00:00+00:00")])
    # Cases 14-16: links out of the landing folder.
    outside = root / "outside"
    outside.mkdir()
    (outside / "secrets.txt").write_text(SECRET + " (operator secrets file outside landing)\n")
    write_csv(outside / "tickets_outside.csv", TICKET_COLUMNS,
              [ticket("OUTSIDE-1", "ACME", "2026-01-17T10:00:00+00:00")])
    write_csv(outside / "dir" / "tickets_in_dir.csv", TICKET_COLUMNS,
              [ticket("OUTSIDE-2", "ACME", "2026-01-17T11:00:00+00:00")])
    os.symlink(outside / "secrets.txt", tickets / "tickets_leak.jsonl")
    os.symlink(outside / "tickets_outside.csv", tickets / "tickets_link.csv")
    os.symlink(outside / "dir", tickets / "extdir")
    # Case 19: CRLF rows, then LF rows appended by hand, quoted fields on both.
    head = ",".join(TICKET_COLUMNS)

    def line(ticket_id: str, hour: int) -> str:
        values = ticket(ticket_id, "ACME", f"2026-01-18T{hour:02d}:00:00+00:00",
                        subject='Printer "jam", again')
        return ",".join('"' + str(values[c]).replace('"', '""') + '"' for c in TICKET_COLUMNS)

    (tickets / "tickets_mixed.csv").write_bytes(
        (f"{head}\r\n{line('MIX-1', 9)}\r\n{line('MIX-2', 10)}\r\n"
         f"{line('MIX-3', 11)}\n{line('MIX-4', 12)}\n").encode())
    # Case 21: a cell so large the reader drops its line without saying so.
    with (tickets / "tickets_big.csv").open("w", newline="") as fh:
        fh.write(head + "\n")
        big = ticket("BIG-1", "ACME", "2026-01-19T10:00:00+00:00", description="x" * DROPPED_CELL)
        fh.write(",".join(str(big[c]) for c in TICKET_COLUMNS) + "\n")
        small = ticket("BIG-2", "ACME", "2026-01-19T11:00:00+00:00")
        fh.write(",".join(str(small[c]) for c in TICKET_COLUMNS) + "\n")
    # Case 40: a key twice in one JSON object.
    (landing / "time_entries").mkdir()
    (landing / "time_entries" / "time_entries_dup.jsonl").write_text(
        '{"ticket_id": "A-OUT1", "started_at": "2026-01-14T11:00:00+00:00", "minutes": 30,'
        ' "minutes": 600, "work_type": "remote"}\n'
        '{"ticket_id": "A-OUT2", "started_at": "2026-01-14T12:00:00+00:00", "minutes": 45,'
        ' "work_type": "remote"}\n')


def _materialise(months: list[str] | None = None) -> dg.ExecuteInProcessResult:
    import pipelines.definitions

    defs = importlib.reload(pipelines.definitions).defs
    job = defs.resolve_implicit_global_asset_job_def()
    result = None
    for month in months or [JAN]:
        result = job.execute_in_process(
            asset_selection=[dg.AssetKey(name) for name in STAGES], partition_key=month,
            instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    return result


def _querier(warehouse: Path):
    def query(sql: str, params: list | None = None) -> list[tuple]:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            return con.execute(sql, params or []).fetchall()
    return query


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    mp = pytest.MonkeyPatch()
    mp.delenv("DAGSTER_HOME", raising=False)
    set_msp_paths(mp, root)
    _build(root)
    result = _materialise()
    yield {"root": root, "result": result, "query": _querier(root / "warehouse.duckdb")}
    mp.undo()


def _reconciliation(query, path: str) -> tuple:
    rows = query("SELECT delivered, accepted, quarantined, superseded, pending, reconciles"
                 " FROM quality.file_reconciliation WHERE path = ?", [path])
    assert len(rows) == 1, rows
    return rows[0]


# -- 1. No text from a file is spliced into SQL (cases 17, 18) -------------------------------

HOSTILE_TEXT = ['Customer "VIP" flag', "it's", "a; DROP TABLE x; --", "line\nbreak\r\n",
                "nul\x00byte", "'\"';\x00\n", "", "[*?]"]


@pytest.mark.parametrize("text", HOSTILE_TEXT)
def test_quoting_helper_round_trips_hostile_text(text):
    with duckdb.connect() as con:
        assert con.execute(f"SELECT {sql_literal(text)}").fetchone()[0] == text
        if "\x00" in text:
            with pytest.raises(ValueError):
                sql_identifier(text)
        elif text:
            assert con.execute(f"SELECT 1 AS {sql_identifier(text)}").description[0][0] == text


def test_reader_path_names_one_file(tmp_path):
    for name in ("t_1.csv", "t_*.csv", "t_?.csv", "t_[1].csv"):
        (tmp_path / name).write_text(f"a\n{name}\n")
    with duckdb.connect() as con:
        for name in ("t_*.csv", "t_?.csv", "t_[1].csv"):
            rows = con.execute("SELECT a FROM read_csv(?, header = true)",
                               [reader_path(str(tmp_path / name))]).fetchall()
            assert rows == [(name,)]


def test_sql_in_a_header_runs_no_sql_and_its_row_loads(hostile):
    query = hostile["query"]
    assert not (hostile["root"] / "pwned.csv").exists()
    rows = query("SELECT ticket_id, event_type, _extra FROM raw.ticket_events"
                 " WHERE _source_file = 'ticket_events/ticket_events_extra.csv'")
    assert len(rows) == 1 and rows[0][:2] == ("A-OUT1", "internal_note")
    extra = json.loads(rows[0][2])
    assert extra["x"] == "1" and [v for k, v in extra.items() if k.startswith('x") AS _extra')] == ["2"]
    assert _reconciliation(query, "ticket_events/ticket_events_extra.csv")[-1]


def test_quote_in_a_header_is_kept_in_extra(hostile):
    query = hostile["query"]
    for path, ticket_id, value in (("tickets/tickets_vip.csv", "VIP-1", "yes"),
                                   ("tickets/tickets_keys.jsonl", "KEY-1", "gold"),
                                   ("tickets/tickets_vip.parquet", "PQ-1", "silver")):
        rows = query("SELECT _extra->>'$.\"Customer \\\"VIP\\\" flag\"', _extra FROM raw.tickets"
                     " WHERE ticket_id = ?", [ticket_id])
        assert rows and json.loads(rows[0][1])['Customer "VIP" flag'] == value, (path, rows)
        assert query("SELECT count(*) FROM staging.tickets WHERE ticket_id = ?", [ticket_id]) == [(1,)]
    extra = json.loads(query("SELECT _extra FROM raw.tickets WHERE ticket_id = 'VIP-1'")[0][0])
    assert extra["it's; odd"] == "semi"
    extra = json.loads(query("SELECT _extra FROM raw.tickets WHERE ticket_id = 'KEY-1'")[0][0])
    assert extra["$.x"] == "dollar" and extra["x'); DROP TABLE raw.tickets; --"] == 1
    assert query("SELECT count(*) > 0 FROM raw.tickets") == [(True,)]


def test_a_file_level_reason_quotes_no_content(hostile):
    query = hostile["query"]
    assert query("SELECT status, reason FROM raw.landing_files WHERE path = 'tickets/tickets_api.jsonl'"
                 ) == [("rejected", "tickets/tickets_api.jsonl: row 1 (line 1): not a valid JSON object"
                        " (no line of the file is a JSON object)")]
    # The start of the line stays in the quality tables, for the person fixing the delivery.
    rows = query("SELECT raw_value FROM quality.quarantine WHERE source_file = 'tickets/tickets_api.jsonl'")
    assert len(rows) == 1 and "ceo@summit.example" in rows[0][0]


# -- 2. Links are not followed (cases 14, 15, 16) --------------------------------------------

def test_symlinks_are_refused_naming_them_and_not_read(hostile):
    query = hostile["query"]
    refused = {r[0]: r[1:] for r in query(
        "SELECT path, status, reason_code, reason, data_rows FROM raw.landing_files"
        " WHERE reason_code = 'symlink'")}
    assert set(refused) == {"tickets/tickets_leak.jsonl", "tickets/tickets_link.csv",
                            "tickets/extdir"}
    for path, (status, _, reason, rows) in refused.items():
        assert status == "rejected" and reason.startswith(path + ":") and rows == 0
        assert "symbolic link" in reason
    assert query("SELECT count(*) FROM quality.issues WHERE reason_code = 'symlink'") == [(3,)]
    assert query("SELECT count(*) FROM raw.tickets WHERE ticket_id LIKE 'OUTSIDE-%'") == [(0,)]
    # Nothing of the linked files' content is anywhere in the warehouse.
    for table in ("raw.landing_files", "quality.quarantine", "quality.warnings", "quality.issues"):
        assert query(f"SELECT count(*) FROM {table} WHERE CAST(COLUMNS(*) AS VARCHAR)"
                     " LIKE '%tok_SECRET%'") == [(0,)], table


# -- 3. No row disappears without a trace (case 21) -------------------------------------------

def test_a_row_the_reader_drops_is_quarantined_line_too_long(hostile):
    query = hostile["query"]
    assert _reconciliation(query, "tickets/tickets_big.csv") == (2, 1, 1, 0, 0, True)
    rows = query("SELECT source_row, reason_code, reason FROM quality.quarantine"
                 " WHERE source_file = 'tickets/tickets_big.csv'")
    assert [r[:2] for r in rows] == [(1, "line_too_long")]
    assert "tickets/tickets_big.csv: row 1" in rows[0][2]
    assert query("SELECT ticket_id, _source_row FROM raw.tickets"
                 " WHERE _source_file = 'tickets/tickets_big.csv'") == [("BIG-2", 2)]


def test_rows_lost_without_a_long_row_reject_the_file(tmp_path):
    from ingest.files import FileRejected
    from ingest.rejects import unseen_rows
    from ingest.scan import scan_bytes

    path = tmp_path / "t.csv"
    path.write_bytes(b'a,b\n1,"x\ny"\n\n2,z\n')
    info = scan_bytes(path)
    assert unseen_rows("t.csv", path, info, 2, []) == []  # quoted newline, blank line: 2 rows
    with pytest.raises(FileRejected) as err:
        unseen_rows("t.csv", path, info, 1, [])
    assert err.value.code == "rows_lost" and err.value.rows == 2
    assert str(err.value) == ("t.csv: row 0: the file holds 2 rows but the reader returned 1; the"
                              " file is not loaded, so no row is lost unseen")


def test_a_newline_in_a_quoted_header_is_read(hostile):
    query = hostile["query"]
    rows = query("SELECT ticket_id, _extra FROM raw.tickets"
                 " WHERE _source_file = 'tickets/tickets_header_newline.csv'")
    assert [r[0] for r in rows] == ["NL-1"] and json.loads(rows[0][1]) == {"two\nlines": "x"}
    assert _reconciliation(query, "tickets/tickets_header_newline.csv") == (1, 1, 0, 0, 0, True)


# -- 4. A file name with glob characters is that one file (case 25) --------------------------

def test_glob_characters_in_a_file_name_read_that_file_only(hostile):
    query = hostile["query"]
    for path, ticket_id in (("tickets/tickets_*.csv", "GLOB-1"), ("tickets/tickets_[1].csv", "GLOB-2")):
        assert query("SELECT data_rows FROM raw.landing_files WHERE path = ?", [path]) == [(1,)]
        assert query("SELECT ticket_id FROM raw.tickets WHERE _source_file = ?", [path]) == [
            (ticket_id,)]
        assert _reconciliation(query, path) == (1, 1, 0, 0, 0, True)
    assert _reconciliation(query, "tickets/tickets_2026-01.csv")[3] == 0


# -- 6. Mixed CRLF and LF line endings (case 19) ----------------------------------------------

def test_mixed_line_endings_are_read(hostile):
    query = hostile["query"]
    rows = query("SELECT ticket_id, subject, _source_row FROM raw.tickets"
                 " WHERE _source_file = 'tickets/tickets_mixed.csv' ORDER BY _source_row")
    assert rows == [(f"MIX-{i}", 'Printer "jam", again', i) for i in range(1, 5)]
    assert _reconciliation(query, "tickets/tickets_mixed.csv") == (4, 4, 0, 0, 0, True)
    warning = query("SELECT message FROM quality.issues WHERE reason_code = 'mixed_line_endings'"
                    " AND source_file = 'tickets/tickets_mixed.csv'")
    assert warning == [("tickets/tickets_mixed.csv: line 4: lines end in CRLF and in LF (line 4 is"
                        " the first to end in LF only); read with both endings",)]


# -- 7. A key twice in one JSON object (case 40) ---------------------------------------------

def test_duplicate_json_key_is_quarantined_naming_it(hostile):
    query = hostile["query"]
    rows = query("SELECT source_row, field, reason_code, reason FROM quality.quarantine"
                 " WHERE source_file = 'time_entries/time_entries_dup.jsonl'")
    assert [r[:3] for r in rows] == [(1, "minutes", "duplicate_key")]
    assert "key minutes appears more than once" in rows[0][3]
    assert query("SELECT ticket_id, minutes FROM raw.time_entries"
                 " WHERE _source_file = 'time_entries/time_entries_dup.jsonl'") == [("A-OUT2", "45")]
    assert _reconciliation(query, "time_entries/time_entries_dup.jsonl") == (2, 1, 1, 0, 0, True)


# -- 5. Files edited in place, deleted or archived (cases 43, 44, 45) ------------------------

def test_edited_and_deleted_landing_files(msp_env):
    landing = msp_env["landing"]
    query = _querier(msp_env["warehouse"])
    jan = known_msp(landing)["jan"]
    assert _materialise().success
    # Rows appended in place: a new delivery of the same path, which supersedes the old one.
    write_csv(landing / "clients" / "clients.csv", CLIENT_COLUMNS, [
        client("ACME", 10, "2025-06-01"),
        client("BETA", 10, "2025-12-01", plan="essentials"),
        client("BETA", 20, "2026-01-16", plan="essentials"),
        client("GAMMA", 5, "2025-06-01"),
    ])
    write_csv(landing / "tickets" / "tickets_2026-01.csv", TICKET_COLUMNS,
              [*jan, ticket("G-1", "GAMMA", "2026-01-21T10:00:00+00:00")])
    result = _materialise()
    assert result.success
    assert all(c.passed for c in (e.asset_check_evaluation_data for e in result.all_events
                                  if e.event_type_value == "ASSET_CHECK_EVALUATION")
               if c.asset_check_key.name.endswith("_files_reconcile"))
    for path, rows in (("clients/clients.csv", 4), ("tickets/tickets_2026-01.csv", len(jan) + 1)):
        records = query("SELECT status, data_rows FROM raw.landing_files WHERE path = ?"
                        " ORDER BY first_seen_at", [path])
        assert records == [("replaced", rows - 1), ("accepted", rows)], path
        raw = "raw.clients" if path.startswith("clients") else "raw.tickets"
        assert query(f"SELECT count(*) FROM {raw} WHERE _source_file = ?", [path]) == [(rows,)]
    bad = query("SELECT path, unaccounted FROM quality.file_reconciliation WHERE unaccounted <> 0")
    assert bad == []
    assert query("SELECT count(*) FROM staging.tickets WHERE ticket_id = 'G-1'") == [(1,)]
    assert query("SELECT count(*) FROM staging.clients WHERE client_id = 'GAMMA'") == [(1,)]
    # A loaded file deleted (archived) from landing: later runs go on; raw keeps its rows.
    shutil.move(landing / "tickets" / "tickets_2026-01.csv", msp_env["landing"].parent / "archived.csv")
    (landing / "clients" / "clients.csv").unlink()
    assert _materialise().success
    assert query("SELECT count(*) FROM raw.tickets WHERE _source_file = 'tickets/tickets_2026-01.csv'"
                 ) == [(len(jan) + 1,)]
    assert query("SELECT count(*) FROM staging.clients") == [(4,)]
    assert query("SELECT count(*) FROM quality.file_reconciliation WHERE NOT reconciles"
                 " AND pending = 0") == [(0,)]
