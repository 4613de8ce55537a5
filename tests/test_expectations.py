"""Every great-expectations check passes on clean data and catches a violation planted in a real warehouse.

The warehouse is built once by the real Definitions (demo MSP, 3 clients, 4 months). Each test copies
it, plants violations with SQL, and runs the real asset checks on the copy through Dagster.
"""

import importlib
import json
import multiprocessing
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from data_checks.checks import SPECS
from demo.generate import generate
from tests.publish_demo import set_msp_paths

MONTH = "2026-04-01"
BY_NAME = {spec.name: spec for spec in SPECS}


def _one(table: str, where: str = "", order: str = "rowid", offset: int = 0) -> str:
    """A condition picking one row of the month (by rowid), so each plant touches its own row."""
    month_col = "_partition_month" if table == "raw.tickets" else "month"
    cond = f"{month_col} = DATE '{MONTH}'" + (f" AND {where}" if where else "")
    return (f"rowid = (SELECT rowid FROM {table} WHERE {cond} ORDER BY {order}"
            f" LIMIT 1 OFFSET {offset})")


_FIRST_CLIENT = "client_id = (SELECT min(client_id) FROM staging.clients)"

# check -> (SQL that plants one violation, expectation type that must fail, on which column)
PLANTS: dict[str, tuple[str, str, str]] = {
    "raw_tickets_required_values": (
        f"UPDATE raw.tickets SET client_id = ' ' WHERE {_one('raw.tickets', offset=0)}",
        "expect_column_values_to_not_be_null", "client_id"),
    "raw_tickets_timestamps_readable": (
        f"UPDATE raw.tickets SET updated_at = 'last tuesday' WHERE {_one('raw.tickets', offset=1)}",
        "expect_column_values_to_be_null", "unreadable_updated_at"),
    "raw_tickets_client_known": (
        f"UPDATE raw.tickets SET client_id = 'GHOST' WHERE {_one('raw.tickets', offset=2)}",
        "expect_column_values_to_be_null", "unknown_client_id"),
    "raw_tickets_values_in_sets": (
        f"UPDATE raw.tickets SET source = 'fax' WHERE {_one('raw.tickets', offset=3)}",
        "expect_column_values_to_be_in_set", "source"),
    "raw_tickets_not_in_future": (
        "UPDATE raw.tickets SET created_at = CAST(_loaded_at + INTERVAL 2 DAY AS VARCHAR)"
        f" WHERE {_one('raw.tickets', offset=4)}",
        "expect_column_values_to_be_null", "created_after_load"),
    "raw_clients_timezones_valid": (
        "UPDATE raw.clients SET timezone = 'Mars/Olympus_Mons'"
        " WHERE rowid = (SELECT min(rowid) FROM raw.clients)",
        "expect_column_values_to_be_null", "invalid_timezone"),
    "staging_clients_contracts": (
        f"UPDATE staging.clients SET seats = 0 WHERE {_FIRST_CLIENT}",
        "expect_column_values_to_be_between", "seats"),
    "staging_tickets_ids": (
        "INSERT INTO staging.tickets SELECT * FROM staging.tickets"
        f" WHERE {_one('staging.tickets', order='ticket_id', offset=0)}",
        "expect_column_values_to_be_unique", "ticket_id"),
    "staging_tickets_client_resolves": (
        "UPDATE staging.tickets SET client_id = 'GHOST'"
        f" WHERE {_one('staging.tickets', order='ticket_id', offset=1)}",
        "expect_column_values_to_be_null", "unresolved_client_id"),
    "staging_tickets_priorities": (
        "UPDATE staging.tickets SET triage_priority = 'p1'"
        f" WHERE {_one('staging.tickets', order='ticket_id', offset=2)}",
        "expect_column_values_to_be_in_set", "triage_priority"),
    "staging_tickets_sources": (
        "UPDATE staging.tickets SET source = 'carrier pigeon'"
        f" WHERE {_one('staging.tickets', order='ticket_id', offset=3)}",
        "expect_column_values_to_be_in_set", "source"),
    "staging_tickets_not_in_future": (
        "UPDATE staging.tickets SET created_at = now() + INTERVAL 3 DAY"
        f" WHERE {_one('staging.tickets', order='ticket_id', offset=4)}",
        "expect_column_values_to_be_null", "created_after_load"),
    "staging_tickets_time_order": (
        "UPDATE staging.tickets SET resolved_at = created_at - INTERVAL 1 HOUR"
        f" WHERE {_one('staging.tickets', order='ticket_id', offset=5)}",
        "expect_column_values_to_be_null", "resolved_before_created"),
    "staging_ticket_events_values": (
        f"UPDATE staging.ticket_events SET actor_type = 'robot' WHERE {_one('staging.ticket_events')}",
        "expect_column_values_to_be_in_set", "actor_type"),
    "staging_ticket_events_response_order": (
        "UPDATE staging.ticket_events SET event_at = event_at - INTERVAL 400 DAY WHERE "
        + _one("staging.ticket_events", "actor_type = 'agent'", order="rowid DESC"),
        "expect_column_values_to_be_null", "agent_action_before_creation"),
    "staging_time_entries_values": (
        f"UPDATE staging.time_entries SET minutes = -30 WHERE {_one('staging.time_entries')}",
        "expect_column_values_to_be_between", "minutes"),
    "staging_time_entries_work_types": (
        "UPDATE staging.time_entries SET work_type = 'teleport'"
        f" WHERE {_one('staging.time_entries', order='rowid DESC')}",
        "expect_column_values_to_be_in_set", "work_type"),
    "ticket_facts_ids": (
        "INSERT INTO marts.ticket_facts SELECT * FROM marts.ticket_facts"
        f" WHERE {_one('marts.ticket_facts', order='ticket_id', offset=0)}",
        "expect_column_values_to_be_unique", "ticket_id"),
    "ticket_facts_values_in_sets": (
        "UPDATE marts.ticket_facts SET priority = 'urgent'"
        f" WHERE {_one('marts.ticket_facts', order='ticket_id', offset=1)}",
        "expect_column_values_to_be_in_set", "priority"),
    "ticket_facts_response_clock": (
        "UPDATE marts.ticket_facts SET first_response_at = created_at - INTERVAL 1 HOUR WHERE "
        + _one("marts.ticket_facts", "first_response_at IS NOT NULL", order="ticket_id", offset=2),
        "expect_column_values_to_be_null", "response_before_creation"),
    "ticket_facts_minutes": (
        "UPDATE marts.ticket_facts SET logged_minutes = -5"
        f" WHERE {_one('marts.ticket_facts', order='ticket_id', offset=3)}",
        "expect_column_values_to_be_between", "logged_minutes"),
    "client_month_keys": (
        "INSERT INTO marts.client_month SELECT * FROM marts.client_month"
        f" WHERE {_one('marts.client_month', order='client_id', offset=0)}",
        "expect_compound_columns_to_be_unique", None),
    "client_month_invariants": (
        "UPDATE marts.client_month SET sla_compliance = 1.5"
        f" WHERE {_one('marts.client_month', order='client_id', offset=1)}",
        "expect_column_values_to_be_between", "sla_compliance"),
    "client_month_reconciles": (
        "UPDATE marts.client_month SET tickets = tickets + 1"
        f" WHERE {_one('marts.client_month', order='client_id', offset=2)}",
        "expect_column_values_to_be_between", "tickets_minus_facts"),
    "client_month_volume_anomaly": (
        "UPDATE marts.client_month SET tickets = tickets * 20"
        f" WHERE {_one('marts.client_month', order='client_id', offset=0)}",
        "expect_column_values_to_be_between", "volume_score"),
    "out_of_scope_lines": (
        f"UPDATE marts.out_of_scope SET amount = amount + 10 WHERE {_one('marts.out_of_scope')}",
        "expect_column_values_to_be_between", "amount_minus_hours_x_rate"),
    "client_month_sla_invariants": (
        "UPDATE marts.client_month_sla SET sla_met = sla_tickets + 1"
        f" WHERE {_one('marts.client_month_sla', order='client_id')}",
        "expect_column_pair_values_a_to_be_greater_than_b", None),
}

