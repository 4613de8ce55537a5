"""Published pages in real headless Chromium (Debian's binary driven by Playwright): they load offline
without console errors, every chart draws, the dashboard filters, and ticket text stays text.
Screenshots go to test-artifacts/browser/."""

from pathlib import Path

import pytest

from policy.paths import PROJECT_ROOT
from reports.pdf import CHROMIUM_ARGS, chromium_path, unavailable_reason
from tests.builders import CLIENT_COLUMNS, client, known_msp, write_csv
from tests.publish_demo import msp_paths, published_demo, run

sync_api = pytest.importorskip("playwright.sync_api")
ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "browser"
_CHARTS_DRAWN = """() => [...document.querySelectorAll('.js-plotly-plot')].map(d => ({
    id: d.id,
    svg: !!d.querySelector('svg.main-svg'),
    marks: d.querySelectorAll('.trace path, .trace .point, .bars path, .scatterlayer path').length,
}))"""


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
    """One page in a fresh browser context, recording console errors and any request off file://."""

    def __init__(self, browser, path: Path, width: int = 1280):
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
        self.page.goto(path.as_uri(), wait_until="load")

    def charts(self) -> list[dict]:
        self.page.wait_for_function(
            "[...document.querySelectorAll('.js-plotly-plot')].every(d => d.querySelector('svg.main-svg'))")
        return self.page.evaluate(_CHARTS_DRAWN)

    def close(self) -> None:
        self.context.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return published_demo(tmp_path_factory)


def _pages(demo: dict) -> list[Path]:
    root = demo["published"]
    pages = [root / "index.html"]
    for month in demo["months"]:
        folder = root / month[:7]
        pages += [folder / "index.html", folder / "dashboard.html",
                  *sorted(folder.glob("client-*.html"))]
    return pages


def test_every_published_page_loads_offline_without_errors_and_draws_its_charts(browser, demo):
    pages = _pages(demo)
    charts_seen = 0
    for path in pages:
        visit = Visit(browser, path)
        try:
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
        finally:
            visit.close()
    # Month index 1, dashboard 5, client report 3 or more charts each.
    assert charts_seen >= len(demo["months"]) * (1 + 5 + 3 * 6)


def _tiles(page) -> str:
    return page.inner_text("#tiles")


def test_dashboard_filters_change_what_is_shown(browser, demo):
    last, first = demo["months"][-1][:7], demo["months"][0][:7]
    visit = Visit(browser, demo["published"] / last / "dashboard.html")
    page = visit.page
    try:
        visit.charts()
        assert page.get_attribute("body", "data-rendered") == f"{last}|"
        all_tiles = _tiles(page)
        all_rows = page.locator("#client-table tbody tr").count()
        assert all_rows == 6
        page.screenshot(path=str(ARTIFACTS / "dashboard-all-clients.png"), full_page=True)

        options = page.locator("#f-client option")
        client_id = options.nth(2).get_attribute("value")
        client_name = options.nth(2).inner_text()
        page.select_option("#f-client", client_id)
        page.wait_for_function(f"document.body.dataset.rendered === '{last}|{client_id}'")
        assert page.locator("#client-table tbody tr").count() == 1
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
    finally:
        visit.close()


def test_a_shared_dashboard_address_opens_with_its_filters(browser, demo):
    last = demo["months"][-1][:7]
    path = demo["published"] / last / "dashboard.html"
    visit = Visit(browser, path)
    try:
        client_id = visit.page.locator("#f-client option").nth(1).get_attribute("value")
        visit.page.goto(f"{path.as_uri()}#month={last}&client={client_id}")
        visit.page.reload()
        visit.page.wait_for_function(f"document.body.dataset.rendered === '{last}|{client_id}'")
        assert visit.page.input_value("#f-client") == client_id
    finally:
        visit.close()


def test_client_report_prints_with_charts_at_paper_width(browser, demo):
    path = sorted((demo["published"] / demo["months"][-1][:7]).glob("client-*.html"))[0]
    visit = Visit(browser, path)
    try:
        visit.charts()
        visit.page.evaluate("window.prepareForPrint()")
        widths = visit.page.evaluate(
            "[...document.querySelectorAll('.js-plotly-plot')].map(d => d._fullLayout.width)")
        assert widths and set(widths) == {680}
        visit.page.emulate_media(media="print")
        assert visit.page.locator(".nav").is_hidden()
        assert visit.page.locator("details").evaluate_all("ds => ds.every(d => d.open)")
    finally:
        visit.close()


HOSTILE_SUBJECT = "Email down <script>alert('x')</script>"
HOSTILE_ALERT = '<img src=x onerror=alert(1)> "quoted'
HOSTILE_CLIENT = 'Beta </script><script>alert("name")</script> & Co'


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """The known MSP with markup in ticket subjects and in a client's name."""
    root = tmp_path_factory.mktemp("hostile")
    with msp_paths(root) as env:
        landing = env["landing"]
        known_msp(landing)
        path = landing / "tickets" / "tickets_2026-01.csv"
        text = path.read_text().replace("Email down", HOSTILE_SUBJECT.replace('"', '""'))
        path.write_text(text.replace("[ALERT] Disk C: 95% on SRV-FS01",
                                     '"' + HOSTILE_ALERT.replace('"', '""') + '"'))
        write_csv(landing / "clients" / "clients.csv", CLIENT_COLUMNS, [
            client("ACME", 10, "2025-06-01"),
            client("BETA", 10, "2025-12-01", plan="essentials", name=HOSTILE_CLIENT),
        ])
        run(["2026-01-01"])
    return env


def test_ticket_text_and_client_names_render_as_text(browser, hostile):
    folder = hostile["published"] / "2026-01"
    report = folder / "client-ACME.html"
    html = report.read_text()
    assert "<script>alert" not in html and "<img src=x" not in html
    visits = []
    try:
        for path in (report, folder / "client-BETA.html", folder / "dashboard.html",
                     folder / "index.html"):
            visit = Visit(browser, path)
            visits.append(visit)
            visit.charts()
            assert visit.dialogs == [] and visit.errors == [], (path, visit.errors)
            assert visit.page.locator("img[src=x]").count() == 0
        acme = visits[0].page.inner_text("body")
        assert HOSTILE_SUBJECT in acme and HOSTILE_ALERT in acme
        assert HOSTILE_CLIENT in visits[1].page.inner_text("h1")
        dashboard = visits[2].page
        assert HOSTILE_CLIENT in dashboard.inner_text("#client-table")
        assert HOSTILE_CLIENT in [o.inner_text() for o in dashboard.locator("#f-client option").all()]
        visits[0].page.screenshot(path=str(ARTIFACTS / "hostile-text-report.png"))
    finally:
        for visit in visits:
            visit.close()
