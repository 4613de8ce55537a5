"""Published pages in real headless Chromium (Debian's binary driven by Playwright): they load offline
without console errors, every chart draws, the dashboard filters, and ticket text stays text.
Screenshots go to test-artifacts/browser/."""

import shutil
from contextlib import ExitStack
from pathlib import Path

import pytest

from policy.paths import PROJECT_ROOT
from reports.pdf import CHROMIUM_ARGS, chromium_path, unavailable_reason
from tests import report_msp
from tests.publish_demo import HOSTILE_ALERT, HOSTILE_CLIENT, HOSTILE_SUBJECT, hostile_known, published_demo

sync_api = pytest.importorskip("playwright.sync_api")
ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "browser"
# Plotly charts (index, dashboard) and the client reports' inline SVG charts.
_CHARTS_DRAWN = """() => [...document.querySelectorAll('.js-plotly-plot')].map(d => ({
    id: d.id,
    svg: !!d.querySelector('svg.main-svg'),
    marks: d.querySelectorAll('.trace path, .trace .point, .bars path, .scatterlayer path').length,
})).concat([...document.querySelectorAll('svg.chart')].map(s => ({
    id: s.id, svg: true, marks: s.querySelectorAll('.mark').length,
})))"""


@pytest.fixture(scope="module")
def browser():
    binary = chromium_path()
    if binary is None:
        # `make test` installs it where it can (scripts/ensure-chromium.sh); elsewhere, say how.
        pytest.skip(f"browser tests need Chromium: {unavailable_reason()}")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(binary), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Visit:
    """A browser context with one tab (`open` loads a page in it), recording each page's console
    errors, dialogs and any request off file://."""

    def __init__(self, browser, path: Path | None, width: int = 1280):
        self.context = browser.new_context(viewport={"width": width, "height": 900})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.remote: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: None if r.url.startswith(("file:", "data:", "about:"))
                     else self.remote.append(r.url))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        if path is not None:
            self.open(path)

    def open(self, path: Path) -> None:
        """Load `path` in this visit's tab, recording from here on only what this page does. (A
        fresh context per page costs Chromium a renderer of its own: the demo's 43 pages took
        12-14 s of CPU so, 4 s in one tab.)"""
        self.errors.clear()
        self.remote.clear()
        self.dialogs.clear()
        self.page.goto(path.as_uri(), wait_until="load")

    def charts(self) -> list[dict]:
        self.page.wait_for_function(
            "[...document.querySelectorAll('.js-plotly-plot')].every(d => d.querySelector('svg.main-svg'))")
        return self.page.evaluate(_CHARTS_DRAWN)

    def close(self) -> None:
        self.context.close()

    def __enter__(self) -> "Visit":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return published_demo(tmp_path_factory)


def _pages(demo: dict) -> list[Path]:
    root = demo["published"]
    pages = [root / "index.html"]
    for month in demo["months"]:
        folder = root / month[:7]
        pages += [folder / "index.html", folder / "dashboard.html",
                  *sorted(folder.glob("client-*.html")), *sorted(folder.glob("internal/*.html"))]
    return pages


def test_every_published_page_loads_offline_without_errors_and_draws_its_charts(browser, demo):
    pages = _pages(demo)
    charts_seen = 0
    # One tab goes through the pages as a reader would: each page a new document (its own
    # errors, requests and charts), without a new browser context per page.
    with Visit(browser, None) as visit:
        for path in pages:
            visit.open(path)
            charts = visit.charts()
            assert visit.errors == [], (path, visit.errors)
            assert visit.remote == [], (path, visit.remote)
            for chart in charts:
                assert chart["svg"] and chart["marks"] > 0, (path, chart)
            charts_seen += len(charts)
            if path.parent.name == demo["months"][-1][:7] or path.parent == demo["published"]:
                # The latest month's pages: the first screen of each, one report in full.
                shot = f"{path.parent.name}-{path.stem}.png" if path.parent != demo["published"] \
                    else "months-index.png"
                visit.page.screenshot(path=str(ARTIFACTS / shot),
                                      full_page=path.stem in ("index", "client-C001"))
    # Month index 1, dashboard 5, client report (both editions) 3 or more charts each.
    assert charts_seen >= len(demo["months"]) * (1 + 5 + 3 * 6 * 2)


def _tiles(page) -> str:
    return page.inner_text("#tiles")