# check -> a required column renamed away
DROPPED = {
    "raw_tickets_required_columns": ("raw.tickets", "created_at"),
    "raw_clients_required_columns": ("raw.clients", "timezone"),
    "staging_tickets_required_columns": ("staging.tickets", "created_local"),
    "ticket_facts_required_columns": ("marts.ticket_facts", "response_met"),
    "client_month_required_columns": ("marts.client_month", "sla_compliance"),
}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A warehouse built by the real pipeline: 3 clients, January to April 2026 (with Data Docs,
    without reports: the one test that publishes does so on its copy)."""
    root = tmp_path_factory.mktemp("expectations")
    mp = pytest.MonkeyPatch()
    set_msp_paths(mp, root)
    generate(root / "landing", root / "truth", seed=5, clients=3, months=4, end_month="2026-04")
    import pipelines.definitions
    from pipelines.run import run_all

    importlib.reload(pipelines.definitions)
    run_all(["2026-01-01", "2026-02-01", "2026-03-01", MONTH], instance=dg.DagsterInstance.ephemeral(),
            reports=False)
    mp.undo()
    yield root


def _copy(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sql: list[str]) -> Path:
    """A copy of the built warehouse with `sql` applied, set as this test's environment."""
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(built / "warehouse.duckdb", warehouse)
    with duckdb.connect(str(warehouse)) as con:
        for statement in sql:
            con.execute(statement)
    monkeypatch.setenv("MSP_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("MSP_LANDING", str(built / "landing"))
    monkeypatch.setenv("MSP_PUBLISHED", str(tmp_path / "published"))
    return warehouse


def _run(
    selection: dg.AssetSelection, month: str = MONTH, first: str | None = None
) -> dg.ExecuteInProcessResult:
    """Run a selection of the real Definitions (reloaded for this test's environment) for a month,
    or for the months `first` to `month` in one run."""
    import pipelines.definitions
    from orchestration.partitions import monthly_partitions

    defs = importlib.reload(pipelines.definitions).defs
    job = dg.define_asset_job("planted", selection=selection, partitions_def=monthly_partitions)
    merged = dg.Definitions.merge(defs, dg.Definitions(jobs=[job]))
    # A selection of checks alone has no assets to take partitions from: tag the partition.
    tags = {"dagster/partition": month} if first is None else {
        "dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": month}
    return merged.resolve_job_def("planted").execute_in_process(
        tags=tags, instance=dg.DagsterInstance.ephemeral(), raise_on_error=False,
    )


def _evaluations(result: dg.ExecuteInProcessResult) -> dict[str, object]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def _check_keys(names) -> list[dg.AssetCheckKey]:
    return [dg.AssetCheckKey(BY_NAME[n].asset.key, n) for n in names]


def test_every_check_has_a_planted_violation():
    assert set(PLANTS) | set(DROPPED) == set(BY_NAME)


def test_all_checks_pass_on_clean_data(built):
    with duckdb.connect(str(built / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute(
            "SELECT check_name, month, success, rows_validated FROM quality.validation_results"
        ).fetchall()
    validated = {(name, month.isoformat() if month else None) for name, month, _, _ in rows}
    months = {month for _, month in validated if month}
    assert months == {"2026-01-01", "2026-02-01", "2026-03-01", "2026-04-01"}
    expected = {(s.name, m) for s in SPECS if s.partitioned for m in months}
    expected |= {(s.name, None) for s in SPECS if not s.partitioned}
    assert validated == expected
    assert [r for r in rows if not r[2]] == []
    rows_per_check = {name: 0 for name in BY_NAME}
    for name, _, _, count in rows:
        rows_per_check[name] += count
    assert all(rows_per_check.values()), rows_per_check


def test_each_check_catches_its_planted_violation(built, tmp_path, monkeypatch):
    _copy(built, tmp_path, monkeypatch, [sql for sql, _, _ in PLANTS.values()])
    result = _run(dg.AssetSelection.checks(*_check_keys(PLANTS)))
    evaluations = _evaluations(result)
    assert set(evaluations) == set(PLANTS)
    # An asset's suites run in one step, each reported, though blocking ones fail before the last.
    steps = {e.step_key for e in result.all_events if e.is_step_start}
    assert steps == {f"{BY_NAME[n].asset.key.to_python_identifier()}_checks" for n in PLANTS}
    for name, (_, expectation, column) in PLANTS.items():
        evaluation = evaluations[name]
        assert not evaluation.passed, name
        expected = dg.AssetCheckSeverity.ERROR if BY_NAME[name].blocking else dg.AssetCheckSeverity.WARN
        assert evaluation.severity == expected, name
        failed = evaluation.metadata["failed_expectations"].value
        caught = [f for f in failed if f["expectation"] == expectation
                  and (column is None or column in (f["kwargs"].get("column"),
                                                    f["kwargs"].get("column_A")))]
        assert caught, f"{name}: {failed}"


def _stored_results(warehouse: Path, month: str) -> dict[str, dict]:
    """The month's stored GX results by check, without the run's own metadata (ids, times).

    A fetch without ORDER BY may return rows in another order on another run, so the sample of
    failing values is compared as a sorted list and without its row positions.
    """
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute("SELECT check_name, result_json FROM quality.validation_results"
                           " WHERE month = CAST(? AS DATE)", [month]).fetchall()
    out = {}
    for name, result in rows:
        suite = {k: v for k, v in json.loads(result).items() if k != "meta"}
        for expectation in suite["results"]:
            found = expectation["result"]
            found.pop("partial_unexpected_index_list", None)
            for key in ("partial_unexpected_list", "partial_unexpected_counts"):
                if key in found:
                    found[key] = sorted(found[key], key=repr)
        out[name] = suite
    return out


def test_a_range_validates_in_worker_processes_as_one_month_does(built, tmp_path, monkeypatch):
    """Over several months the suites run in GX worker processes: same verdicts, same results."""
    monkeypatch.setenv("MSP_MONTH_WORKERS", "2")
    # Failing partitions this small validate in the run's process unless told otherwise.
    monkeypatch.setattr("data_checks.validation.POOL_ROWS", 0)
    warehouse = _copy(built, tmp_path, monkeypatch, [sql for sql, _, _ in PLANTS.values()])
    planted = dg.AssetSelection.checks(*_check_keys(
        name for name in PLANTS if BY_NAME[name].partitioned))
    _run(planted)  # April alone: validated in this process
    alone = _stored_results(warehouse, MONTH)
    ranged = _evaluations(_run(planted, first="2026-03-01"))
    assert multiprocessing.active_children(), "a range of months starts the GX workers"
    for name, evaluation in ranged.items():
        assert not evaluation.passed, name
        assert evaluation.metadata["failed_months"].value == "2026-04", name
    assert _stored_results(warehouse, MONTH) == alone
    march = _stored_results(warehouse, "2026-03-01")
    assert set(march) == set(alone) and all(r["success"] for r in march.values())


def test_required_columns_checks_catch_a_missing_column(built, tmp_path, monkeypatch):
    _copy(built, tmp_path, monkeypatch, [
        f"ALTER TABLE {table} RENAME COLUMN {column} TO {column}_gone"
        for table, column in DROPPED.values()
    ])
    evaluations = _evaluations(_run(dg.AssetSelection.checks(*_check_keys(DROPPED))))
    for name, (_, column) in DROPPED.items():
        assert not evaluations[name].passed, name
        failed = evaluations[name].metadata["failed_expectations"].value
        assert [(f["kwargs"]["column"], f["sample"]) for f in failed] == [
            ("missing_column", [column])], name


def test_required_columns_checks_catch_a_column_of_another_type(built, tmp_path, monkeypatch):
    """The columns checks compare types with the table's contract too (warehouse.schema.TABLES)."""
    _copy(built, tmp_path, monkeypatch,
          ["ALTER TABLE staging.tickets ALTER COLUMN affected_users TYPE BIGINT"])
    name = "staging_tickets_required_columns"
    evaluation = _evaluations(_run(dg.AssetSelection.checks(*_check_keys([name]))))[name]
    assert not evaluation.passed
    assert [(f["kwargs"]["column"], f["sample"]) for f in
            evaluation.metadata["failed_expectations"].value] == [
        ("wrong_type", ["affected_users is BIGINT, the contract says INTEGER"])]


def test_blocking_failure_stops_publishing_but_a_warning_does_not(built, tmp_path, monkeypatch):
    downstream = dg.AssetSelection.assets("monthly_reports")
    checks = dg.AssetSelection.checks(*_check_keys(["client_month_invariants",
                                                    "client_month_volume_anomaly"]))
    sql, _, _ = PLANTS["client_month_volume_anomaly"]
    monkeypatch.setenv("MSP_CHROMIUM", str(tmp_path / "no-chromium"))  # the HTML is enough here
    (tmp_path / "warn").mkdir()
    _copy(built, tmp_path / "warn", monkeypatch, [sql])
    warned = _run(checks | downstream)
    assert not _evaluations(warned)["client_month_volume_anomaly"].passed
    assert warned.success
    assert (tmp_path / "warn" / "published" / "2026-04" / "index.html").exists()

    (tmp_path / "error").mkdir()
    _copy(built, tmp_path / "error", monkeypatch, [PLANTS["client_month_invariants"][0]])
    blocked = _run(checks | downstream)
    assert not _evaluations(blocked)["client_month_invariants"].passed
    assert not blocked.success
    assert not (tmp_path / "error" / "published" / "2026-04").exists()


def test_data_docs_show_every_check_of_the_month(built, tmp_path, monkeypatch):
    index = built / "published" / ".data_docs" / "2026-04" / "index.html"
    assert index.exists()
    html = index.read_text()
    for spec in SPECS:
        assert spec.name in html, spec.name
    assert "<script" not in html, "the index must work offline"

    # A blocked month: its checks stored their results, and data_docs alone renders the failure.
    _copy(built, tmp_path, monkeypatch, [PLANTS["client_month_invariants"][0]])
    _run(dg.AssetSelection.checks(*_check_keys(["client_month_invariants"])))
    docs = _run(dg.AssetSelection.assets("data_docs"))
    assert docs.success
    folder = tmp_path / "published" / ".data_docs" / "2026-04"
    pages = list((folder / "validations" / "client_month_invariants").rglob("*.html"))
    assert len(pages) == 1
    page = pages[0].read_text()
    assert "Failed" in page and "sla_compliance" in page
    index = (folder / "index.html").read_text()
    assert "1 blocking failure(s)" in index
    assert '<tr class="failed"><td>marts</td><td><a href="validations/client_month_invariants/' in index
    assert not list(folder.parent.glob(".building-*")), "the site is swapped in whole"


def test_data_docs_show_every_expectation_result_and_offending_value_gx_stored(built, tmp_path):
    """Data Docs are written from the stored GX JSON without GX: each result's page shows every
    expectation of its suite, its arguments, its outcome and counts, and a failure's offending
    values with their counts; each suite's page lists its expectations."""
    from html import escape

    from data_checks.data_docs import _results
    from data_checks.docs_pages import result_path, write_docs

    with duckdb.connect(str(built / "warehouse.duckdb"), read_only=True) as con:
        rows = _results(con, MONTH)
    # Fail one stored result as GX reports a failure, so a failure's page is checked too.
    failed = json.loads(rows[-1][5])
    failed["success"] = False
    failed["results"][0]["success"] = False
    failed["results"][0]["result"].update(
        unexpected_count=2, partial_unexpected_list=["GHOST-<1>", "GHOST-<1>"],
        partial_unexpected_counts=[{"value": "GHOST-<1>", "count": 2}])
    rows[-1] = (*rows[-1][:5], json.dumps(failed), False, *rows[-1][7:])
    write_docs(rows, tmp_path)
    for row in rows:
        page = (tmp_path / result_path(row)).read_text()
        result = json.loads(row[5])
        assert ("Succeeded" if result["success"] else "Failed") in page, row[0]
        assert page.count('<tr class="failed">') == sum(not r["success"] for r in result["results"])
        for r in result["results"]:
            config = r["expectation_config"]
            assert config["type"] in page, row[0]
            for key, value in config["kwargs"].items():
                if key != "batch_id":
                    shown = value if isinstance(value, str) else json.dumps(value)
                    assert escape(shown) in page, (row[0], key)
            if "element_count" in r["result"]:
                assert f"{r['result']['element_count']:,} rows" in page, row[0]
        suite = (tmp_path / "expectations" / f"{row[0]}.html").read_text()
        assert all(e["type"] in suite for e in json.loads(row[4])["expectations"]), row[0]
    failing = (tmp_path / result_path(rows[-1])).read_text()
    assert "<td><code>GHOST-&lt;1&gt;</code></td><td>2</td>" in failing
    index = (tmp_path / "index.html").read_text()
    assert all(f'href="{result_path(row)}"' in index for row in rows)
    assert "<script" not in index and "<script" not in failing


def test_data_docs_of_a_range_show_each_months_own_figures(built, tmp_path, monkeypatch):
    """A run over several months writes each month's pages and gives each month's
    materialization its own index and failures, not the run's totals."""
    _copy(built, tmp_path, monkeypatch, [PLANTS["client_month_invariants"][0]])
    _run(dg.AssetSelection.checks(*_check_keys(["client_month_invariants"])))
    result = _run(dg.AssetSelection.assets("data_docs"), first="2026-03-01")
    assert result.success
    shown = {e.partition: e.materialization.metadata for e in result.get_asset_materialization_events()}
    assert set(shown) == {"2026-03-01", MONTH}
    for month, metadata in shown.items():
        assert metadata["index"].value.endswith(f"{month[:7]}/index.html"), month
        assert (tmp_path / "published" / ".data_docs" / month[:7] / "index.html").exists()
    assert shown[MONTH]["failed_blocking_checks"].value == ["2026-04 client_month_invariants"]
    assert shown["2026-03-01"]["failed_blocking_checks"].value == []


def test_docs_list_every_check_with_its_layer_and_severity():
    docs = (Path(__file__).resolve().parents[1] / "docs" / "operations.md").read_text()
    table = {cells[0].strip("` "): (cells[1].strip(), cells[3].strip())
             for line in docs.splitlines() if line.startswith("| `")
             for cells in [line.strip("|").split("|")] if len(cells) == 5}
    assert table == {s.name: (s.layer, "blocking" if s.blocking else "warn") for s in SPECS}


def test_screened_results_are_the_results_gx_gives_on_every_suite(built):
    """Clean months pass in DuckDB without GX validating them: their stored results must be the
    ones GX's own validation of the same rows gives (Data Docs and the metadata read them)."""
    from data_checks.expectations import Suite
    from data_checks.gx_worker import validate_partition
    from data_checks.screen import screen
    from data_checks.validation import _fetch
    from policy.config import load_policy

    policy = load_policy()
    screened = 0
    with duckdb.connect(str(built / "warehouse.duckdb"), read_only=True) as con:
        for spec in SPECS:
            suite = Suite(spec.name, spec.expectations(policy))
            suite_json = json.dumps(suite.to_json_dict(), default=str)
            for month in (["2026-01-01", MONTH] if spec.partitioned else [None]):
                params = {"month": month, "policy": policy}
                data = _fetch(con, spec, params)
                by_gx = validate_partition(data, suite_json, spec.table)
                if callable(spec.fetch):
                    con.register("fetched", data)
                    rows, outcome = screen(con, "SELECT * FROM fetched", {}, suite, spec.table)
                    con.unregister("fetched")
                else:
                    rows, outcome = screen(con, spec.fetch, params, suite, spec.table)
                assert rows == len(data), spec.name
                assert by_gx.success, spec.name
                assert outcome is not None, f"{spec.name}: a passing suite needs GX only to render"
                mine, gxs = json.loads(outcome.result_json), json.loads(by_gx.result_json)
                assert mine["statistics"] == gxs["statistics"], spec.name
                assert (sorted(json.dumps(r, sort_keys=True) for r in mine["results"])
                        == sorted(json.dumps(r, sort_keys=True) for r in gxs["results"])), spec.name
                screened += 1
    assert screened > 50


def test_checks_that_pass_do_not_import_great_expectations(built, tmp_path, monkeypatch):
    """A passing partition's result is written by the screen as GX's JSON, so a run whose checks
    all pass never imports GX (about 4 s of CPU a process); a failing one is validated by GX."""
    warehouse = _copy(built, tmp_path, monkeypatch, [])
    names = [spec.name for spec in SPECS if spec.asset is BY_NAME["client_month_invariants"].asset]
    code = f"""
import sys
import dagster as dg
import duckdb
from tests.test_expectations import _check_keys, _evaluations, _run
checks = dg.AssetSelection.checks(*_check_keys({names!r}))
passed = _evaluations(_run(checks, first="2026-01-01"))
print(all(e.passed for e in passed.values()), "great_expectations" in sys.modules)
with duckdb.connect({str(warehouse)!r}) as con:
    con.execute({PLANTS["client_month_invariants"][0]!r})
failed = _evaluations(_run(checks))["client_month_invariants"]
print(failed.passed, failed.severity == dg.AssetCheckSeverity.ERROR,
      "great_expectations" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True,
                         text=True, cwd=Path(__file__).resolve().parents[1])
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.split("\n")
    assert lines[-3].split() == ["True", "False"], "passing checks imported GX"
    assert lines[-2].split() == ["False", "True", "True"], "a failure is GX's and blocks"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        stored = con.execute("SELECT count(*), count(*) FILTER (WHERE success)"
                             " FROM quality.validation_results WHERE check_name IN ?",
                             [names]).fetchone()
    assert stored == (len(names) * 4, len(names) * 4 - 1)


def test_a_run_with_data_docs_starts_gx_only_for_a_failing_partition(built, tmp_path, monkeypatch):
    """Data Docs need no GX: a one-month run whose checks pass starts no GX process and imports
    no GX. On two cores, the first partition that fails the screen starts one GX worker, which
    validates it (a run over several months starts it at its first check step); the run's own
    process never imports GX, and a blocking failure still blocks."""
    warehouse = _copy(built, tmp_path, monkeypatch, [PLANTS["raw_tickets_values_in_sets"][0]])
    monkeypatch.setenv("MSP_MONTH_WORKERS", "2")

    def checks_of(name: str) -> list[str]:
        return [spec.name for spec in SPECS if spec.asset is BY_NAME[name].asset]

    code = f"""
import sys
import dagster as dg
import duckdb
from data_checks.gx_processes import gx_process, stop_gx_pool
from tests.test_expectations import _check_keys, _evaluations, _run
docs = dg.AssetSelection.assets("data_docs")
passed = _run(dg.AssetSelection.checks(*_check_keys({checks_of("client_month_invariants")!r})) | docs)
print(passed.success, gx_process() is None, "great_expectations" in sys.modules)
warned = _run(dg.AssetSelection.checks(*_check_keys({checks_of("raw_tickets_values_in_sets")!r}))
              | docs)
sets = _evaluations(warned)["raw_tickets_values_in_sets"]
print(sets.passed, sets.severity == dg.AssetCheckSeverity.WARN,
      [e.step_key for e in warned.all_events if e.is_step_success][-1], gx_process() is not None,
      "great_expectations" in sys.modules)
with duckdb.connect({str(warehouse)!r}) as con:
    con.execute({PLANTS["client_month_invariants"][0]!r})
blocked = _run(dg.AssetSelection.checks(*_check_keys({checks_of("client_month_invariants")!r}))
               | docs)
invariants = _evaluations(blocked)["client_month_invariants"]
print(invariants.passed, invariants.severity == dg.AssetCheckSeverity.ERROR,
      any(e.step_key == "data_docs" for e in blocked.all_events if e.is_step_start),
      "great_expectations" in sys.modules)
stop_gx_pool()
ranged = _run(dg.AssetSelection.checks(*_check_keys({checks_of("staging_time_entries_values")!r})),
              first="2026-03-01")
print(ranged.success, gx_process() is not None, "great_expectations" in sys.modules)
stop_gx_pool()
"""
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True,
                         text=True, cwd=Path(__file__).resolve().parents[1])
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.split("\n")
    assert lines[-5].split() == ["True", "True", "False"], "passing checks and Data Docs: no GX"
    assert lines[-4].split() == ["False", "True", "data_docs", "True", "False"]
    assert lines[-3].split() == ["False", "True", "False", "False"], "a blocking failure blocks"
    assert lines[-2].split() == ["True", "True", "False"], "a range run starts GX at its first step"
    pages = tmp_path / "published" / ".data_docs" / MONTH[:7] / "validations"
    assert "Failed" in next((pages / "raw_tickets_values_in_sets").rglob("*.html")).read_text()


def test_a_failing_sql_check_runs_in_its_assets_step_and_blocks(built, tmp_path, monkeypatch):
    """The SQL checks beside an asset (`@sql_check`) run in the asset's one check step, each its
    own blocking asset check: a duplicate fact row fails ticket_facts_one_row_per_ticket and
    the downstream mart does not build."""
    from orchestration.sql_checks import SQL_CHECKS

    _copy(built, tmp_path, monkeypatch, [PLANTS["ticket_facts_ids"][0]])
    facts = [c for c in SQL_CHECKS if c.asset is BY_NAME["ticket_facts_ids"].asset]
    assert [c.name for c in facts] == ["ticket_facts_one_row_per_ticket"]
    keys = [dg.AssetCheckKey(c.asset.key, c.name) for c in facts] + _check_keys(["ticket_facts_ids"])
    result = _run(dg.AssetSelection.checks(*keys) | dg.AssetSelection.assets("out_of_scope"))
    assert {e.step_key for e in result.all_events if e.is_step_start} == {"ticket_facts_checks"}
    evaluations = _evaluations(result)
    one_row = evaluations["ticket_facts_one_row_per_ticket"]
    assert not one_row.passed and one_row.severity == dg.AssetCheckSeverity.ERROR
    assert one_row.metadata["fact_rows"].value == one_row.metadata["distinct_ticket_ids"].value + 1
    assert not evaluations["ticket_facts_ids"].passed
    assert not result.success
    assert not result.get_asset_materialization_events()
