"""Adapters: no-code mappings turn real exports into canonical files that the unchanged pipeline runs on.

The ServiceNow and BPIC tests run the real exports end to end through the same command a user
runs (`python -m pipelines.run --source ...`, the real Definitions) and check the warehouse against
figures computed here independently, straight from the export file.
"""

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from adapters.adapt import adapt, header_names
from adapters.mapping import MappingError, load_mapping
from adapters.reconcile import reconciliation
from adapters.run import run_adapter
from adapters.sources import SOURCES, datasets_dir
from policy.paths import PROJECT_ROOT

DATASETS = datasets_dir()
SERVICENOW = DATASETS / SOURCES["servicenow"].dataset
SERVICENOW_KAGGLE = DATASETS / SOURCES["servicenow_kaggle"].dataset
BPIC = DATASETS / SOURCES["bpic2013"].dataset
needs_datasets = pytest.mark.skipif(
    not DATASETS.is_dir(), reason=f"public datasets folder {DATASETS} is absent (set MSP_DATASETS)"
)


def _run_source(name: str, root: Path) -> subprocess.CompletedProcess:
    """`python -m pipelines.run --source <name>` with its folders under `root`, as a user runs it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MSP_") or k == "MSP_DATASETS"}
    env.update(MSP_DATASETS=str(DATASETS), MSP_WAREHOUSE=str(root / "warehouse.duckdb"),
               MSP_LANDING=str(root / "landing"), MSP_PUBLISHED=str(root / "published"))
    env.pop("DAGSTER_HOME", None)
    result = subprocess.run(
        [sys.executable, "-m", "pipelines.run", "--source", name], cwd=PROJECT_ROOT, env=env,
        capture_output=True, text=True, timeout=1800,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


# --- the mapping file: validated, errors name the file and the key ---------------------------------

def _write_mapping(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    return path


_MINIMAL = """
name: mini
shape: tickets
tickets:
  ticket_id: id
  client_id: firm
  created_at: {column: opened, type: timestamp}
clients:
  timezone: Europe/London