def test_dashboard_filters_change_what_is_shown(browser, demo):
    last, first = demo["months"][-1][:7], demo["months"][0][:7]
    with Visit(browser, demo["published"] / last / "dashboard.html") as visit:
        page = visit.page
        visit.charts()
        assert page.get_attribute("body", "data-rendered") == f"{last}|"
        all_tiles = _tiles(page)
        all_rows = page.locator("#client-table tbody tr").count()
        assert all_rows == 6
        # The portfolio line: counts add up over the clients shown; one client shown, no line.
        tickets = page.eval_on_selector_all("#client-table tbody tr",
                                            "rows => rows.map(r => r.cells[2].textContent)")
        foot = page.locator("#client-table tfoot td")
        assert foot.nth(0).inner_text() == "All 6 clients"
        assert foot.nth(2).inner_text() == f"{sum(int(t.replace(',', '')) for t in tickets):,}"
        page.screenshot(path=str(ARTIFACTS / "dashboard-all-clients.png"), full_page=True)

        options = page.locator("#f-client option")
        client_id = options.nth(2).get_attribute("value")
        client_name = options.nth(2).inner_text()
        page.select_option("#f-client", client_id)
        page.wait_for_function(f"document.body.dataset.rendered === '{last}|{client_id}'")
        assert page.locator("#client-table tbody tr").count() == 1
        assert page.locator("#client-table tfoot tr").count() == 0
        assert client_name in page.inner_text("#client-table") and client_name in _tiles(page)
        assert _tiles(page) != all_tiles
        # The ranking dims every other client; the SLA trend is the client's own.
        opacity = page.evaluate("document.getElementById('chart-fair-use').data[0].marker.opacity")
        assert sorted(set(opacity)) == [0.3, 1]
        assert client_name in page.evaluate("document.getElementById('chart-sla').layout.title.text")
        assert "client=" + client_id in page.url
        page.screenshot(path=str(ARTIFACTS / "dashboard-one-client.png"), full_page=True)

        page.select_option("#f-month", first)
        page.wait_for_function(f"document.body.dataset.rendered === '{first}|{client_id}'")
        assert f"month {first}" in _tiles(page)
        assert page.evaluate("document.getElementById('chart-sla').data[0].x.slice(-1)[0]") == first
        assert visit.errors == []


def test_a_shared_dashboard_address_opens_with_its_filters(browser, demo):
    last = demo["months"][-1][:7]
    path = demo["published"] / last / "dashboard.html"
    with Visit(browser, path) as visit:
        client_id = visit.page.locator("#f-client option").nth(1).get_attribute("value")
        visit.page.goto(f"{path.as_uri()}#month={last}&client={client_id}")
        visit.page.reload()
        visit.page.wait_for_function(f"document.body.dataset.rendered === '{last}|{client_id}'")
        assert visit.page.input_value("#f-client") == client_id


def test_client_report_prints_with_charts_at_paper_width(browser, demo):
    path = sorted((demo["published"] / demo["months"][-1][:7]).glob("client-*.html"))[0]
    with Visit(browser, path) as visit:
        visit.charts()
        visit.page.evaluate("window.prepareForPrint()")
        visit.page.emulate_media(media="print")
        widths = visit.page.evaluate(
            "[...document.querySelectorAll('svg.chart')].map(s => s.getBoundingClientRect().width)")
        assert widths and max(widths) <= 680
        assert visit.page.locator(".nav").is_hidden()
        assert visit.page.locator("details").evaluate_all("ds => ds.every(d => d.open)")
        # The ticket list is left to the HTML edition: the PDF stays short.
        assert visit.page.locator(".ticket-list").is_hidden()


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """The known MSP with markup in ticket subjects and in a client's name, published as HTML
    (shared with test_demo's escaping test)."""
    return hostile_known(tmp_path_factory)


