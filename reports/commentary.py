"""The account manager's commentary per client and month: landing/commentary/<YYYY-MM>.csv with
columns client_id and text (a little markdown: paragraphs, '- ' lists, **bold**, *italic*)."""

import csv
import re
from pathlib import Path

from markupsafe import Markup, escape

REQUIRED = ("client_id", "text")


def commentary_file(landing: Path, month: str) -> Path:
    """Where the month's commentary is delivered."""
    return landing / "commentary" / f"{month[:7]}.csv"


def render_markdown(text: str) -> Markup:
    """A small, safe subset of markdown: the text is escaped first, so no markup gets through."""
    blocks = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = [str(escape(line.strip())) for line in block.splitlines() if line.strip()]
        if lines and all(re.match(r"[-*] ", line) for line in lines):
            html = "<ul>" + "".join(f"<li>{_inline(line[2:])}</li>" for line in lines) + "</ul>"
        else:
            html = f"<p>{_inline(' '.join(lines))}</p>"
        blocks.append(html)
    return Markup("".join(blocks))


def _inline(text: str) -> str:
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
    return re.sub(r"(?<![*\w])\*(?!\s)(.+?)(?<!\s)\*(?![*\w])", r"<em>\1</em>", text)


def read_commentary(landing: Path, month: str, clients: set[str]) -> tuple[dict[str, Markup],
                                                                          list[str]]:
    """The month's commentary per client id, and the problems found (file, row and field named);
    a row with a problem is left out, the others are used."""
    path = commentary_file(landing, month)
    if not path.is_file():
        return {}, []
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            return {}, [f"{path}: row 0 (header): missing column(s) {', '.join(missing)};"
                        " no commentary used"]
        found: dict[str, list[str]] = {}
        problems = []
        for row_number, row in enumerate(reader, start=1):
            client_id = (row["client_id"] or "").strip()
            if client_id not in clients:
                problems.append(f"{path}: row {row_number}, field client_id: no client"
                                f" {client_id!r} this month; row not used")
                continue
            if (row["text"] or "").strip():
                found.setdefault(client_id, []).append(row["text"])
    return {c: render_markdown("\n\n".join(texts)) for c, texts in found.items()}, problems
