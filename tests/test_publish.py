"""The published month: layout, confidentiality of every demo report (HTML and PDF), the dashboard's
privacy, data-quality sections, Data Docs, PDF fallback, and atomic re-publishing."""

import hashlib
import json
import re
import shutil
from pathlib import Path

import duckdb
import pytest
from pypdf import PdfReader

from reports import publish
from tests.builders import TICKET_COLUMNS, known_msp, ticket, write_csv
from tests.publish_demo import SMALL, msp_paths, published_demo, query, run


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return published_demo(tmp_path_factory)


def _month_dirs(demo: dict) -> list[Path]:
    return [demo["published"] / m[:7] for m in demo["months"]]


def _pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(path).pages)


def test_every_month_folder_has_the_published_layout(demo):
    for folder in _month_dirs(demo):
        label = folder.name
        names = {p.name for p in folder.iterdir()}
        assert {"index.html", "dashboard.html", "plotly.min.js", "dashboard.js",
                f"out-of-scope-{label}.csv", f"out-of-scope-{label}.xlsx"} <= names
        htmls = sorted(folder.glob("client-*.html"))
        assert len(htmls) == SMALL["clients"]
        for html in htmls:
            pdf = html.with_suffix(".pdf")
            assert pdf.read_bytes()[:5] == b"%PDF-", pdf
            # A typical client's PDF: summary first, the ticket list left to the HTML.
            assert 2 <= len(PdfReader(pdf).pages) <= 6, pdf
        # plotly.js once per folder: no page carries its own copy.
        assert all(p.stat().st_size < 1_000_000 for p in folder.glob("*.html"))
        # Reports, PDFs and plotly.js once; the Data Docs (GX's own fonts and pages) on their own.
        docs = [p for p in folder.rglob("*") if p.is_file() and "data-quality" in p.parts]
        size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) - sum(
            p.stat().st_size for p in docs)
        assert size < 8_000_000, f"{label} is {size:,} bytes"
        assert sum(p.stat().st_size for p in docs) < 4_000_000, label
    last = _month_dirs(demo)[-1]
    assert (last / "data-quality" / "index.html").exists()
    assert 'href="data-quality/index.html"' in (last / "index.html").read_text()
    assert 'href="data-quality/index.html"' in (last / "dashboard.html").read_text()
    top = (demo["published"] / "index.html").read_text()
    for folder in _month_dirs(demo):
        assert f'href="{folder.name}/index.html"' in top
        assert f'href="{folder.name}/dashboard.html"' in top
    assert ".data_docs" not in top


def test_every_demo_report_and_pdf_holds_one_clients_data_only(demo):
    clients = query(demo["warehouse"], "SELECT DISTINCT client_id, name FROM staging.clients")
    tickets = query(demo["warehouse"],
                    "SELECT ticket_id, client_id, requester FROM staging.tickets")
    checked = 0
    for folder in _month_dirs(demo):
        for html_path in sorted(folder.glob("client-*.html")):
            own = html_path.stem.removeprefix("client-")
            own_name = clients.loc[clients["client_id"] == own, "name"].iloc[0]
            internal = folder / publish.INTERNAL / html_path.name
            for kind, text in (("html", html_path.read_text()), ("internal", internal.read_text()),
                               ("pdf", _pdf_text(html_path.with_suffix(".pdf")))):
                # Positive control: the report is about its own client (the HTML lists its
                # ticket ids; the PDF leaves the ticket list to the HTML).
                assert own_name in text, (html_path, kind)
                assert kind == "pdf" or re.search(r"\bT\d{7}\b", text), (html_path, kind)
                for other in clients[clients["client_id"] != own].itertuples():
                    assert other.name not in text, (html_path.name, kind, other.name)
                    assert re.search(rf"\b{other.client_id}\b", text) is None, (html_path.name, kind)
                others = tickets[tickets["client_id"] != own]
                shown = set(re.findall(r"\bT\d{7}\b", text))
                assert not shown & set(others["ticket_id"]), (html_path.name, kind)
                leaked = [r for r in others["requester"].dropna().unique() if r in text]
                assert not leaked, (html_path.name, kind, leaked[:3])
                checked += 1
    assert checked == 3 * SMALL["clients"] * len(demo["months"])


def test_dashboard_shows_no_requester_identity(demo):
    requesters = query(demo["warehouse"],
                       "SELECT DISTINCT requester FROM staging.tickets WHERE requester IS NOT NULL")
    names = query(demo["warehouse"], "SELECT DISTINCT name FROM staging.clients")["name"]
    for folder in _month_dirs(demo):
        html = (folder / "dashboard.html").read_text()
        assert all(name in html for name in names)
        assert not [r for r in requesters["requester"] if r in html]
        assert "requester" not in _payload(html)["client_months"][0]


def _payload(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="dashboard-data">(.*?)</script>', html,
                      re.S)
    return json.loads(match.group(1))