def test_ticket_text_and_client_names_render_as_text(browser, hostile):
    folder = hostile["published"] / "2026-01"
    report = folder / "client-ACME.html"
    html = report.read_text()
    assert "<script>alert" not in html and "<img src=x" not in html
    visits = []
    with ExitStack() as stack:
        for path in (report, folder / "client-BETA.html", folder / "dashboard.html",
                     folder / "index.html"):
            visit = stack.enter_context(Visit(browser, path))
            visits.append(visit)
            visit.charts()
            assert visit.dialogs == [] and visit.errors == [], (path, visit.errors)
            assert visit.page.locator("img[src=x]").count() == 0
        visits[0].page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        acme = visits[0].page.inner_text("body")
        assert HOSTILE_SUBJECT in acme and HOSTILE_ALERT in acme
        assert HOSTILE_CLIENT in visits[1].page.inner_text("h1")
        dashboard = visits[2].page
        assert HOSTILE_CLIENT in dashboard.inner_text("#client-table")
        assert HOSTILE_CLIENT in [o.inner_text() for o in dashboard.locator("#f-client option").all()]
        visits[0].page.screenshot(path=str(ARTIFACTS / "hostile-text-report.png"))


@pytest.fixture(scope="module")
def editions(tmp_path_factory) -> Path:
    """The report MSP (billable work in every review state, a client over fair use) published."""
    msp = report_msp.built(tmp_path_factory)
    root = tmp_path_factory.mktemp("editions-browser")
    report_msp.publish_to(msp, root)
    return root / "2026-01"


# What each edition must and must not show (ACME: one approved line of USD 312.00, two lines not
# reviewed yet worth 612.00 and 112.50, one declined by am.omar; approval by finance.jane).
CLIENT_MUST = ["Summary", "USD 312.00", "Under review, not billed", "A-PEND", "declined on review",
               "TechDesk Pro", "Europe/London"]
INTERNAL_ONLY = ["finance.jane", "am.omar", "Evidence", "Confidence", "612.00", "112.50",
                 "onsite time entries", "Internal edition"]


def test_each_edition_shows_what_it_must_and_nothing_it_must_not(browser, editions):
    with (Visit(browser, editions / "client-ACME.html") as client,
          Visit(browser, editions / "internal" / "client-ACME.html") as internal):
        for visit in (client, internal):
            assert visit.errors == [] and visit.remote == [], visit.errors + visit.remote
        # Collapsed sections opened: what a reader can reach is what is checked.
        for visit in (client, internal):
            visit.page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        seen_client = client.page.inner_text("body")
        seen_internal = internal.page.inner_text("body")
        for text in CLIENT_MUST:
            assert text in seen_client, text
            assert text in seen_internal or text == "declined on review", text
        for text in INTERNAL_ONLY:
            assert text in seen_internal, text
            assert text not in seen_client, text
        # The client's total is the approved line only, and the tile says so.
        assert client.page.inner_text("#billed tfoot").strip().endswith("USD 312.00")
        assert "2 under review, not billed" in client.page.inner_text("#summary")
        client.page.screenshot(path=str(ARTIFACTS / "edition-client-ACME.png"), full_page=True)
        internal.page.screenshot(path=str(ARTIFACTS / "edition-internal-ACME.png"), full_page=True)


def test_a_client_report_sent_alone_still_draws_its_charts(browser, editions, tmp_path):
    alone = tmp_path / "attachment.html"
    shutil.copyfile(editions / "client-OVER.html", alone)
    with Visit(browser, alone) as visit:
        assert visit.errors == [] and visit.remote == []
        assert visit.page.locator("script[src]").count() == 0
        charts = visit.page.evaluate(
            "[...document.querySelectorAll('svg.chart')].map(s => s.querySelectorAll('.mark').length)")
        assert len(charts) >= 2 and all(charts), charts
        assert "over" in visit.page.inner_text("#executive-summary")
        # The first printed page of a client over fair use: the summary, in the client's words.
        visit.page.emulate_media(media="print")
        visit.page.set_viewport_size({"width": 794, "height": 1123})
        visit.page.screenshot(path=str(ARTIFACTS / "print-first-page-over-fair-use.png"))


