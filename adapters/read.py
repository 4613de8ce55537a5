"""Find a mapping's export files in the input folder and load each into DuckDB as text columns.

CSV (optionally gzipped) is read by DuckDB's `read_csv`; an Excel workbook (.xlsx) by openpyxl,
handed to DuckDB as an Arrow table. Either way every column is text and `_line` is the 1-based
data row number, so a value can be traced back to its row in the export.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
from pathlib import Path

import duckdb
import pyarrow as pa

from adapters.compile import EXCEL_TIMESTAMP
from adapters.mapping import MappingError, ReadSpec
from warehouse.sqlquote import sql_literal

EXPORT_SUFFIXES = (".csv", ".csv.gz", ".txt", ".xlsx")


def _is_export(path: Path) -> bool:
    return path.is_file() and path.name.lower().endswith(EXPORT_SUFFIXES)


def find_file(folder: Path, pattern: str | None, what: str, required: bool) -> Path | None:
    """The one export in `folder` matching `pattern` (a name or glob); None when optional and absent.

    Without a pattern the folder must hold exactly one export file.
    """
    matches = sorted(p for p in folder.glob(pattern) if p.is_file()) if pattern else sorted(
        p for p in folder.iterdir() if _is_export(p))
    if len(matches) == 1:
        return matches[0]
    if not matches:
        if not required:
            return None
        wanted = f"file matching {pattern!r}" if pattern else ".csv, .csv.gz or .xlsx export"
        present = ", ".join(p.name for p in sorted(folder.iterdir())) or "nothing"
        raise MappingError(f"{what}: no {wanted} in {folder} (it holds: {present})")
    names = ", ".join(p.name for p in matches)
    hint = "name it in the mapping's `file`" if not pattern else "make `file` more specific"
    raise MappingError(f"{what}: {len(matches)} files match in {folder} ({names}); {hint}")


def _dedupe(header: list[str], spec: ReadSpec) -> list[str]:
    """Header names after the mapping's fixes: renames, and the n-th repeat of a name."""
    seen: dict[str, int] = {}
    names = []
    for i, raw in enumerate(header):
        name = raw.strip() or f"column_{i + 1}"
        n = seen.get(name, 0)
        seen[name] = n + 1
        if name in spec.duplicate_headers and n < len(spec.duplicate_headers[name]):
            name = spec.duplicate_headers[name][n]
        elif n:
            name = f"{name}_{n}"
        names.append(spec.header_renames.get(name, name))
    return names


def csv_header(path: Path, spec: ReadSpec) -> list[str]:
    """A CSV export's column names after the mapping's header fixes."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as fh:
        header = next(csv.reader(fh, delimiter=spec.delimiter), None)
    if not header:
        raise MappingError(f"{path}: the export has no header row")
    return _dedupe(header, spec)


def _cell(value: object) -> str | None:
    """An Excel cell as text: dates unambiguous (year first), whole numbers without '.0'."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.strftime(EXCEL_TIMESTAMP)
    if isinstance(value, dt.date):
        return value.strftime("%Y-%m-%d 00:00:00")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _xlsx_table(path: Path, spec: ReadSpec) -> tuple[list[str], pa.Table]:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        if spec.sheet is not None and spec.sheet not in book.sheetnames:
            raise MappingError(f"{path}: no sheet {spec.sheet!r} (sheets: {', '.join(book.sheetnames)})")
        sheet = book[spec.sheet] if spec.sheet else book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if not header or all(c is None for c in header):
            raise MappingError(f"{path}: sheet {sheet.title!r} has no header row")
        # The file parser's own loop: cells become text columns, nothing else happens here.
        nulls = {"", *spec.null_values}
        columns: list[list[str | None]] = [[] for _ in header]
        for row in rows:
            if all(c is None for c in row):
                continue
            for i in range(len(header)):
                text = _cell(row[i]) if i < len(row) else None
                columns[i].append(None if text is None or text.strip() in nulls else text)
    finally:
        book.close()
    names = _dedupe([str(h) if h is not None else "" for h in header], spec)
    arrays = {n: pa.array(c, type=pa.string()) for n, c in zip(names, columns, strict=True)}
    lines = len(columns[0]) if columns else 0
    arrays["_line"] = pa.array(range(1, lines + 1), type=pa.int64())
    return names, pa.table(arrays)


def load_table(con: duckdb.DuckDBPyConnection, table: str, path: Path, spec: ReadSpec) -> list[str]:
    """Create temp table `table` from the export: its columns as text, plus `_line`."""
    if path.name.lower().endswith((".xls", ".xlsm", ".xlsb", ".ods")):
        raise MappingError(f"{path}: only .xlsx workbooks are read; save it as .xlsx or .csv")
    if path.name.lower().endswith(".xlsx"):
        names, arrow = _xlsx_table(path, spec)
        con.register(f"{table}_arrow", arrow)
        con.execute(f'CREATE TEMP TABLE "{table}" AS SELECT * FROM "{table}_arrow"')
        con.unregister(f"{table}_arrow")
        return names
    names = csv_header(path, spec)
    nulls = ", ".join(sql_literal(n) for n in ["", *spec.null_values])
    cols = ", ".join(sql_literal(n) for n in names)
    con.execute(
        f'CREATE TEMP TABLE "{table}" AS SELECT *, ordinality AS _line'
        f" FROM read_csv({sql_literal(str(path))}, header = true, all_varchar = true,"
        f" delim = {sql_literal(spec.delimiter)}, nullstr = [{nulls}],"
        f" names = [{cols}], quote = '\"') WITH ORDINALITY"
    )
    return names
