"""Mappings for real PSA exports: several files joined on the ticket id, time entries, Excel,
generated ids, explicit day/month order, and the one-command path for any mapping.

The example mappings (HaloPSA, Autotask, ConnectWise, Freshdesk) publish from their example
exports through the command a user runs, `python -m pipelines.run --mapping ... --input ...` (the
real Definitions, reports without PDFs); the other tests run the adapter alone on the smallest
export that shows the case.
"""

import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

import adapters.run as adapter_run
from adapters.adapt import adapt
from adapters.mapping import MappingError, load_mapping
from adapters.sources import datasets_dir
from policy.paths import PROJECT_ROOT
from reports.publish import client_report_name

MAPPINGS = PROJECT_ROOT / "config" / "mappings"
EXAMPLES = PROJECT_ROOT / "adapters" / "examples"


def _landing_rows(landing: Path, entity: str, sql: str = "SELECT *") -> list[tuple]:
    files = sorted((landing / entity).glob("*"))
    assert files, f"no {entity} file in {landing}"
    reader = "read_csv" if files[0].suffix == ".csv" else "read_parquet"
    with duckdb.connect() as con:
        return con.execute(f"{sql} FROM {reader}('{files[0]}', all_varchar = true)"
                           if reader == "read_csv" else f"{sql} FROM {reader}('{files[0]}')"
                           ).fetchall()


