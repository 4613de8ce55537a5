"""The monthly out-of-scope export for finance: line items and per-client totals, as CSV and XLSX."""

import re
from pathlib import Path

import duckdb
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

LINE_COLUMNS = {
    "ticket_id": "Ticket",
    "client_id": "Client id",
    "client_name": "Client",
    "created_at": "Opened (UTC)",
    "subject": "Subject",
    "primary_category": "Category",
    "categories": "All categories",
    "evidence": "Evidence (automated)",
    "confidence": "Confidence",
    "review_status": "Review status",
    "reviewer": "Reviewer",
    "billable_hours": "Hours",
    "hourly_rate": "Rate",
    "rate_source": "Rate source",
    "amount": "Amount",
    "currency": "Currency",
}
# A spreadsheet reads a cell starting with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Control characters an XLSX cell cannot hold; a vertical tab or form feed (pasted from Outlook)
# is a line break, anything else a replacement character, so the export never stops on one.
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_MONEY = "#,##0.00"
_HOURS = "0.00"
_PERCENT = "0%"


def line_items(con: duckdb.DuckDBPyConnection, month: str) -> pd.DataFrame:
    """Every billable out-of-scope ticket of the month, largest amount first."""
    df = con.execute(
        """SELECT ticket_id, client_id, client_name, created_at, subject, primary_category,
                  array_to_string(scope_categories, '; ') AS categories, evidence, confidence,
                  review_status, reviewer, billable_hours, hourly_rate, rate_source, amount, currency
           FROM marts.out_of_scope WHERE month = ?
           ORDER BY amount DESC, ticket_id""",
        [month],
    ).df()
    df["created_at"] = df["created_at"].dt.tz_convert("UTC").dt.tz_localize(None)
    return df


def review_queue(con: duckdb.DuckDBPyConnection, month: str) -> pd.DataFrame:
    """Automated hits nobody has reviewed yet, doubtful and large ones first."""
    return con.execute(
        """SELECT queue_position, ticket_id, client_id, scope_id, confidence, amount, evidence
           FROM marts.review_queue WHERE month = ? ORDER BY queue_position""",
        [month],
    ).df()


def totals(lines: pd.DataFrame) -> pd.DataFrame:
    """Per-client totals of the line items."""
    grouped = lines.groupby(["client_id", "client_name", "currency"], as_index=False).agg(
        tickets=("ticket_id", "count"),
        hours=("billable_hours", "sum"),
        amount=("amount", "sum"),
        unreviewed=("review_status", lambda s: int((s == "unreviewed").sum())),
    )
    return grouped.sort_values("amount", ascending=False)


def clean_text(value: str) -> str:
    """A text value with the control characters XLSX forbids replaced."""
    return _ILLEGAL.sub(lambda m: "\n" if m.group() in "\x0b\x0c" else "\ufffd", value)


def csv_safe(df: pd.DataFrame) -> pd.DataFrame:
    """Text cells as a spreadsheet must show them: cleaned, and prefixed with ' where a
    spreadsheet would read a formula. Numbers are left alone."""
    out = df.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(
                lambda v: ("'" + clean_text(v) if clean_text(v).startswith(_FORMULA_START)
                           else clean_text(v)) if isinstance(v, str) else v)
    return out


def _sheet(ws, df: pd.DataFrame, headers: list[str], formats: dict[str, str]) -> None:
    ws.append(headers)
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="F5F7FA")
        cell.alignment = Alignment(vertical="top", wrap_text=True)
    for row in df.itertuples(index=False):
        ws.append([None if (not isinstance(v, str) and pd.isna(v)) else
                   clean_text(v) if isinstance(v, str) else v for v in row])
        # openpyxl stores a string starting with '=' as a formula: every string is text, and
        # one that looks like a formula keeps Excel's quote prefix when someone edits the cell.
        for cell in ws[ws.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"
                cell.quotePrefix = cell.value.startswith(_FORMULA_START)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    for index, column in enumerate(df.columns, start=1):
        letter = get_column_letter(index)
        if column in formats:
            for cell in ws[letter][1:]:
                cell.number_format = formats[column]
        width = max([len(str(headers[index - 1]))] + [len(str(v)) for v in df[column].head(200)])
        ws.column_dimensions[letter].width = min(60, max(10, width + 2))


def write_export(con: duckdb.DuckDBPyConnection, month: str, folder: Path) -> tuple[Path, Path, int]:
    """Write out-of-scope-<YYYY-MM>.csv and .xlsx into `folder`; return both paths and the line count."""
    lines = line_items(con, month)
    label = month[:7]
    csv_path = folder / f"out-of-scope-{label}.csv"
    xlsx_path = folder / f"out-of-scope-{label}.xlsx"
    csv_safe(lines).rename(columns=LINE_COLUMNS).to_csv(csv_path, index=False)
    book = Workbook()
    ws = book.active
    ws.title = "Line items"
    _sheet(ws, lines, list(LINE_COLUMNS.values()),
           {"billable_hours": _HOURS, "hourly_rate": _MONEY, "amount": _MONEY,
            "confidence": _PERCENT, "created_at": "yyyy-mm-dd hh:mm"})
    summary = totals(lines)
    _sheet(book.create_sheet("Totals per client"), summary,
           ["Client id", "Client", "Currency", "Tickets", "Hours", "Amount", "Unreviewed"],
           {"hours": _HOURS, "amount": _MONEY})
    queue = review_queue(con, month)
    _sheet(book.create_sheet("Review queue"), queue,
           ["Position", "Ticket", "Client id", "Category", "Confidence", "Amount", "Evidence (automated)"],
           {"confidence": _PERCENT, "amount": _MONEY})
    book.save(xlsx_path)
    return csv_path, xlsx_path, len(lines)