"""


def test_builtin_mappings_are_valid() -> None:
    for source in SOURCES.values():
        assert load_mapping(source.mapping_path).name


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("  timezone: Europe/London", "clients.timezone: Value error, unknown time zone 'Mars/Base'"),
        ("  client_id: firm", "tickets: Value error, not canonical ticket columns: firm_name"),
        ("  created_at: {column: opened, type: timestamp}",
         "tickets.created_at: Value error, `format` only applies to `type: timestamp`"),
        ("shape: tickets", "shape: Input should be 'tickets' or 'event_log'"),
    ],
)
def test_invalid_mapping_names_file_and_key(tmp_path: Path, change: str, message: str) -> None:
    replacement = {
        "  timezone: Europe/London": "  timezone: Mars/Base",
        "  client_id: firm": "  client_id: firm\n  firm_name: firm",
        "  created_at: {column: opened, type: timestamp}": "  created_at: {column: opened, format: '%d'}",
        "shape: tickets": "shape: rows",
    }[change]
    path = _write_mapping(tmp_path, _MINIMAL.replace(change, replacement))
    with pytest.raises(MappingError) as err:
        load_mapping(path)
    assert f"{path}: {message}" in str(err.value)


def test_missing_export_column_names_key_and_column(tmp_path: Path) -> None:
    path = _write_mapping(tmp_path, _MINIMAL)
    export = tmp_path / "export.csv"
    export.write_text("id,company,opened\n1,Acme,2025-01-02T10:00:00Z\n")
    with pytest.raises(MappingError) as err:
        adapt(load_mapping(path), export, tmp_path / "landing", path)
    assert f"{path}: tickets.client_id.column: no column 'firm' in export.csv" in str(err.value)


# --- the custom-CSV example, end to end in-process ----------------------------------------------------

def test_example_helpdesk_end_to_end(msp_env, run_pipeline, query, monkeypatch) -> None:
    result = run_adapter("example_helpdesk", landing=msp_env["landing"], fmt="csv")
    assert (result.tickets, result.events, result.clients) == (6, 16, 2)
    monkeypatch.setenv("MSP_AS_OF", result.as_of)
    assert run_pipeline(["2025-03-01"]) == ["2025-03-01"]

    facts = {r[0]: r[1:] for r in query(
        "SELECT ticket_id, client_id, target_priority, response_business_minutes, response_status,"
        " source_sla_met FROM marts.ticket_facts ORDER BY ticket_id")}
    assert sorted(facts) == ["HD-1001", "HD-1002", "HD-1003", "HD-1004", "HD-1005", "HD-1006"]
    # 09:05 -> 09:40 New York time: 35 business minutes against the normal target.
    assert facts["HD-1001"] == ("Acme Dental", "normal", 35.0, "met", True)
    # Opened 16:55, answered 08:20 next morning: 65 + 20 business minutes (hours 08:00-18:00).
    assert facts["HD-1002"][2:4] == (85.0, "met")
    # Declared an emergency ("Escalated?" = Yes): held to the emergency target, answered in 15.
    assert facts["HD-1003"][1:4] == ("emergency", 15.0, "met")
    # No reply and no source verdict: breached by the export's last instant, not compared.
    assert facts["HD-1005"][1:] == ("high", None, "breached", None)
    # The reply time "03/10/2025 13:00" is not in the mapping's format: quarantined as delivered,
    # so the ticket has no response; the source says its SLA was met.
    assert query(
        "SELECT source_row, record_key, field, raw_value, reason_code FROM quality.quarantine"
        " WHERE entity = 'ticket_events'"
    ) == [(16, "HD-1006", "event_at", "03/10/2025 13:00", "unparseable_timestamp")]
    assert facts["HD-1006"][3:] == ("breached", True)
    contracts = query("SELECT client_id, plan, seats, timezone FROM staging.clients ORDER BY 1")
    assert contracts == [("Acme Dental", "essentials", 12, "America/New_York"),
                         ("Birch Legal", "unlimited", 30, "America/New_York")]
    with duckdb.connect(str(msp_env["warehouse"]), read_only=True) as con:
        figures = reconciliation(con)
    # Compared: 1001, 1002, 1003 agree; 1004 (met in 210 of 480 minutes, source says missed) and
    # 1006 (no readable reply, source says met) disagree.
    assert (figures["compared"], figures["agree"]) == (5, 3)
    assert figures["view_totals"] == {"compared": 5, "agree": 3}


# --- ServiceNow: both published variants read the same ---------------------------------------------

@needs_datasets
def test_servicenow_variants_give_the_same_canonical_files(tmp_path: Path) -> None:
    mapping_path = SOURCES["servicenow"].mapping_path
    assert header_names(SERVICENOW, load_mapping(mapping_path).source)[1] == "incident_state"
    stripped = run_adapter("servicenow", landing=tmp_path / "stripped")
    original = run_adapter("servicenow_kaggle", landing=tmp_path / "original")
    assert (stripped.source_rows, stripped.tickets) == (141_712, 24_918)
    assert (original.source_rows, original.tickets) == (119_998, 20_769)
    con = duckdb.connect()
    for entity in ("tickets", "ticket_events"):
        a, b = (f"read_parquet('{tmp_path}/{v}/{entity}/*.parquet')" for v in ("stripped", "original"))
        differing = con.execute(
            f"SELECT DISTINCT ticket_id FROM (SELECT * EXCLUDE (source_line) FROM {b}"
            f" EXCEPT SELECT * EXCLUDE (source_line) FROM {a})"
        ).fetchall()
        # Only the incident the Kaggle copy cuts off mid-history differs.
        assert differing in ([], [("INC0029233",)]), (entity, differing[:5])