def _mapping(tmp_path: Path, text: str, name: str = "my_psa.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _adapt(mapping_path: Path, exports: Path, tmp_path: Path):
    return adapt(load_mapping(mapping_path), exports, tmp_path / "landing", mapping_path)


# --- every shipped mapping is valid --------------------------------------------------------------

def test_every_shipped_mapping_is_valid() -> None:
    names = {load_mapping(p).name for p in MAPPINGS.glob("*.yaml")}
    assert {"halopsa", "autotask", "connectwise", "freshdesk", "servicenow", "bpic2013"} <= names


# --- the examples publish from their example exports, through the user's command ---------------

EXPECTED = {
    # ticket billed out of scope, its hours x the contract rate, time entries, an emergency ticket
    # and its response minutes, a ticket answered the next working morning and its minutes
    "halopsa": dict(tickets=5, entries=4, billed=("1003", "onsite", 2.5, 237.5),
                    emergency="1002", emergency_minutes=10.0, overnight=("1004", 85.0)),
    "autotask": dict(tickets=5, entries=5, billed=("T20250311.0003", "onsite", 3.5, 420.0),
                     emergency="T20250305.0002", emergency_minutes=15.0,
                     overnight=("T20250314.0004", 85.0)),
    "connectwise": dict(tickets=5, entries=4, billed=("CW1203", "onsite", 3.5, 525.0),
                        emergency="CW1202", emergency_minutes=10.0, overnight=("CW1204", 85.0)),
    "freshdesk": dict(tickets=5, entries=4, billed=("FD1203", "onsite", 3.5, 332.5),
                      emergency="FD1202", emergency_minutes=10.0, overnight=("FD1204", 85.0)),
}


# The example run in a fresh interpreter, as the user runs it; the others run the same command's
# `main` in this process (the same code after start-up, without importing the project, Dagster
# and GX again: a third of a small run's CPU).
IN_A_FRESH_INTERPRETER = "halopsa"


def _command_output(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                    capsys: pytest.CaptureFixture) -> str:
    """`python -m pipelines.run --mapping <example> --input <its exports>`: what it printed."""
    paths = {"MSP_WAREHOUSE": str(tmp_path / "warehouse.duckdb"),
             "MSP_LANDING": str(tmp_path / "landing"), "MSP_PUBLISHED": str(tmp_path / "published"),
             "MSP_CHROMIUM": str(tmp_path / "no-chromium")}
    argv = ["--mapping", str(MAPPINGS / f"{name}.yaml"), "--input", str(EXAMPLES / name)]
    if name == IN_A_FRESH_INTERPRETER:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MSP_")}
        env.pop("DAGSTER_HOME", None)
        proc = subprocess.run([sys.executable, "-m", "pipelines.run", *argv], cwd=PROJECT_ROOT,
                              env={**env, **paths}, capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        return proc.stdout
    import pipelines.definitions
    from pipelines.run import main

    _without_msp_settings(monkeypatch)  # what the command sets (MSP_AS_OF...) is undone after
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    for key, value in paths.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(sys, "argv", ["pipelines.run", *argv])
    importlib.reload(pipelines.definitions)  # its resources read this test's paths
    main()
    return capsys.readouterr().out


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_mapping_publishes_from_its_example_export(name: str, tmp_path: Path, monkeypatch,
                                                          capsys) -> None:
    stdout = _command_output(name, tmp_path, monkeypatch, capsys)
    index = tmp_path / "published" / "2025-03" / "index.html"
    assert f"reports:   {index}" in stdout
    want = EXPECTED[name]
    assert f"{want['entries']} time entries" in stdout
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as wh:
        clients = [r[0] for r in wh.execute("SELECT DISTINCT client_id FROM marts.ticket_facts")
                   .fetchall()]
        # Nothing refused: every delivered row of every file reached staging.
        assert wh.execute("SELECT count(*) FROM quality.quarantine").fetchone()[0] == 0
        assert wh.execute("SELECT count(*) FROM marts.ticket_facts").fetchone()[0] == want["tickets"]
        assert wh.execute("SELECT count(*) FROM staging.time_entries").fetchone()[0] == want["entries"]
        # The hours became billable time: the onsite ticket is billed hours x the contract rate.
        assert wh.execute(
            "SELECT ticket_id, primary_category, billable_hours, amount FROM marts.out_of_scope"
        ).fetchall() == [want["billed"]]
        facts = {r[0]: r[1:] for r in wh.execute(
            "SELECT ticket_id, target_priority, response_business_minutes, response_status"
            " FROM marts.ticket_facts").fetchall()}
    assert facts[want["emergency"]] == ("emergency", want["emergency_minutes"], "met")
    ticket, minutes = want["overnight"]
    assert facts[ticket][1:] == (minutes, "met")
    published = {p.name for p in index.parent.iterdir()}
    assert {client_report_name(c) for c in clients} <= published
    assert not any(p.endswith(".pdf") for p in published)


def _without_msp_settings(monkeypatch) -> None:
    # Set, then removed: monkeypatch records each key, so what the mapping run sets is undone
    # afterwards (a leaked MSP_AS_OF in 2025 would cut every later test's time entries).
    for key in {*[k for k in os.environ if k.startswith("MSP_")], "MSP_LANDING", "MSP_PUBLISHED",
                "MSP_WAREHOUSE", "MSP_PARTITIONS_START", "MSP_AS_OF"}:
        monkeypatch.setenv(key, "")
        monkeypatch.delenv(key)


def test_mapping_runs_into_its_own_data_folder(tmp_path: Path, monkeypatch) -> None:
    """Without MSP_* paths, a mapping's run lives in data/<mapping name>/, rebuilt each time."""
    _without_msp_settings(monkeypatch)
    monkeypatch.setattr(adapter_run, "PROJECT_ROOT", tmp_path)
    stale = tmp_path / "data" / "connectwise" / "landing" / "tickets" / "old.csv"
    stale.parent.mkdir(parents=True)
    stale.write_text("ticket_id\nold\n")
    result = adapter_run.prepare_mapping(MAPPINGS / "connectwise.yaml", EXAMPLES / "connectwise")
    own = tmp_path / "data" / "connectwise"
    assert os.environ["MSP_LANDING"] == str(own / "landing")
    assert os.environ["MSP_PUBLISHED"] == str(own / "published")
    assert os.environ["MSP_WAREHOUSE"] == str(own / "warehouse.duckdb")
    assert (os.environ["MSP_PARTITIONS_START"], os.environ["MSP_AS_OF"]) == (
        "2025-03-01", "2025-03-20T03:00:00+00:00")
    assert not stale.exists()
    assert Path(result.files["time_entries"]).parent == own / "landing" / "time_entries"


def test_a_failing_mapping_leaves_the_last_run_in_place(tmp_path: Path, monkeypatch) -> None:
    _without_msp_settings(monkeypatch)
    monkeypatch.setattr(adapter_run, "PROJECT_ROOT", tmp_path)
    report = tmp_path / "data" / "connectwise" / "published" / "2025-03" / "index.html"
    report.parent.mkdir(parents=True)
    report.write_text("last good run")
    broken = _mapping(tmp_path, (MAPPINGS / "connectwise.yaml").read_text().replace(
        "{column: Company}", "{column: Customer}"))
    with pytest.raises(MappingError, match="no column 'Customer' in service_tickets.csv"):
        adapter_run.prepare_mapping(broken, EXAMPLES / "connectwise")
    assert report.read_text() == "last good run"
    assert "MSP_LANDING" not in os.environ


def test_mapping_option_needs_input(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    # The command's `main` in this process: the exit code a shell sees is SystemExit's (argparse's
    # error exits 2), without a fresh interpreter importing Dagster to parse two arguments.
    from pipelines.run import main

    monkeypatch.setattr(sys, "argv", ["pipelines.run", "--mapping", "x.yaml"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2
    assert "--mapping and --input go together" in capsys.readouterr().err


# --- several files joined on the ticket id; all but the tickets file optional ---------------------

def test_further_exports_are_optional_and_the_tickets_export_is_not(tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    exports.mkdir()
    shutil.copy(EXAMPLES / "halopsa" / "Tickets.xlsx", exports)
    result = _adapt(MAPPINGS / "halopsa.yaml", exports, tmp_path)
    # Only the creation events of the ticket rows; no actions, so no time entries either.
    assert (result.tickets, result.events, result.time_entries) == (5, 5, 0)
    assert "event_files.actions: no file matching 'Actions*.xlsx' delivered; nothing read from it" \
        in result.notes
    (exports / "Tickets.xlsx").unlink()
    with pytest.raises(MappingError) as err:
        _adapt(MAPPINGS / "halopsa.yaml", exports, tmp_path)
    assert f"source.file: no file matching 'Tickets*.xlsx' in {exports}" in str(err.value)


def test_rows_naming_unknown_tickets_are_kept_and_reported(tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    shutil.copytree(EXAMPLES / "autotask", exports)
    with (exports / "ticket_notes.csv").open("a") as fh:
        fh.write("T20990101.0009,3/21/2025 9:00 AM,Jo Tech,Resource,Client Communication,All,x,y\n")
    result = _adapt(MAPPINGS / "autotask.yaml", exports, tmp_path)
    assert any(n.startswith("event_files.notes: 1 row(s) of ticket_notes.csv name no ticket of the"
                            " tickets export (e.g. T20990101.0009)") for n in result.notes)
    # Written all the same: the pipeline quarantines it as unknown_ticket, so it is counted.
    assert ("T20990101.0009",) in _landing_rows(tmp_path / "landing", "ticket_events",
                                                "SELECT ticket_id")


def test_a_missing_column_of_a_further_export_names_key_and_file(tmp_path: Path) -> None:
    text = (MAPPINGS / "halopsa.yaml").read_text().replace("actor: {column: Who}",
                                                           "actor: {column: Whom}")
    path = _mapping(tmp_path, text)
    with pytest.raises(MappingError) as err:
        _adapt(path, EXAMPLES / "halopsa", tmp_path)
    assert f"{path}: event_files.actions.actor.column: no column 'Whom' in Actions.xlsx" in str(err.value)
    assert "(the columns of Actions.xlsx: Ticket ID, Action Date, Who," in str(err.value)


# --- Excel ----------------------------------------------------------------------------------------

def test_xlsx_sheet_by_name_and_an_unknown_sheet_named(tmp_path: Path) -> None:
    # The tickets workbook's first sheet holds the report's filters; the mapping names "Tickets".
    text = (MAPPINGS / "halopsa.yaml").read_text()
    path = _mapping(tmp_path, text.replace("sheet: Tickets ", "sheet: Tikets "))
    with pytest.raises(MappingError) as err:
        _adapt(path, EXAMPLES / "halopsa", tmp_path)
    assert "Tickets.xlsx: no sheet 'Tikets' (sheets: Report Info, Tickets)" in str(err.value)


# --- time entries from the ticket row ---------------------------------------------------------------

_ROW_HOURS = """
name: row_hours
shape: tickets
tickets:
  ticket_id: id
  client_id: firm
  created_at: {column: opened, type: timestamp}
time_entries:
  started_at: {column: opened, type: timestamp}
  hours: {column: hours}
  work_type: {value: onsite}
  billable: {value: "false"}
clients:
  timezone: Europe/London
"""


def _row_hours(created_at: str | None = None, time_entries: bool = True) -> str:
    """_ROW_HOURS with `created_at` as the tickets' created_at spec (inside its braces), and
    without the time entries section when `time_entries` is false."""
    text = _ROW_HOURS
    if created_at is not None:
        text = text.replace("created_at: {column: opened, type: timestamp}", f"created_at: {{{created_at}}}")
    if not time_entries:
        text = text[:text.index("time_entries:")] + text[text.index("clients:"):]
    return text


def test_hours_on_the_ticket_row_make_one_entry_per_row(tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    export.write_text("id,firm,opened,hours\n"
                      "A,Acme,2025-03-03T10:00:00Z,1:30\n"
                      "B,Acme,2025-03-03T11:00:00Z,0.5\n"
                      "C,Acme,2025-03-03T12:00:00Z,\n"
                      "D,Acme,2025-03-03T13:00:00Z,0\n"
                      "E,Acme,2025-03-03T14:00:00Z,lots\n")
    result = _adapt(_mapping(tmp_path, _ROW_HOURS), export, tmp_path)
    assert result.time_entries == 3
    # h:mm and decimals become minutes; an unreadable amount is written as delivered, so the
    # pipeline quarantines it with its value; no hours (empty or 0) is no entry.
    assert sorted(_landing_rows(tmp_path / "landing", "time_entries",
                                "SELECT entry_id, ticket_id, started_at, minutes, work_type, billable")) == [
        ("A:time:1", "A", "2025-03-03T10:00:00Z", "90.0", "onsite", "false"),
        ("B:time:2", "B", "2025-03-03T11:00:00Z", "30.0", "onsite", "false"),
        ("E:time:5", "E", "2025-03-03T14:00:00Z", "lots", "onsite", "false"),
    ]


_QUOTING = """
name: quoting
shape: tickets
tickets:
  ticket_id: id
  client_id: {value: "O'Brien & Sons"}
  subject: {column: id, template: "{value} ' || 'injected'; --"}
  created_at: opened
  triage_priority: {column: prio, map: {"it's p1": "P1\\0"}, default: "P3"}
clients:
  timezone: Europe/London
"""


def test_mapping_values_with_quotes_and_nul_bytes_are_data_never_sql(tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    export.write_text("id,opened,prio\nA,2025-03-03T10:00:00Z,it's p1\nB,2025-03-03T11:00:00Z,p2\n")
    mapping = _mapping(tmp_path, _QUOTING)
    _adapt(mapping, export, tmp_path)
    rows = sorted(_landing_rows(tmp_path / "landing", "tickets",
                                "SELECT ticket_id, client_id, subject, triage_priority"))
    assert rows == [("A", "O'Brien & Sons", "A ' || 'injected'; --", "P1\x00"),
                    ("B", "O'Brien & Sons", "B ' || 'injected'; --", "P3")]


# --- generated ticket ids -------------------------------------------------------------------------

_NO_ID = """
name: no_id
shape: tickets
tickets:
  ticket_id: {generate: GENERATE}
  client_id: {value: Endava}
  subject: title
  created_at: {value: "2018-03-01T09:00:00Z", type: timestamp}
clients:
  timezone: Europe/London
"""


def test_generated_ticket_ids(tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    export.write_text("title,body\nprinter jam,tray 2\nvpn down,since 9\n")
    rows = _mapping(tmp_path, _NO_ID.replace("{generate: GENERATE}",
                                             "{generate: row_number, template: 'END-{value}'}"))
    _adapt(rows, export, tmp_path)
    assert _landing_rows(tmp_path / "landing", "tickets", "SELECT ticket_id, subject") == [
        ("END-1", "printer jam"), ("END-2", "vpn down")]
    # A hash of chosen columns stays with its row when the export comes in another order.
    hashed = _mapping(tmp_path, _NO_ID.replace("{generate: GENERATE}",
                                               "{generate: hash, columns: [title, body]}"), "h.yaml")
    _adapt(hashed, export, tmp_path / "first")
    export.write_text("title,body\nvpn down,since 9\nprinter jam,tray 2\n")
    _adapt(hashed, export, tmp_path / "second")
    first, second = (dict((s, t) for t, s in _landing_rows(tmp_path / run / "landing", "tickets",
                                                            "SELECT ticket_id, subject"))
                     for run in ("first", "second"))
    assert first == second and len(set(first.values())) == 2
    assert all(len(t) == 12 for t in first.values())


@pytest.mark.parametrize(
    ("spec", "message"),
    [("{generate: hash}", "tickets.ticket_id: Value error, `generate: hash` needs `columns`"),
     ("{column: id, generate: row_number}",
      "tickets.ticket_id: Value error, give exactly one of `column`, `value` or `generate`")],
)
def test_generated_id_spec_is_validated(tmp_path: Path, spec: str, message: str) -> None:
    path = _mapping(tmp_path, _NO_ID.replace("{generate: GENERATE}", spec))
    with pytest.raises(MappingError) as err:
        load_mapping(path)
    assert f"{path}: {message}" in str(err.value)


def test_a_missing_ticket_id_suggests_a_generated_one(tmp_path: Path) -> None:
    path = _mapping(tmp_path, _NO_ID.replace("  ticket_id: {generate: GENERATE}\n", ""))
    with pytest.raises(MappingError) as err:
        load_mapping(path)
    assert "missing required ticket column: ticket_id (an export without one:" in str(err.value)
    assert "generate: row_number" in str(err.value)


# --- day/month order: named, never guessed -----------------------------------------------------------

def test_the_wrong_day_month_order_is_refused_naming_the_values(tmp_path: Path) -> None:
    """The review's trap: UK dates read with a US format; 14 of 20 tickets had moved month."""
    text = (MAPPINGS / "halopsa.yaml").read_text().replace('"%d/%m/%Y %H:%M"', '"%m/%d/%Y %H:%M"')
    path = _mapping(tmp_path, text)
    with pytest.raises(MappingError) as err:
        _adapt(path, EXAMPLES / "halopsa", tmp_path)
    message = str(err.value)
    assert (f"{path}: tickets.created_at.format: 3 value(s) of 'Date Logged' in Tickets.xlsx do not"
            " fit '%m/%d/%Y %H:%M' but fit '%d/%m/%Y %H:%M' (row 3 '13/03/2025 14:00',"
            " row 4 '18/03/2025 16:55', row 5 '21/03/2025 11:00')") in message
    assert "tickets.resolved_at.format: 2 value(s) of 'Date Closed'" in message
    assert "the adapter does not guess" in message
    assert not (tmp_path / "landing").exists()


def test_an_inconsistent_day_month_order_is_refused(tmp_path: Path) -> None:
    mapping = _row_hours("column: opened, type: timestamp, format: '%d/%m/%Y', time_of_day: '09:00'",
                         time_entries=False)
    export = tmp_path / "export.csv"
    export.write_text("id,firm,opened\nA,Acme,14/03/2025\nB,Acme,03/15/2025\nC,Acme,04/03/2025\n")
    with pytest.raises(MappingError) as err:
        _adapt(_mapping(tmp_path, mapping), export, tmp_path)
    assert ("tickets.created_at.format: 1 value(s) of 'opened' in export.csv do not fit '%d/%m/%Y'"
            " but fit '%m/%d/%Y' (row 2 '03/15/2025')") in str(err.value)


def test_an_unnamed_day_month_order_is_refused(tmp_path: Path) -> None:
    mapping = _row_hours(time_entries=False)
    export = tmp_path / "export.csv"
    export.write_text("id,firm,opened\nA,Acme,2025-03-03T10:00:00Z\nB,Acme,03/04/2025 10:00\n")
    with pytest.raises(MappingError) as err:
        _adapt(_mapping(tmp_path, mapping), export, tmp_path)
    assert ("tickets.created_at: 'opened' in export.csv holds dates like row 2 '03/04/2025 10:00'"
            " whose day/month order is ambiguous; name it with `format`") in str(err.value)


def test_dates_that_fit_both_orders_are_read_as_named_with_a_note(tmp_path: Path) -> None:
    mapping = _row_hours("column: opened, type: timestamp, format: '%d/%m/%Y', time_of_day: '09:00'",
                         time_entries=False)
    export = tmp_path / "export.csv"
    export.write_text("id,firm,opened\nA,Acme,03/04/2025\n")
    result = _adapt(_mapping(tmp_path, mapping), export, tmp_path)
    assert _landing_rows(tmp_path / "landing", "tickets", "SELECT created_at") == [
        ("2025-04-03T09:00:00Z",)]
    assert ("tickets.created_at: every value of 'opened' fits both day/month orders; read as"
            " '%d/%m/%Y', as the mapping names it") in result.notes


def test_iso_dates_without_a_time_of_day_are_refused_not_read_as_midnight(tmp_path: Path) -> None:
    mapping = _row_hours(time_entries=False)
    export = tmp_path / "export.csv"
    export.write_text("id,firm,opened\nA,Acme,2025-03-03T10:00:00Z\nB,Acme,2025-03-04\n"
                      "C,Acme,2025-03-05 \n")
    with pytest.raises(MappingError) as err:
        _adapt(_mapping(tmp_path, mapping), export, tmp_path)
    assert ("tickets.created_at: 2 value(s) of 'opened' in export.csv are dates without a time of day"
            " (row 2 '2025-03-04', row 3 '2025-03-05'); name the local time to assume with"
            " `time_of_day`") in str(err.value)
    assert not (tmp_path / "landing").exists()

    # Named, the dates are read at that local time; the full timestamps beside them as they are.
    named = _row_hours("column: opened, type: timestamp, time_of_day: '12:00', timezone: Europe/London",
                       time_entries=False)
    _adapt(_mapping(tmp_path, named), export, tmp_path / "named")
    assert sorted(_landing_rows(tmp_path / "named" / "landing", "tickets",
                                "SELECT ticket_id, created_at")) == [
        ("A", "2025-03-03T10:00:00Z"), ("B", "2025-03-04T12:00:00Z"), ("C", "2025-03-05T12:00:00Z")]


def test_a_time_of_day_applies_only_to_timestamps_without_a_time(tmp_path: Path) -> None:
    for field, message in [
            ("{column: opened, time_of_day: '12:00'}", "`time_of_day` applies only to a timestamp"),
            ("{column: opened, type: timestamp, format: '%d/%m/%Y %H:%M', time_of_day: '12:00'}",
             "`time_of_day` applies only to a timestamp")]:
        path = _mapping(tmp_path, _ROW_HOURS.replace("{column: opened, type: timestamp}", field, 1))
        with pytest.raises(MappingError) as err:
            load_mapping(path)
        assert message in str(err.value)


# --- declared emergency and priority from a value map -----------------------------------------------

def test_declared_emergency_from_a_value_map_with_a_default(tmp_path: Path) -> None:
    result = _adapt(MAPPINGS / "connectwise.yaml", EXAMPLES / "connectwise", tmp_path)
    assert result.unmapped_values == {}   # the default covers every other ticket type
    assert dict(_landing_rows(tmp_path / "landing", "tickets",
                              "SELECT ticket_id, declared_emergency")) == {
        "CW1201": "false", "CW1202": "true", "CW1203": "false", "CW1204": "false", "CW1205": "false"}


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [("  hours: {column: Time Taken}", "  hours: {column: Time Taken}\n  minutes: {column: Mins}",
      "time_entries: Value error, give exactly one of `minutes` or `hours`"),
     ("  ticket_id: {column: Ticket ID}\n  started_at", "  started_at",
      "time_entries: Value error, a time entries `file` needs `ticket_id`"),
     ('    file: "Actions*.xlsx"\n', "", "event_files.actions.file: Field required")],
)
def test_new_sections_are_validated_naming_file_and_key(tmp_path: Path, old: str, new: str,
                                                        message: str) -> None:
    text = (MAPPINGS / "halopsa.yaml").read_text()
    assert old in text
    path = _mapping(tmp_path, text.replace(old, new, 1))
    with pytest.raises(MappingError) as err:
        load_mapping(path)
    assert f"{path}: {message}" in str(err.value)


# --- a real export without an id, client or time ---------------------------------------------------

ENDAVA = datasets_dir() / "endava-tickets"


@pytest.mark.skipif(not ENDAVA.is_dir(), reason=f"{ENDAVA} is absent (set MSP_DATASETS)")
def test_endava_export_gets_hashed_ids_without_preprocessing(tmp_path: Path) -> None:
    """The onboarding review had to prepend an id column with a script; the mapping now makes one."""
    result = _adapt(MAPPINGS / "endava.yaml", ENDAVA, tmp_path)
    assert (result.source_rows, result.tickets, result.rows_without_ticket_id) == (5_431, 5_431, 0)
    with duckdb.connect() as con:
        expected = con.execute(
            f"""SELECT 'END-' || substr(md5(concat_ws(chr(31), coalesce(trim(title), ''),
                                                      coalesce(trim(body), ''))), 1, 12)
                FROM read_csv('{ENDAVA / "all_tickets_subset.csv"}', all_varchar = true)"""
        ).fetchall()
    ids = _landing_rows(tmp_path / "landing", "tickets", "SELECT ticket_id")
    assert sorted(ids) == sorted(expected) and len(set(ids)) == 5_431


def test_old_excel_formats_are_refused_by_name(tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "Tickets.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    path = _mapping(tmp_path, (MAPPINGS / "halopsa.yaml").read_text().replace(
        'file: "Tickets*.xlsx"', 'file: "Tickets*.xls"'))
    with pytest.raises(MappingError) as err:
        _adapt(path, exports, tmp_path)
    assert f"{exports / 'Tickets.xls'}: only .xlsx workbooks are read; save it as .xlsx or .csv" \
        in str(err.value)


def test_make_mapping_runs_the_mapping_command() -> None:
    proc = subprocess.run(["make", "-n", "mapping", "MAPPING=config/mappings/halopsa.yaml",
                           "INPUT=adapters/examples/halopsa"], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert ("-m pipelines.run --mapping config/mappings/halopsa.yaml"
            " --input adapters/examples/halopsa") in proc.stdout


def test_a_date_without_a_time_of_day_is_refused_until_the_mapping_names_one(tmp_path: Path) -> None:
    # Read as midnight, a date-only timesheet made every billable entry after-hours work.
    date_only = _row_hours("column: opened, type: timestamp, format: '%d %b, %Y'")
    with pytest.raises(MappingError) as err:
        load_mapping(_mapping(tmp_path, date_only))
    assert ("tickets.created_at: Value error, format '%d %b, %Y' has a date but no time of day: name"
            " the local time to assume with `time_of_day`") in str(err.value)
    named = _row_hours("column: opened, type: timestamp, format: '%d %b, %Y', time_of_day: '12:30'",
                       time_entries=False)
    export = tmp_path / "export.csv"
    export.write_text('id,firm,opened\nA,Acme,"15 Oct, 2025"\n')
    _adapt(_mapping(tmp_path, named, "named.yaml"), export, tmp_path)
    assert _landing_rows(tmp_path / "landing", "tickets", "SELECT created_at") == [
        ("2025-10-15T12:30:00Z",)]
    with pytest.raises(MappingError, match="time_of_day '25:00' is not a time HH:MM"):
        load_mapping(_mapping(tmp_path, named.replace("'12:30'", "'25:00'"), "bad.yaml"))
