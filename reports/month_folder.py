"""The published folder: a month swapped in atomically, the months index, and the data-quality
docs copied to work offline."""

import ctypes
import os
import re
import shutil
from pathlib import Path

import pandas as pd

from reports.templating import ENV

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_MONTH_FOLDER = re.compile(r"^\d{4}-\d{2}$")


def _exchange(a: Path, b: Path) -> bool:
    """Swap two directories in one atomic step (Linux renameat2); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]
    return renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0


def _swap_in(tmp: Path, final: Path) -> None:
    """Replace `final` by the complete folder `tmp`; readers see the old month or the new one."""
    if not final.exists():
        tmp.rename(final)
        return
    if _exchange(tmp, final):
        shutil.rmtree(tmp)  # now holds the old month
        return
    # Without an atomic exchange, the old month is moved aside for the instant of the swap.
    old = final.with_name(f".{final.name}.old-{os.getpid()}")
    final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def _remove_leftovers(root: Path, label: str) -> None:
    """Delete half-written folders of a publish of this month that was killed part-way."""
    for stale in root.glob(f".{label}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    for stale in root.glob(f".{label}.old-*"):
        shutil.rmtree(stale, ignore_errors=True)


def write_months_index(root: Path) -> Path:
    """The top-level index listing every published month, newest first."""
    months = [
        {"name": p.name, "label": pd.Timestamp(f"{p.name}-01").strftime("%B %Y"),
         "reports": len(list(p.glob("client-*.html"))),
         "dashboard": (p / "dashboard.html").exists(),
         "data_docs": (p / "data-quality" / "index.html").exists()}
        for p in sorted(root.iterdir(), reverse=True)
        if p.is_dir() and _MONTH_FOLDER.match(p.name) and (p / "index.html").exists()
    ]
    html = ENV.get_template("months_index.html").render(months=months)
    target = root / "index.html"
    tmp = root / f".index.html.tmp-{os.getpid()}"
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(target)
    return target


def _copy_data_docs(root: Path, label: str, folder: Path) -> bool:
    """Copy the month's great-expectations Data Docs (built by the data_docs asset), if any."""
    source = root / ".data_docs" / label
    if not (source / "index.html").exists():
        return False
    shutil.copytree(source, folder / "data-quality")
    for page in (folder / "data-quality").rglob("*.html"):
        depth = len(page.relative_to(folder).parts) - 1
        page.write_text(offline_data_docs(page.read_text(encoding="utf-8"), "../" * depth),
                        encoding="utf-8")
    return True


# Each Data Docs page gets a bar linking back to the month. Pages written by data_checks/docs_pages.py
# load nothing remote; pages a warehouse kept from before it (GX's site builder) load bootstrap,
# jQuery, fonts and vega from CDNs, which fail offline: those tags are dropped with the page's
# scripts and a small stylesheet takes their place (the published folder promises to work offline).
_REMOTE_TAG = re.compile(
    r"<link\b[^>]*\bhref=[\"']https?://[^>]*>|<script\b[^>]*>.*?</script>", re.I | re.S)
_OFFLINE_STYLE = (
    "<style>body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;color:#1f2933;"
    "margin:0 auto;max-width:1200px;padding:12px 24px;line-height:1.4}"
    "table{border-collapse:collapse;width:100%;font-size:.88rem;margin:8px 0}"
    "th,td{border-bottom:1px solid #e4e7eb;padding:4px 8px;text-align:left;vertical-align:top}"
    "th{background:#f5f7fa}a{color:#2c5282}img{max-width:100%}.collapse:not(.show){display:block}"
    ".msp-nav{display:flex;gap:16px;padding:8px 0;border-bottom:1px solid #e4e7eb;margin-bottom:12px}"
    "</style>")


def offline_data_docs(html: str, up: str) -> str:
    """A Data Docs page without remote requests, styled locally, with links back to the month;
    `up` leads from the page to the month folder."""
    html = _REMOTE_TAG.sub("", html)
    nav = (f'<nav class="msp-nav"><a href="{up}index.html">← Month index</a>'
           f'<a href="{up}dashboard.html">Dashboard</a>'
           f'<a href="{up}data-quality/index.html">Data-quality docs</a></nav>')
    html = re.sub(r"(</head>)", _OFFLINE_STYLE + r"\1", html, count=1, flags=re.I)
    return re.sub(r"(<body\b[^>]*>)", r"\1" + nav.replace("\\", "\\\\"), html, count=1, flags=re.I)
