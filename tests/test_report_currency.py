"""Currency per client from the contract (issue 20, item 8): the clients file may name an ISO 4217
currency per contract (the policy's currency when it names none); amounts are billed, totalled and
shown in it, and amounts in two currencies are never added together."""

import csv
import json
import re

import duckdb
import openpyxl
import pytest

from tests import report_msp
from tests.publish_demo import msp_paths
from tests.test_report_editions import _text


@pytest.fixture
def msp(tmp_path, tmp_path_factory):
    """A copy of the report MSP (built once per process) to change and re-run."""
    report_msp.copy_built(tmp_path_factory, tmp_path)
    with msp_paths(tmp_path) as env:
        yield env


def test_each_client_is_billed_and_totalled_in_its_contract_currency(msp, tmp_path):
    path = msp["landing"] / "clients" / "clients.csv"
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        row["currency"] = {"ACME": "eur", "BETA": "USD"}.get(row["client_id"], "")
    # Not ISO 4217; and a foreign currency without the contract's own rate (the rate card is USD).
    rows.append(dict(rows[0], client_id="ZED", name="Zed Ltd", currency="euro"))
    rows.append(dict(rows[0], client_id="YEN", name="Yen KK", currency="JPY", hourly_rate=""))
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    report_msp.run_all_without_reports()
    report_msp.publish_to(msp, tmp_path / "pub")
    month = tmp_path / "pub" / "2026-01"

    with duckdb.connect(str(msp["warehouse"]), read_only=True) as con:
        lines = dict(con.execute("SELECT client_id, any_value(currency) FROM marts.out_of_scope"
                                 " GROUP BY client_id").fetchall())
        refused = con.execute("SELECT record_key, field, reason_code FROM quality.quarantine"
                              " WHERE stage = 'staging_clients' ORDER BY record_key").fetchall()
    assert lines["ACME"] == "EUR" and lines["BETA"] == "USD"
    assert [r[:3] for r in refused if r[0] in ("YEN", "ZED")] == [
        ("YEN", "hourly_rate", "missing_value"), ("ZED", "currency", "invalid_currency")]
    # The client's report speaks its currency only.
    acme = _text(month / "client-ACME.html")
    assert "EUR 312.00" in acme and "USD" not in acme
    # The finance export: one grand-total row per currency, never one across them.
    book = openpyxl.load_workbook(month / "out-of-scope-2026-01.xlsx")
    totals = [[c.value for c in r] for r in book["Totals per client"].iter_rows(min_row=2)]
    grand = {r[0]: r for r in totals if str(r[0]).startswith("TOTAL")}
    assert sorted(grand) == ["TOTAL EUR", "TOTAL USD"]
    assert grand["TOTAL EUR"][5] == pytest.approx(312.0)
    assert "EUR 312.00 approved" in _text(month / "index.html")
    # The dashboard knows each client's currency and sums per currency.
    payload = json.loads(re.search(r'id="dashboard-data">(.*?)</script>',
                                   (month / "dashboard.html").read_text(), re.S).group(1))
    currencies = {r["c"]: r["cur"] for r in payload["client_months"]}
    assert currencies["ACME"] == "EUR" and currencies["BETA"] == "USD"
    assert {r["cur"] for r in payload["out_of_scope"]} == {"EUR", "USD"}
    _dashboard_sums_per_currency(month / "dashboard.html")


def _dashboard_sums_per_currency(page_path) -> None:
    """In real headless Chromium: the tile gives one sum per currency, the chart one bar per
    review state and currency, the client table each client's own currency."""
    from reports.pdf import CHROMIUM_ARGS, chromium_path

    sync_api = pytest.importorskip("playwright.sync_api")
    if chromium_path() is None:
        pytest.skip("no Chromium")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium_path()), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(page_path.as_uri(), wait_until="load")
            page.wait_for_function("document.getElementById('chart-out-of-scope').data")
            assert errors == []
            tiles = re.sub(r"\s+", " ", page.inner_text("#tiles")).lower()
            assert "eur 312 · usd " in tiles, tiles
            names = page.evaluate(
                "document.getElementById('chart-out-of-scope').data.map(t => t.name)")
            assert "approved (billed), EUR" in names and "approved (billed), USD" in names
            rows = page.inner_text("#client-table tbody").splitlines()
            assert any("EUR 312 / EUR 725" in row for row in rows), rows
            assert not any("USD 312" in row for row in rows), rows
            # The portfolio line under the table: money summed per currency, never across them.
            foot = page.inner_text("#client-table tfoot")
            assert foot.startswith(f"All {len(rows)} clients"), foot
            assert "EUR 312 · USD " in foot and "EUR 1,037" not in foot, foot
        finally:
            browser.close()