def _write_png(pixels, path: Path) -> None:
    """An RGB(A) pixel array as a PNG file (no imaging library in the project)."""
    import struct
    import zlib

    height, width, channels = pixels.shape
    rows = b"".join(b"\x00" + pixels[y].tobytes() for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, {3: 2, 4: 6}[channels], 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                     + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def test_the_pdf_of_a_client_over_fair_use_is_short_and_opens_on_its_summary(browser, editions,
                                                                               tmp_path):
    """The PDF as published (the project's printer, real Chromium): its first page, rendered to
    an image, is the summary saying the client is over fair use and what happens next."""
    pdfium = pytest.importorskip("pypdfium2")
    from reports.pdf import print_pages

    html = tmp_path / "client-OVER.html"
    shutil.copyfile(editions / "client-OVER.html", html)
    run = print_pages([html])
    assert run.written == [html.with_suffix(".pdf")], run.skipped_reason
    document = pdfium.PdfDocument(str(html.with_suffix(".pdf")))
    try:
        assert 1 <= len(document) <= 6
        first = document[0].get_textpage().get_text_range()
        assert "Summary" in first and "over the fair-use limit" in first
        assert "review your plan" in first  # the policy's next step, from config
        pixels = document[0].render(scale=1, rev_byteorder=True).to_numpy()
        _write_png(pixels, ARTIFACTS / "pdf-first-page-over-fair-use.png")
    finally:
        document.close()


def test_dashboard_keeps_same_named_clients_apart_and_links_internal_editions(browser, editions):
    with Visit(browser, editions / "dashboard.html") as visit:
        visit.charts()
        assert visit.errors == []
        ys = visit.page.evaluate("document.getElementById('chart-fair-use').data[0].y")
        assert len(ys) == len(set(ys)) == 6
        ticks = visit.page.evaluate(
            "document.getElementById('chart-fair-use')._fullLayout.yaxis.ticktext")
        assert "Acme Trading (ACME)" in ticks
        links = visit.page.eval_on_selector_all("#client-table a", "as => as.map(a => a.href)")
        assert len(links) == 6 and all("/internal/client-" in h for h in links)
        for href in links:  # every link opens its report (ids with '#', '?', '%' included)
            page = visit.context.new_page()
            page.goto(href)
            assert "Internal edition" in page.inner_text("body"), href
            page.close()
        tiles = visit.page.inner_text("#tiles").lower()  # labels are upper-cased by CSS
        assert "out-of-scope approved\nusd 312\n" in tiles and "pending review usd " in tiles
        visit.page.screenshot(path=str(ARTIFACTS / "dashboard-editions.png"), full_page=True)


def test_every_dashboard_table_downloads_as_csv(browser, editions):
    with Visit(browser, editions / "dashboard.html") as visit:
        visit.charts()
        links = visit.page.locator("a.csv-download")
        assert links.count() == visit.page.locator("table").count() >= 3
        with visit.page.expect_download() as info:
            visit.page.locator("#client-table").locator("xpath=preceding-sibling::a[1]").click()
        text = Path(info.value.path()).read_text()
        lines = text.strip().splitlines()
        assert lines[0].startswith("Client,Plan") and len(lines) == 7  # no total line
        assert visit.page.locator("#client-table tfoot tr").count() == 1
        assert "Acme Trading" in text and "'=1+2" in text  # a formula-like name stays text
        assert visit.errors == []


GX_PAGE = """<!doctype html><html><head><title>Data Docs</title>
<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css">
<script src="https://code.jquery.com/jquery-3.7.1.min.js"></script>
<script>$(function () { $('table').bootstrapTable(); });</script></head>
<body><h1>Validation results</h1><a href="validations/suite.html">tickets suite</a></body></html>"""


def test_data_quality_docs_work_offline_and_lead_back_to_the_month(browser, tmp_path,
                                                                  tmp_path_factory):
    """Great Expectations' pages fetch bootstrap and jQuery from CDNs: published, they make no
    request off the folder, raise no error, and link back to the month."""
    msp = report_msp.built(tmp_path_factory)
    root = tmp_path / "published"
    docs = root / ".data_docs" / "2026-01"
    (docs / "validations").mkdir(parents=True)
    (docs / "index.html").write_text(GX_PAGE)
    (docs / "validations" / "suite.html").write_text(GX_PAGE.replace("validations/", ""))
    report_msp.publish_to(msp, root)
    for page, up in (("index.html", "../"), ("validations/suite.html", "../../")):
        with Visit(browser, root / "2026-01" / "data-quality" / page) as visit:
            assert visit.remote == [] and visit.errors == [], (page, visit.remote, visit.errors)
            back = visit.page.locator("nav.msp-nav a").first
            assert back.inner_text() == "← Month index"
            assert back.get_attribute("href") == f"{up}index.html"
            back.click()
            visit.page.wait_for_load_state()
            assert visit.page.url.endswith("/2026-01/index.html")
