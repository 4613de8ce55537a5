"""Print published HTML pages to PDF with headless Chromium, one browser for all pages."""

import os
import shutil
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

# Flags that let Debian's chromium run headless as root in a container without a GPU or network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
# A4 less 14 mm margins each side is 182 mm, about 688 CSS pixels: charts are laid out to that width.
PRINT_WIDTH_PX = 688


@dataclass(frozen=True)
class PdfRun:
    """What a PDF pass did: files written, or why it was skipped."""

    written: list[Path]
    skipped_reason: str | None = None
    seconds: float = 0.0


def chromium_path() -> Path | None:
    """The Chromium binary: MSP_CHROMIUM if set, else `chromium` on PATH; None when absent."""
    configured = os.environ.get("MSP_CHROMIUM")
    if configured:
        path = Path(configured)
        return path if path.is_file() and os.access(path, os.X_OK) else None
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    return Path(found) if found else None


def install_hint(rerun: str = "make run") -> str:
    """What to run on this machine for PDFs (the steps of scripts/ensure-chromium.sh), then `rerun`."""
    if os.environ.get("MSP_CHROMIUM"):
        return f"point MSP_CHROMIUM at a Chromium binary or unset it, then run '{rerun}'"
    if shutil.which("apt-get") is None:
        return ("install Chromium with the system's package manager (set MSP_CHROMIUM if it is"
                f" not called chromium), then run '{rerun}'")
    as_root = "make chromium" if os.geteuid() == 0 else "sudo make chromium"
    return f"run '{as_root}' (apt-get install chromium and fonts), then '{rerun}'"


def unavailable_reason(rerun: str = "make run") -> str | None:
    """Why PDFs cannot be printed here, with what to run (ending with `rerun`), or None when they can."""
    binary = chromium_path()
    if binary is None:
        wanted = os.environ.get("MSP_CHROMIUM") or "chromium on PATH"
        return f"no Chromium binary ({wanted}); for PDFs: {install_hint(rerun)}"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        return f"the playwright package is not installed ({exc})"
    return None


def print_pages(pages: Iterable[Path]) -> PdfRun:
    """Write <page>.pdf beside each HTML page; skip (with the reason) when Chromium is absent."""
    pages = list(pages)
    started = time.perf_counter()
    reason = unavailable_reason()
    if reason is not None:
        return PdfRun([], reason)
    # Playwright's sync API refuses to run on a thread with an asyncio loop (a notebook, a test
    # that already drives a browser): worker threads have none. Each worker drives a browser of
    # its own (a sync Playwright instance belongs to one thread); laying out and printing a page
    # keeps about one core busy, so there is a worker per core.
    workers = max(1, min(os.cpu_count() or 1, len(pages) // 4))
    shares = [pages[i::workers] for i in range(workers)]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pdf") as pool:
        written = [path for share in pool.map(_print, shares) for path in share]
    return PdfRun(sorted(written), seconds=time.perf_counter() - started)


def _print(pages: list[Path]) -> list[Path]:
    from playwright.sync_api import sync_playwright

    written: list[Path] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium_path()), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": PRINT_WIDTH_PX, "height": 1000})
            for html in pages:
                page.goto(html.resolve().as_uri(), wait_until="load")
                # Charts are drawn by plotly.js on load; wait until every one has its SVG, then
                # open collapsed sections and lay the charts out at the paper's width.
                page.wait_for_function(
                    "[...document.querySelectorAll('.js-plotly-plot')]"
                    ".every(d => d.querySelector('svg.main-svg'))",
                    timeout=30_000,
                )
                page.evaluate("window.prepareForPrint ? window.prepareForPrint() : null")
                target = html.with_suffix(".pdf")
                page.pdf(path=str(target), prefer_css_page_size=True, print_background=True,
                         display_header_footer=True, header_template="<span></span>",
                         footer_template=_FOOTER)
                written.append(target)
        finally:
            browser.close()
    return written


_FOOTER = (
    '<div style="font-size:8px;color:#616e7c;width:100%;padding:0 14mm;display:flex;'
    'justify-content:space-between"><span class="title"></span>'
    '<span>page <span class="pageNumber"></span> of <span class="totalPages"></span></span></div>'
)
