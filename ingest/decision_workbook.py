"""A finance workbook with decisions, read as review decisions.

Finance fills the Decision column (approve / reject / note) of the published export
(out-of-scope-<YYYY-MM>.xlsx) and drops the file into the landing folder. Landing reads it here:
each filled entry becomes review decisions in the landing format (`scope:<id>=approved`,
`=rejected`, or `=noted` for a note that decides nothing), one per scope exclusion of the line,
with the reviewer, the time and the note. An entry that cannot be read is refused with its cell
named and lands in quality.quarantine; the file itself stays in landing as delivered.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from policy.config import SCOPE_EXCLUSION_IDS
from warehouse.sqlquote import sql_literal

# Column headers of the export's Review queue sheet (reports/finance.py writes them).
TICKET, SCOPES, DECISION, NOTE, REVIEWER, DECIDED_AT = (
    "Ticket", "Scope exclusion(s)", "Decision", "Note", "Reviewer", "Decided at")
VERDICTS = {"approve": "approved", "reject": "rejected", "note": "noted"}
# An after-hours emergency line is billed once a reviewer confirms the emergency (the policy offers
# that response only where contracted): approving it confirms the emergency, rejecting denies it.
AFTER_HOURS = "after_hours_emergency"
EMERGENCY = {"approved": "emergency=confirmed", "rejected": "emergency=denied"}
# The landing columns of one decision; `entry`, `sheet` and `cell` keep where it was written.
COLUMNS = ["ticket_id", "decision", "reviewer", "decided_at", "note", "entry", "sheet", "cell"]


def is_decision_workbook(name: str) -> bool:
    """A finance export as published (out-of-scope-<YYYY-MM>.xlsx), wherever it is dropped."""
    lower = name.lower()
    return lower.startswith("out-of-scope-") and lower.endswith(".xlsx")


@dataclass
class Entries:
    """What a workbook holds: decision rows (numbered from 1, as delivered) and refused entries."""

    rows: list[dict]
    rejects: list[dict]


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _when(value: object) -> str | None:
    """An ISO 8601 instant (a naive time is UTC), or None when the value is not a time."""
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(_text(value))
        except ValueError:
            return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def _pick(values: tuple, where: dict[str, int], name: str) -> object:
    index = where.get(name)
    return values[index] if index is not None and index < len(values) else None


def read_entries(path: Path, relative: str) -> Entries:
    """Every filled Decision (or Note) cell of every sheet that has a Decision column.

    Reviewer and time come from the row's Reviewer / Decided at cells, else from the workbook's
    "last modified by" and "modified" properties, else the file's modification time. The result
    depends on the file alone (landing and raw read it at different times and must agree), so
    whether a ticket exists is judged by staging, as for a CSV of decisions. Raises ValueError
    when the file is not a workbook or no sheet has a Decision column.
    """
    # openpyxl (0.3 to 0.8 s of import) only when a landing folder holds a decision workbook.
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile, KeyError or its own errors
        raise ValueError(f"{relative}: not a readable XLSX workbook ({type(exc).__name__})") from exc
    default_reviewer = _text(book.properties.lastModifiedBy) or None
    stamp = book.properties.modified or datetime.fromtimestamp(path.stat().st_mtime, UTC)
    default_time = _when(stamp)
    sheets = 0
    found: list[tuple[str, int, dict[str, int], tuple]] = []
    for sheet in book.worksheets:
        rows = sheet.iter_rows(values_only=True)
        header = [_text(v) for v in next(rows, ())]
        if DECISION not in header:
            continue
        sheets += 1
        where = {name: header.index(name) for name in
                 (TICKET, SCOPES, DECISION, NOTE, REVIEWER, DECIDED_AT) if name in header}
        for number, values in enumerate(rows, start=2):
            picked = tuple(_pick(values, where, n) for n in
                           (TICKET, SCOPES, DECISION, NOTE, REVIEWER, DECIDED_AT))
            if _text(picked[2]) or _text(picked[3]):
                found.append((sheet.title, number, where, picked))
    book.close()
    if not sheets:
        raise ValueError(f"{relative}: no sheet has a {DECISION!r} column")
    entries = Entries([], [])
    for sheet, number, where, (ticket, scopes, decision, note, reviewer, decided) in found:
        def ref(name: str, number: int = number, where: dict = where) -> str:
            return f"{get_column_letter(where[name] + 1)}{number}" if name in where else "?"

        def refuse(code: str, name: str, value: object, why: str, sheet: str = sheet) -> None:
            entries.rejects.append({
                "row": len(entries.rows) + len(entries.rejects) + 1, "field": name.lower(),
                "value": _text(value)[:200], "code": code,
                "reason": f"{relative}, sheet {sheet}, cell {ref(name)}: {why}"})

        verdict = VERDICTS.get(_text(decision).lower())
        ids = [s.strip().lower() for s in _text(scopes).split(";") if s.strip()]
        when = _when(decided) if _text(decided) else default_time
        if verdict is None:
            refuse("invalid_decision", DECISION, decision, f"{_text(decision)!r} is not"
                   " approve/reject/note" if _text(decision) else
                   f"a note in cell {ref(NOTE)} without a decision (approve/reject/note)")
        elif not _text(ticket):
            refuse("missing_value", TICKET, ticket, "no ticket id beside the decision")
        elif ids == [AFTER_HOURS] and verdict == "noted":
            refuse("invalid_decision", DECISION, decision, "a note alone on an after-hours"
                   " emergency line is not recorded: approve (confirm the emergency) or reject")
        elif ids != [AFTER_HOURS] and (not ids or any(s not in SCOPE_EXCLUSION_IDS for s in ids)):
            refuse("unknown_scope", SCOPES, scopes, f"{_text(scopes)!r} is not a scope"
                   " exclusion id of the policy (or ids separated by ';')")
        elif verdict == "noted" and not _text(note):
            refuse("missing_value", NOTE, note, "decision 'note' without a note")
        elif when is None:
            refuse("unparseable_timestamp", DECIDED_AT, decided,
                   f"{_text(decided)!r} is not a date and time")
        else:
            for scope_id in ids:
                entries.rows.append({
                    "ticket_id": _text(ticket),
                    "decision": EMERGENCY[verdict] if scope_id == AFTER_HOURS
                    else f"scope:{scope_id}={verdict}",
                    "reviewer": _text(reviewer) or default_reviewer, "decided_at": when,
                    "note": _text(note) or None, "entry": _text(decision), "sheet": sheet,
                    "cell": ref(DECISION), "_row": len(entries.rows) + len(entries.rejects) + 1})
    return entries


def scan_sql(path: Path, relative: str) -> str:
    """A FROM-clause item with the workbook's decision rows under the positional names landing
    reads (`_c1`.., in COLUMNS order) and `_row`; refused entries are not in it."""
    rows = read_entries(path, relative).rows
    names = ", ".join(f"_c{i + 1}" for i in range(len(COLUMNS)))
    if not rows:
        nulls = ", ".join(f"NULL::VARCHAR AS _c{i + 1}" for i in range(len(COLUMNS)))
        return f"(SELECT {nulls}, NULL::BIGINT AS _row WHERE false)"
    values = ", ".join(
        "(" + ", ".join("NULL::VARCHAR" if r[c] is None else sql_literal(r[c]) for c in COLUMNS)
        + f", {int(r['_row'])})" for r in rows)
    return f"(SELECT * FROM (VALUES {values}) AS t({names}, _row))"
