"""Hostile inputs in published reports (adversarial review 2026-12-03): a file rejected whole
reaches no client page, the finance export holds no formula, and ids that cannot be file names
still publish, under a safe name, linked correctly."""

import csv
from pathlib import Path
from urllib.parse import unquote

import duckdb
import openpyxl
import pytest

from reports import publish
from tests import report_msp
from tests.report_msp import ESCAPING_ID, FORMULA_NAME, FORMULA_SUBJECT, LONG_ID, SECRET, SHARED_NAME, URL_ID


@pytest.fixture(scope="module")
def msp(tmp_path_factory):
    return report_msp.built(tmp_path_factory)


@pytest.fixture(scope="module")
def month(msp) -> Path:
    """The published January (raises on the old code: an id with '/' broke the whole month)."""
    beside = msp["published"].parent
    # The published folder itself may be new (the build wrote no Data Docs into it).
    msp["beside_before_publishing"] = sorted({p.name for p in beside.iterdir()}
                                             | {msp["published"].name})
    report_msp.publish_to(msp, msp["published"])
    return msp["published"] / "2026-01"


def _query(msp: dict, sql: str) -> list[tuple]:
    with duckdb.connect(str(msp["warehouse"]), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_a_file_rejected_whole_reaches_no_client_page_nor_the_dashboard(msp, month):
    # Operators keep the excerpt in the quarantine; the file's own reason quotes no line of it.
    reason, = _query(msp, "SELECT reason FROM raw.landing_files WHERE path LIKE '%tickets_api%'")[0]
    assert "ARR-1" not in reason
    assert _query(msp, "SELECT count(*) FROM quality.quarantine WHERE raw_value LIKE '%ARR-1%'")[0][0] >= 1
    assert _query(msp, "SELECT count(*) FROM quality.quarantine"
                       f" WHERE raw_value LIKE '%{SECRET}%' OR reason LIKE '%{SECRET}%'")[0][0] >= 1
    pages = sorted(month.glob("client-*.html")) + [month / "dashboard.html", month / "index.html"]
    assert len(pages) == 8
    for page in pages:
        text = page.read_text()
        assert SECRET not in text and "ARR-1" not in text, page.name
        assert "Payroll server password" not in text, page.name
    # The dashboard still tells operators which file was refused and why, in general terms.
    dashboard = (month / "dashboard.html").read_text()
    assert "tickets/tickets_api.jsonl" in dashboard
    assert "no line of the file is a JSON object" in dashboard


def _xlsx_cells(path: Path):
    book = openpyxl.load_workbook(path)
    for ws in book.worksheets:
        for row in ws.iter_rows():
            yield from row


def test_finance_export_holds_no_formula_and_survives_control_characters(month):
    xlsx = month / "out-of-scope-2026-01.xlsx"
    cells = list(_xlsx_cells(xlsx))
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    texts = [c.value for c in cells if isinstance(c.value, str)]
    # Stored as text, exactly as delivered (Excel shows it, never evaluates it).
    assert FORMULA_SUBJECT in texts and FORMULA_NAME in texts
    assert "-2+3 engineer on site" in texts and "@SUM(1+1) engineer on site" in texts
    # The vertical tab (forbidden in XLSX) is a line break; the publish did not stop.
    assert "Install new switch on site\nsecond line from Outlook" in texts
    # Numbers stay numbers.
    assert any(isinstance(c.value, float) and c.value > 0 for c in cells)
    with (month / "out-of-scope-2026-01.csv").open(newline="") as fh:
        values = [v for row in csv.reader(fh) for v in row]
    assert "'" + FORMULA_SUBJECT in values and "'" + FORMULA_NAME in values
    assert "'-2+3 engineer on site" in values and "'@SUM(1+1) engineer on site" in values
    assert not [v for v in values if v[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert not [v for v in values if "\x0b" in v]


def test_ids_that_cannot_be_file_names_publish_under_safe_linked_names(msp, month):
    root = msp["published"]
    # Nothing written beside the published folder (an id like '../outside' stays inside it).
    assert sorted(p.name for p in root.parent.iterdir()) == msp["beside_before_publishing"]
    assert not (root / "outside").exists() and not (root.parent / "outside").exists()
    names = {cid: publish.client_report_name(cid) for cid in
             ("ACME", URL_ID, ESCAPING_ID, LONG_ID, "BETA", "OVER")}
    assert names["ACME"] == "client-ACME.html"  # a plain id keeps its plain name
    assert len(set(names.values())) == 6
    for cid, name in names.items():
        assert "/" not in name and len(name.encode()) <= 120, cid
        assert publish.client_report_name(cid) == name  # stable
        page = month / name
        assert page.exists(), cid
        assert cid in page.read_text().replace("&amp;", "&").replace("&#39;", "'"), cid
    index = (month / "index.html").read_text()
    import re
    hrefs = [unquote(h) for h in re.findall(r'href="(client-[^"]+\.html)"', index)]
    assert sorted(hrefs) == sorted(names.values())
    # '#', '?' and '%' are encoded in the link, so a browser asks for the file itself.
    assert 'href="client-ACME#' not in index and "?x=" not in "".join(
        re.findall(r'href="(client-[^"]+)"', index))


def test_dashboard_keys_clients_by_id_not_name(month):
    import json
    import re
    html = (month / "dashboard.html").read_text()
    data = json.loads(re.search(r'id="dashboard-data">(.*?)</script>', html, re.S).group(1))
    ids = [c["id"] for c in data["clients"]]
    assert len(ids) == len(set(ids)) == 6
    labels = [c["label"] for c in data["clients"]]
    assert len(set(labels)) == 6
    assert f"{SHARED_NAME} (ACME)" in labels and f"{SHARED_NAME} ({URL_ID})" in labels
