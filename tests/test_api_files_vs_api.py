"""The same tickets delivered as files or pulled from the Zendesk API give the same marts and reports."""

import importlib
import json
import re
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from demo.generate import generate
from policy.config import load_policy
from tests.api_server import zendesk_account as zda
from tests.api_server.from_canonical import account_from_landing, zendesk_expressible
from tests.api_server.server import ReplayServer
from tests.publish_demo import set_msp_paths
from tests.test_api_sources import EMAIL, FAST, SECRETS, SUBDOMAIN, TOKEN

AS_OF = "2026-11-05T00:00:00+00:00"
# Lineage columns say which file and row a fact came from, not what it says.
VOLATILE = re.compile(r"^_|source_file|source_row")


def _environment(monkeypatch: pytest.MonkeyPatch, root: Path) -> dg.Definitions:
    set_msp_paths(monkeypatch, root)
    monkeypatch.setenv("MSP_AS_OF", AS_OF)
    import pipelines.definitions

    return importlib.reload(pipelines.definitions).defs


def _marts(warehouse: Path) -> dict[str, list[tuple]]:
    """Every marts table, its stable columns, rows sorted."""
    out = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts'"
            " AND table_type = 'BASE TABLE' ORDER BY 1").fetchall()]
        for table in tables:
            columns = [r[0] for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'marts'"
                " AND table_name = ? ORDER BY ordinal_position", [table]).fetchall()]
            keep = ", ".join(f'"{c}"' for c in columns if not VOLATILE.search(c))
            out[table] = con.execute(f"SELECT {keep} FROM marts.{table} ORDER BY ALL").fetchall()
    return out


def _page(path: Path) -> str:
    """A published page without what changes from run to run (figure ids, generation time)."""
    text = path.read_text()
    if path.name == "dashboard.html":
        # Its data-health part lists the deliveries themselves (files here, API batches there):
        # compare every figure, and the delivery register of neither.
        payload = json.loads(re.search(r'id="dashboard-data">(.*?)</script>', text, re.S).group(1))
        for deliveries in ("files", "file_reconciliation"):
            payload.pop(deliveries)
        text = text.split("<h2>Data health</h2>")[0] + json.dumps(payload, sort_keys=True)
    text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<uuid>", text)
    return re.sub(r"(generated|published|run)[^<]{0,40}\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d)?[^<]{0,12}",
                  "<when>", text, flags=re.IGNORECASE)


@pytest.mark.slow  # two full runs of the pipeline
def test_reports_are_the_same_whether_tickets_came_as_files_or_from_the_api(tmp_path, monkeypatch):
    from pipelines.run import run_all

    demo = tmp_path / "demo"
    generate(demo / "landing", demo / "truth", clients=2, months=2, end_month="2026-10")
    policy = load_policy(Path("config/policy.yaml"))
    files, api = tmp_path / "files", tmp_path / "api"
    zendesk_expressible(demo / "landing", files / "landing", dict(policy.priority_lookup()))
    # The API path gets contracts, time entries and reviews as files (Zendesk holds none of them).
    for entity in ("clients", "time_entries", "review_decisions"):
        for path in (files / "landing" / entity).iterdir():
            (api / "landing" / entity).mkdir(parents=True, exist_ok=True)
            (api / "landing" / entity / path.name).write_bytes(path.read_bytes())
    account = account_from_landing(files / "landing", SUBDOMAIN, EMAIL, TOKEN,
                                   (zda.CATEGORY_FIELD, zda.EMERGENCY_FIELD, zda.AFFECTED_FIELD))
    assert len(account.tickets) > 100
    # The pages are compared as HTML: both runs publish without printing PDFs, and without the
    # Data Docs (named by run id and time, they differ from run to run and are not compared).
    monkeypatch.setenv("MSP_CHROMIUM", str(tmp_path / "no-chromium"))

    _environment(monkeypatch, files)
    months = run_all(instance=dg.DagsterInstance.ephemeral(), docs=False)
    assert months == ["2026-09-01", "2026-10-01"]

    with ReplayServer(account) as server:
        for name, value in {"ZENDESK_SUBDOMAIN": SUBDOMAIN, "ZENDESK_EMAIL": EMAIL,
                            "ZENDESK_API_TOKEN": TOKEN,
                            "ZENDESK_BASE_URL": server.url + "/{subdomain}",
                            "ZENDESK_CATEGORY_FIELD_ID": str(zda.CATEGORY_FIELD),
                            "ZENDESK_DECLARED_EMERGENCY_FIELD_ID": str(zda.EMERGENCY_FIELD),
                            "ZENDESK_AFFECTED_USERS_FIELD_ID": str(zda.AFFECTED_FIELD)}.items():
            monkeypatch.setenv(name, value)
        defs = _environment(monkeypatch, api)
        result = defs.resolve_job_def("api_pull_job").execute_in_process(
            instance=dg.DagsterInstance.ephemeral(), asset_selection=[dg.AssetKey("zendesk_pull")],
            run_config={"resources": {"api_pull": {"config": {
                **FAST["resources"]["api_pull"]["config"], "page_size": 100}}}})
        assert result.success
    assert run_all(instance=dg.DagsterInstance.ephemeral(), docs=False) == months

    by_files, by_api = _marts(files / "warehouse.duckdb"), _marts(api / "warehouse.duckdb")
    assert by_files.keys() == by_api.keys() and by_files["client_month"]
    for table in by_files:
        assert by_api[table] == by_files[table], f"marts.{table} differs"
    with duckdb.connect(str(api / "warehouse.duckdb"), read_only=True) as con:
        sources = con.execute("SELECT DISTINCT split_part(_source_file, '/', 1)"
                              " FROM staging.tickets").fetchall()
    assert sources == [("api",)]

    def report_pages(root: Path) -> list[Path]:
        return sorted(p.relative_to(root) for p in root.rglob("*.html"))

    pages = report_pages(files / "published")
    assert pages and pages == report_pages(api / "published")
    for page in pages:
        assert _page(api / "published" / page) == _page(files / "published" / page), page
    published = "\n".join(p.read_text(errors="replace") for p in (api / "published").rglob("*")
                          if p.is_file() and p.suffix in (".html", ".csv", ".json"))
    assert not [s for s in SECRETS if s in published]