def test_dashboard_payload_matches_the_marts(demo):
    folder = _month_dirs(demo)[-1]
    data = _payload((folder / "dashboard.html").read_text())
    assert data["month"] == folder.name
    assert data["months"] == [m[:7] for m in demo["months"]]
    marts = query(demo["warehouse"],
                  "SELECT strftime(month, '%Y-%m') AS m, sum(tickets) AS t, sum(out_of_scope_amount)"
                  " AS a FROM marts.client_month GROUP BY 1 ORDER BY 1")
    for row in marts.itertuples():
        rows = [r for r in data["client_months"] if r["m"] == row.m]
        assert sum(r["tickets"] for r in rows) == row.t
        assert sum(r["oos_amount"] for r in rows) == pytest.approx(row.a)
    # The dashboard is for staff: each client links to its internal edition.
    assert {c["report"] for c in data["clients"]} == {
        f"{publish.INTERNAL}/{p.name}" for p in folder.glob("client-*.html")}


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            h.update(path.relative_to(folder).as_posix().encode() + path.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def known(tmp_path_factory):
    """The known MSP with dirty input (a ticket without an id, a file missing a column), run once.

    The tests below republish its months; each leaves the folder in a valid published state.
    """
    root = tmp_path_factory.mktemp("known")
    with msp_paths(root) as env:
        _dirty_known_msp(env["landing"])
        run(["2026-01-01", "2026-02-01"], pdfs=False, docs=False)  # they read the reports' HTML
    return env


def _dirty_known_msp(landing: Path) -> None:
    known_msp(landing)
    write_csv(landing / "tickets" / "tickets_2026-01_late.csv", TICKET_COLUMNS, [
        ticket("", "ACME", "2026-01-21T10:00:00+00:00", subject="No id on this one"),
    ])
    broken = [c for c in TICKET_COLUMNS if c != "created_at"]
    write_csv(landing / "tickets" / "tickets_broken.csv", broken, [
        {k: v for k, v in ticket("X-1", "ACME", "2026-01-22T10:00:00+00:00").items() if k in broken},
    ])


def _publish(env: dict, month: str = "2026-01-01", **kw) -> publish.Published:
    with duckdb.connect(str(env["warehouse"]), read_only=True) as con:
        return publish.publish_month(con, month, env["published"], "test", "GBP", **kw)


def test_data_quality_section_lists_the_clients_own_rows_and_rejected_files(known):
    folder = known["published"] / "2026-01"
    acme = (folder / "client-ACME.html").read_text()
    section = acme[acme.index('id="data-quality"'):acme.index('id="tickets"')]
    assert "missing_value" in section and "tickets_2026-01_late.csv, row 1" in section
    assert "ticket_id" in section
    # A file rejected whole cannot be told to belong to a client: no client page shows it.
    assert "missing required column" not in section and "X-1" not in section
    assert "tickets_broken.csv" not in section
    beta = (folder / "client-BETA.html").read_text()
    beta_section = beta[beta.index('id="data-quality"'):beta.index('id="tickets"')]
    assert "missing_value" not in beta_section and "No row of yours was held back" in beta_section
    dashboard = (folder / "dashboard.html").read_text()
    assert "tickets_broken.csv" in dashboard and "a required column is missing" in dashboard
    data = _payload(dashboard)
    assert {(q["c"], q["reason"], q["rows"]) for q in data["quarantine"] if q["m"] == "2026-01"} \
        == {("ACME", "missing_value", 1)}
    assert any(f["status"] == "rejected" for f in data["files"])


def test_file_reconciliation_is_shown_when_the_warehouse_has_it(known):
    with duckdb.connect(str(known["warehouse"])) as con:
        # The ingest stage's contract: one row per delivered file.
        con.execute("""CREATE OR REPLACE VIEW quality.file_reconciliation AS
            SELECT file_id, path, entity, status, coalesce(data_rows, 0) AS delivered,
                   coalesce(data_rows, 0) AS accepted, 0 AS quarantined, 0 AS superseded,
                   status <> 'rejected' AS reconciles
            FROM raw.landing_files""")
    _publish(known, pdf=False)
    html = (known["published"] / "2026-01" / "dashboard.html").read_text()
    assert "Row reconciliation per delivered file" in html
    assert "tickets/tickets_2026-01.csv" in html
    assert "not available in this warehouse" not in html


def test_without_chromium_the_html_still_publishes_and_the_log_says_why(known, monkeypatch):
    monkeypatch.setenv("MSP_CHROMIUM", str(known["landing"] / "no-such-chromium"))
    lines: list[str] = []
    result = _publish(known, log=lines.append)
    folder = known["published"] / "2026-01"
    assert result.pdfs == 0 and "no Chromium binary" in result.pdf_skipped_reason
    assert any("PDF skipped for 2026-01" in line and "no-such-chromium" in line for line in lines)
    assert not list(folder.glob("*.pdf"))
    assert (folder / "client-ACME.html").exists()
    assert ".pdf" not in (folder / "index.html").read_text()


def test_republishing_replaces_the_month_whole(known):
    folder = known["published"] / "2026-01"
    (folder / "left-over.txt").write_text("from an older publish")
    _publish(known, pdf=False)
    assert not (folder / "left-over.txt").exists()
    assert (folder / "client-ACME.html").exists()
    assert not [p for p in known["published"].iterdir() if p.name.startswith(".2026-01")]


def test_a_failed_publish_leaves_the_old_month_intact(known, monkeypatch):
    folder = known["published"] / "2026-01"
    before = _digest(folder)

    def broken_export(con, month, target):
        (target / "half-written.csv").write_text("ticket\n")
        raise RuntimeError("disk full")

    monkeypatch.setattr(publish.finance, "write_export", broken_export)
    with pytest.raises(RuntimeError, match="disk full"):
        _publish(known)
    assert _digest(folder) == before
    assert not [p for p in known["published"].iterdir() if p.name.startswith(".2026-01")]


def test_leftovers_of_a_killed_publish_are_cleared_and_never_listed(known):
    stale = known["published"] / ".2026-01.tmp-999999"
    stale.mkdir()
    (stale / "index.html").write_text("half")
    shutil.copytree(known["published"] / "2026-01", known["published"] / ".2026-02.tmp-999998")
    publish.write_months_index(known["published"])
    assert ".tmp-" not in (known["published"] / "index.html").read_text()
    _publish(known, pdf=False)
    assert not stale.exists()
