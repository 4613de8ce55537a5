"""The monthly out-of-scope export for finance: line items and per-client totals, as CSV and XLSX."""

import re
from pathlib import Path

import duckdb
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

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
    "billed": "Billed now",
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
                  review_status,
                  CASE WHEN review_status = 'approved' THEN 'yes' ELSE 'no: under review' END AS billed,
                  reviewer, billable_hours, hourly_rate, rate_source, amount, currency
           FROM marts.out_of_scope WHERE month = ?
           ORDER BY amount DESC, ticket_id""",
        [month],
    ).df()
    df["created_at"] = df["created_at"].dt.tz_convert("UTC").dt.tz_localize(None)
    return df


def review_queue(con: duckdb.DuckDBPyConnection, month: str) -> pd.DataFrame:
    """Billable lines nobody has approved yet, one row per ticket (a ticket with two scope hits
    is one line, counted once): the queue's order (doubtful and large first), then the lines the
    queue does not hold, largest first. Its amounts add up to the lines under review."""
    return con.execute(
        """WITH queue AS (
               SELECT ticket_id, min(queue_position) AS position,
                      string_agg(scope_id, '; ' ORDER BY scope_id) AS scope_ids
               FROM marts.review_queue WHERE month = ? GROUP BY ticket_id)
           SELECT row_number() OVER (ORDER BY q.position NULLS LAST, o.amount DESC, o.ticket_id)
                      AS position,
                  o.ticket_id, o.client_id, o.client_name, o.subject,
                  -- an after-hours emergency line has no scope exclusion: its category instead
                  coalesce(q.scope_ids, nullif(array_to_string(o.scope_categories, '; '), ''),
                           o.primary_category) AS scope_ids,
                  o.confidence, o.billable_hours, o.amount, o.currency, o.evidence,
                  NULL AS decision, NULL AS note, NULL AS reviewer, NULL AS decided_at
           FROM marts.out_of_scope o LEFT JOIN queue q USING (ticket_id)
           WHERE o.month = ? AND o.review_status <> 'approved'
           ORDER BY position""",
        [month, month],
    ).df()


def totals(lines: pd.DataFrame) -> pd.DataFrame:
    """Per-client totals of the line items: approved (billed now) and under review, per currency."""
    approved = lines["review_status"] == "approved"
    frame = lines.assign(approved_amount=lines["amount"].where(approved, 0.0),
                         pending_amount=lines["amount"].where(~approved, 0.0))
    grouped = frame.groupby(["client_id", "client_name", "currency"], as_index=False).agg(
        tickets=("ticket_id", "count"),
        hours=("billable_hours", "sum"),
        approved_amount=("approved_amount", "sum"),
        pending_amount=("pending_amount", "sum"),
        amount=("amount", "sum"),
        unreviewed=("review_status", lambda s: int((s != "approved").sum())),
    )
    return grouped.sort_values(["currency", "amount"], ascending=[True, False])


def month_totals(con: duckdb.DuckDBPyConnection, month: str) -> list[dict]:
    """Approved and under-review amounts of the month, one entry per currency."""
    return con.execute(
        """SELECT currency,
                  coalesce(sum(amount) FILTER (WHERE review_status = 'approved'), 0) AS approved,
                  coalesce(sum(amount) FILTER (WHERE review_status <> 'approved'), 0) AS pending
           FROM marts.out_of_scope WHERE month = ? GROUP BY currency ORDER BY currency""",
        [month],
    ).df().to_dict("records")


def grand_totals(summary: pd.DataFrame) -> pd.DataFrame:
    """One grand-total row per currency: amounts in two currencies are never added together."""
    sums = summary.groupby("currency", as_index=False)[
        ["tickets", "hours", "approved_amount", "pending_amount", "amount", "unreviewed"]].sum()
    return sums.assign(client_id=[f"TOTAL {c}" for c in sums["currency"]],
                       client_name="all clients")[list(summary.columns)]


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


DECISIONS = ("approve", "reject", "note")


def _decision_validation(ws, rows: int) -> None:
    """The Decision column offers approve / reject / note, and refuses anything else. Dropped
    into the landing folder, the filled workbook becomes review decisions on the next run
    (ingest/decision_workbook.py); Reviewer and Decided at default to the workbook's last
    editor and save time."""
    if not rows:
        return
    letter = get_column_letter([c.value for c in ws[1]].index("Decision") + 1)
    rule = DataValidation(type="list", formula1='"' + ",".join(DECISIONS) + '"', allow_blank=True,
                          showErrorMessage=True, errorTitle="Decision",
                          error="Choose approve, reject or note")
    rule.add(f"{letter}2:{letter}{rows + 1}")
    ws.add_data_validation(rule)


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
    money = {"hours": _HOURS, "approved_amount": _MONEY, "pending_amount": _MONEY,
             "amount": _MONEY}
    sheet = book.create_sheet("Totals per client")
    _sheet(sheet, pd.concat([summary, grand_totals(summary)], ignore_index=True),
           ["Client id", "Client", "Currency", "Tickets", "Hours", "Approved (billed now)",
            "Under review (not billed)", "Amount", "Unreviewed lines"], money)
    for row in sheet.iter_rows(min_row=len(summary) + 2):
        for cell in row:
            cell.font = Font(bold=True)
    queue = review_queue(con, month)
    sheet = book.create_sheet("Review queue")
    _sheet(sheet, queue,
           ["Position", "Ticket", "Client id", "Client", "Subject", "Scope exclusion(s)",
            "Confidence", "Hours", "Amount if approved", "Currency", "Evidence (automated)",
            "Decision", "Note", "Reviewer", "Decided at"],
           {"confidence": _PERCENT, "billable_hours": _HOURS, "amount": _MONEY})
    _decision_validation(sheet, len(queue))
    book.save(xlsx_path)
    return csv_path, xlsx_path, len(lines)


def add_adjustments(csv_path: Path, xlsx_path: Path, adjustments: pd.DataFrame,
                    columns: dict[str, str]) -> Path:
    """Add the adjustments to invoiced months to an open month's export: a sheet in the workbook
    and <export>-adjustments.csv beside it."""
    from openpyxl import load_workbook

    target = csv_path.with_name(csv_path.stem + "-adjustments.csv")
    csv_safe(adjustments).rename(columns=columns).to_csv(target, index=False)
    book = load_workbook(xlsx_path)
    _sheet(book.create_sheet("Adjustments"), adjustments, list(columns.values()),
           {"invoiced_amount": _MONEY, "current_amount": _MONEY, "adjustment": _MONEY})
    book.save(xlsx_path)
    return target
