"""The bad-input catalogue (docs/bad-inputs.md): one landing folder holding every kind of damaged
delivery, run once through the real landing -> raw -> staging assets, then one assertion per case.

Each case names the file, the row and the field in the message a person reads (quality.issues),
and every delivered file reconciles: delivered = accepted + quarantined + superseded.
"""

import importlib
import shutil
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest
import yaml

from demo.generate import TICKET_COLUMNS
from tests.builders import known_msp, ticket, write_csv
from tests.publish_demo import set_msp_paths

JAN = "2026-01-01"
FIXTURES = Path(__file__).parent / "bad_inputs"
STAGES = ("landing_files", "raw_clients", "raw_review_decisions", "raw_ticket_events",
          "raw_time_entries", "raw_tickets", "staging_clients", "staging_review_decisions",
          "staging_tickets", "staging_ticket_events", "business_calendars", "staging_time_entries")


def _csv_bytes(rows: list[dict]) -> str:
    lines = [",".join(TICKET_COLUMNS)]
    lines += [",".join(str(r.get(c, "")) for c in TICKET_COLUMNS) for r in rows]
    return "\n".join(lines) + "\n"


def _build_exact_bytes(landing: Path) -> None:
    """Cases where the bytes matter: encodings, an empty file, Parquet types, sizes, a copy."""
    tickets = landing / "tickets"
    (tickets / "latin1.csv").write_bytes(_csv_bytes([
        ticket("L-1", "ACME", "2026-01-10T10:00:00+00:00", subject="Imprimante bloquée"),
        ticket("L-2", "ACME", "2026-01-10T11:00:00+00:00", subject="Café machine Wi-Fi"),
    ]).encode("latin-1"))
    (tickets / "bom.csv").write_bytes(b"\xef\xbb\xbf" + _csv_bytes([
        ticket("BOM-1", "ACME", "2026-01-10T12:00:00+00:00", subject="Zoë cannot log in"),
    ]).encode("utf-8"))
    good = _csv_bytes([
        ticket("U-1", "ACME", "2026-01-11T10:00:00+00:00", subject="Zoë cannot log in"),
        ticket("U-2", "ACME", "2026-01-11T11:00:00+00:00", subject="@@"),
        ticket("U-3", "ACME", "2026-01-11T12:00:00+00:00"),
    ]).encode("utf-8")
    (tickets / "stray_bytes.csv").write_bytes(good.replace(b"@@", b"Printer \xff\xfe jam"))
    (tickets / "empty.csv").write_bytes(b"")
    frame = pd.DataFrame([ticket("P-1", "ACME", "2026-01-12T10:00:00+00:00")])
    frame["created_at"] = [1768212000]  # epoch seconds as INT64, not a timestamp
    frame.to_parquet(tickets / "wrong_types.parquet")
    write_csv(tickets / "long_description.csv", TICKET_COLUMNS, [
        ticket("BIG-1", "ACME", "2026-01-12T11:00:00+00:00", description="x" * 1_048_576)])
    shutil.copy(tickets / "tickets_2026-01.csv", tickets / "tickets_2026-01_resent.csv")


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory):
    """One landing folder with every bad input, materialised once for January 2026."""
    root = tmp_path_factory.mktemp("bad_inputs")
    mp = pytest.MonkeyPatch()
    set_msp_paths(mp, root)
    landing = root / "landing"
    known_msp(landing)
    shutil.copytree(FIXTURES, landing, dirs_exist_ok=True)
    _build_exact_bytes(landing)
    import pipelines.definitions

    defs = importlib.reload(pipelines.definitions).defs
    job = defs.resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(
        asset_selection=[dg.AssetKey(name) for name in STAGES],
        partition_key=JAN,
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    evaluations = [e.asset_check_evaluation_data for e in result.all_events
                   if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    checks = {c.asset_check_key.name: c.passed for c in evaluations}
    severities = {c.asset_check_key.name: c.severity for c in evaluations}

    def query(sql: str, params: list | None = None) -> list[tuple]:
        with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
            return con.execute(sql, params or []).fetchall()

    yield {"result": result, "checks": checks, "severities": severities, "query": query,
           "warehouse": root / "warehouse.duckdb"}
    mp.undo()


@dataclass(frozen=True)
class Case:
    name: str
    path: str  # relative to the landing folder
    severity: str  # file rejected | row quarantined | warning
    reason_code: str
    row: int | None  # the row the message must name (0 = header)
    field: str | None  # the field the message must name


CASES = [
    Case("unbalanced quotes", "tickets/unbalanced_quote.csv", "file rejected", "unbalanced_quote",
         2, "subject"),
    Case("wrong delimiter", "tickets/semicolon.csv", "file rejected", "wrong_delimiter", 0, None),
    Case("latin-1 file", "tickets/latin1.csv", "warning", "latin1", 1, None),
    Case("BOM-prefixed file", "tickets/bom.csv", "warning", "bom", 0, None),
    Case("non-UTF-8 bytes", "tickets/stray_bytes.csv", "row quarantined", "non_utf8", 2, "subject"),
    Case("missing required column", "tickets/missing_client_id.csv", "file rejected",
         "missing_column", 0, "client_id"),
    Case("renamed column (schema drift)", "tickets/renamed_created.csv", "file rejected",
         "renamed_column", 0, "created_at"),
    Case("extra unknown columns", "tickets/extra_columns.csv", "warning", "unknown_column", 0,
         "sentiment"),
    Case("empty file", "tickets/empty.csv", "file rejected", "empty_file", 0, None),
    Case("file truncated mid-row", "tickets/truncated.csv", "row quarantined", "truncated_row", 3,
         "description"),
    Case("JSON Lines with one broken line", "tickets/one_broken_line.jsonl", "row quarantined",
         "invalid_json", 2, None),
    Case("Parquet with wrong types", "tickets/wrong_types.parquet", "file rejected", "wrong_type", 1,
         "created_at"),
    Case("duplicate ticket ids, conflicting content", "tickets/conflicting_duplicates.csv",
         "warning", "conflicting_duplicate", 1, "ticket_id"),
    Case("same file delivered twice", "tickets/tickets_2026-01_resent.csv", "file duplicate",
         "duplicate_file", None, None),
    Case("ticket for an unknown client", "tickets/bad_rows.csv", "row quarantined",
         "unknown_client", 2, "client_id"),
    Case("unparseable timestamp", "tickets/bad_rows.csv", "row quarantined",
         "unparseable_timestamp", 3, "created_at"),
    Case("timestamps without offset", "tickets/no_offset.csv", "warning",
         "timestamp_without_offset", 1, "created_at"),
    Case("unknown time zone", "clients/clients_unknown_zone.csv", "row quarantined",
         "unknown_timezone", 1, "timezone"),
    Case("ticket of a client whose contract is quarantined", "tickets/bad_rows.csv",
         "row quarantined", "client_quarantined", 5, "client_id"),
    Case("response before creation", "ticket_events/events_bad.csv", "warning", "before_creation",
         1, "event_at"),
    Case("event for a ticket never delivered", "ticket_events/events_bad.csv", "row quarantined",
         "unknown_ticket", 2, "ticket_id"),
    Case("event of a quarantined ticket", "ticket_events/events_bad.csv", "row quarantined",
         "ticket_quarantined", 3, "ticket_id"),
    Case("negative minutes", "time_entries/entries_negative.csv", "row quarantined",
         "negative_minutes", 2, "minutes"),
    Case("priority value not in the map", "tickets/bad_rows.csv", "warning", "unknown_priority", 4,
         "final_priority"),
    Case("1 MB description", "tickets/long_description.csv", "warning", "long_text", 1,
         "description"),
]


def _issue(catalogue, case: Case) -> tuple[str, str]:
    if case.severity == "file duplicate":
        rows = catalogue["query"]("SELECT 'file duplicate', reason FROM raw.landing_files"
                                  " WHERE path = ? AND reason_code = ?", [case.path, case.reason_code])
    else:
        rows = catalogue["query"](
            "SELECT severity, message FROM quality.issues WHERE source_file = ? AND reason_code = ?"
            " ORDER BY source_row NULLS FIRST", [case.path, case.reason_code])
    assert rows, f"no {case.reason_code} issue for {case.path}"
    return rows[0]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_message_names_file_row_and_field(catalogue, case):
    severity, message = _issue(catalogue, case)
    assert severity == case.severity
    assert case.path in message
    if case.row is not None:
        assert f"row {case.row}" in message, message
    if case.field is not None:
        assert case.field in message, message


def test_every_delivered_file_reconciles(catalogue):
    query = catalogue["query"]
    rows = query("SELECT path, delivered, accepted, quarantined, superseded, pending, reconciles"
                 " FROM quality.file_reconciliation WHERE pending = 0 ORDER BY path")
    assert rows and all(r[6] for r in rows), [r for r in rows if not r[6]]
    # Only the February and March files of the known MSP wait for their months to be run.
    pending = query("SELECT path FROM quality.file_reconciliation WHERE pending > 0 ORDER BY 1")
    assert pending == [("tickets/tickets_2026-02.csv",), ("tickets/tickets_2026-03.csv",)]
    assert query("SELECT count(*) FROM quality.file_reconciliation WHERE unaccounted <> 0") == [(0,)]
    failed = {name for name, passed in catalogue["checks"].items() if not passed}
    # The great-expectations suites see the catalogue's damage and warn about it, naming each
    # kind; nothing that would block publishing fails, because the damage is quarantined.
    assert failed == {"raw_clients_timezones_valid", "raw_tickets_client_known",
                      "raw_tickets_timestamps_readable", "raw_tickets_values_in_sets",
                      "staging_ticket_events_response_order"}
    assert {catalogue["severities"][name] for name in failed} == {dg.AssetCheckSeverity.WARN}
    assert {"tickets_files_reconcile", "ticket_events_files_reconcile",
            "time_entries_files_reconcile", "clients_files_reconcile"} <= set(catalogue["checks"])


def test_rejected_files_count_whole_in_reconciliation(catalogue):
    rows = catalogue["query"](
        "SELECT path, delivered, accepted, quarantined FROM quality.file_reconciliation"
        " WHERE status = 'rejected' ORDER BY path")
    by_path = {r[0]: r[1:] for r in rows}
    assert by_path["tickets/unbalanced_quote.csv"] == (3, 0, 3)
    assert by_path["tickets/empty.csv"] == (0, 0, 0)
    assert by_path["tickets/semicolon.csv"] == (1, 0, 1)
    assert by_path["tickets/wrong_types.parquet"] == (1, 0, 1)  # the footer's row count


def test_good_rows_of_damaged_files_are_loaded(catalogue):
    query = catalogue["query"]
    staged = {r[0]: r[1:] for r in query(
        "SELECT ticket_id, subject, created_at::VARCHAR, final_priority FROM staging.tickets")}
    # Latin-1 and BOM files load with their text intact.
    assert staged["L-1"][0] == "Imprimante bloquée" and staged["L-2"][0] == "Café machine Wi-Fi"
    assert staged["BOM-1"][0] == "Zoë cannot log in"
    # The readable rows around a stray byte, a cut-off last row and a broken JSON line load.
    assert {"U-1", "U-3", "T-1", "T-2", "J-1", "J-3"} <= set(staged)
    assert not {"U-2", "T-3", "J-2"} & set(staged)
    # Row numbers after a row the reader set aside still point at the delivered row.
    assert query("SELECT _source_row FROM raw.tickets WHERE ticket_id = 'U-3'") == [(3,)]
    assert query("SELECT _source_row FROM raw.tickets WHERE ticket_id = 'J-3'") == [(3,)]
    # Offset-less timestamps read as UTC; an explicit offset is honoured.
    assert staged["N-1"][1] == "2026-01-09 10:00:00+00"
    assert staged["N-2"][1] == "2026-01-09 10:00:00+00"
    # The later of two conflicting rows wins; the unknown priority stays empty, never guessed.
    assert staged["D-1"][0] == "VPN slow"
    assert staged["B-4"][2] is None
    assert query("SELECT length(description) FROM staging.tickets WHERE ticket_id = 'BIG-1'") == [
        (1_048_576,)]
    # Unknown columns are kept, not dropped.
    assert query("SELECT _extra->>'sentiment' FROM raw.tickets WHERE ticket_id = 'X-1'") == [("angry",)]


def test_quarantine_keeps_the_delivered_value_and_client(catalogue):
    query = catalogue["query"]
    rows = query("SELECT source_row, field, raw_value, client_id FROM quality.quarantine"
                 " WHERE source_file = 'tickets/bad_rows.csv' ORDER BY source_row")
    assert rows == [(2, "client_id", "NOPE", "NOPE"), (3, "created_at", "08/01/2026 10:00", "ACME"),
                    (5, "client_id", "ZONE", "ZONE")]
    truncated = query("SELECT raw_value, client_id FROM quality.quarantine"
                      " WHERE source_file = 'tickets/truncated.csv'")
    assert truncated == [("T-3,ACME,t3@x.example,2026-01-05T12:00:00+00:00,Pass", "ACME")]
    # Raw keeps the rejected ticket and the superseded duplicate as delivered.
    assert query("SELECT count(*) FROM raw.tickets WHERE ticket_id = 'D-1'") == [(2,)]
    assert query("SELECT count(*) FROM raw.tickets WHERE ticket_id = 'B-2'") == [(1,)]


def test_invalid_policy_config_names_file_and_key(msp_env, monkeypatch, tmp_path, run_pipeline):
    from policy.base import PolicyConfigError
    from policy.paths import PROJECT_ROOT

    data = yaml.safe_load((PROJECT_ROOT / "config" / "policy.yaml").read_text())
    data["response_targets_minutes"]["high"] = -5
    bad = tmp_path / "policy.yaml"
    bad.write_text(yaml.safe_dump(data))
    monkeypatch.setenv("MSP_POLICY", str(bad))
    known_msp(msp_env["landing"])
    import pipelines.definitions

    importlib.reload(pipelines.definitions)
    with pytest.raises(PolicyConfigError) as err:
        run_pipeline([JAN])
    assert str(bad) in str(err.value)
    assert "response_targets_minutes.high: Input should be greater than 0" in str(err.value)


def test_reconciliation_check_fails_on_a_lost_or_doubled_row(catalogue, tmp_path):
    from assets.staging import _files_reconcile

    copy = tmp_path / "copy.duckdb"
    shutil.copy(catalogue["warehouse"], copy)
    with duckdb.connect(str(copy)) as con:
        assert _files_reconcile(con, "tickets").passed
        # A staged row that vanishes is a lost row ...
        con.execute("DELETE FROM staging.tickets WHERE ticket_id = 'L-1'")
        lost = _files_reconcile(con, "tickets")
        assert not lost.passed
        assert "tickets/latin1.csv: 2 delivered but 1 accepted" in lost.description
        # ... and an accepted row that is also quarantined is counted twice.
        con.execute("""INSERT INTO quality.quarantine BY NAME
                       SELECT 'staging_ticket_events' AS stage, 'ticket_events' AS entity,
                              'ticket_events/events_bad.csv' AS source_file, 1 AS source_row,
                              'test' AS reason_code, 'test' AS reason, now() AS detected_at""")
        doubled = _files_reconcile(con, "ticket_events")
        assert not doubled.passed and "ticket_events/events_bad.csv" in doubled.description
