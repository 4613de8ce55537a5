"""One pass over a file's bytes: hash, records, line endings, encoding, CSV header."""

import codecs
import csv
import hashlib
import os
import re
from pathlib import Path

import duckdb

from ingest.files import UTF8_MULTIBYTE, ByteScan, FileRejected, FileWarning
from warehouse.sqlquote import reader_path

_CHUNK = 1 << 20


# DuckDB's CSV reader refuses (and reports) a row longer than its 2 MB line limit, but drops a
# row longer than its read buffer (16 x that) without a trace; counted rows find those.
READER_LINE_LIMIT = 2 * 1024 * 1024


_QUOTE_OR_NEWLINE = re.compile(rb'["\n]')


def csv_records(path: Path) -> tuple[int, list[tuple[int, int, int]]]:
    """Data rows of a CSV file counted from its bytes, independently of the reader: newlines
    outside quotes (a doubled quote toggles twice), blank lines skipped as the reader skips them;
    and (data row, bytes, offset) of every row longer than 1 MB. One streaming pass; only run when
    the reader's count and the line count differ, or a line is longer than 1 MB."""
    records, long_rows = 0, []
    in_quote, start, base, previous = False, 0, 0, b""
    with os.fdopen(os.open(path, os.O_RDONLY | os.O_NOFOLLOW), "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            for match in _QUOTE_OR_NEWLINE.finditer(chunk):
                at = match.start()
                if chunk[at] == 0x22:
                    in_quote = not in_quote
                    continue
                if in_quote:
                    continue
                length = base + at - start
                before = chunk[at - 1:at] if at else previous
                if length > 1 or (length == 1 and before != b"\r"):
                    if records and length > _CHUNK:
                        long_rows.append((records, length, start))
                    records += 1
                start = base + at + 1
            base += len(chunk)
            previous = chunk[-1:]
    if base - start > 1 or (base - start == 1 and previous != b"\r"):
        if records and base - start > _CHUNK:
            long_rows.append((records, base - start, start))
        records += 1
    return max(records - 1, 0), long_rows


def line_ending_change(path: Path, crlf_first: bool) -> int:
    """The 1-based line whose ending first differs from the first line's (CRLF or LF)."""
    pattern = re.compile(rb"(?<!\r)\n" if crlf_first else rb"\r\n")
    lines, previous = 0, b""
    with os.fdopen(os.open(path, os.O_RDONLY | os.O_NOFOLLOW), "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            match = pattern.search(previous + chunk)
            if match:
                return lines + chunk[: match.end() - 1 - len(previous)].count(b"\n") + 1
            lines += chunk.count(b"\n")
            previous = chunk[-1:]
    return lines


def scan_bytes(path: Path) -> ByteScan:
    """Hash the file and check its encoding in one streaming pass (no row-level work)."""
    info = ByteScan()
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    last = b""
    # O_NOFOLLOW: a file swapped for a link after discovery is not read through it.
    with os.fdopen(os.open(path, os.O_RDONLY | os.O_NOFOLLOW), "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            if info.size == 0:
                if chunk.startswith(codecs.BOM_UTF8):
                    info.bom = "utf-8"
                elif chunk.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                    info.bom = "utf-16"
            digest.update(chunk)
            if info.first_bad_byte is None and info.bom != "utf-16":
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    info.first_bad_byte = info.size + exc.start
                    info.bad_line = info.newlines + chunk[: exc.start].count(b"\n") + 1
            # isascii() is a C loop; the regular expression only runs on chunks that need it.
            if not info.multibyte_utf8 and not chunk.isascii() and UTF8_MULTIBYTE.search(chunk):
                info.multibyte_utf8 = True
            newlines = chunk.count(b"\n")
            if newlines and not info.newlines:
                at = chunk.find(b"\n")
                info.crlf_first = (chunk[at - 1:at] if at else last) == b"\r"
            info.long_line |= newlines == 0 and len(chunk) == _CHUNK
            info.crlf += chunk.count(b"\r\n") + (last == b"\r" and chunk[:1] == b"\n")
            info.newlines += newlines
            info.size += len(chunk)
            last = chunk[-1:]
    if info.first_bad_byte is None and info.bom != "utf-16":
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            info.first_bad_byte = info.size
            info.bad_line = info.newlines + 1
    info.sha256 = digest.hexdigest()
    info.ends_with_newline = last in (b"\n", b"")
    return info


def detect_encoding(relative: str, fmt: str, info: ByteScan) -> tuple[str, list[FileWarning]]:
    """The encoding to read a text file with, and the warnings that choice deserves."""
    if info.bom == "utf-16":
        if fmt != "csv":
            raise FileRejected("unsupported_encoding",
                               f"{relative}: row 1: the file is UTF-16; JSON Lines must be UTF-8")
        return "utf-16", [FileWarning("utf16", f"{relative}: row 0 (header): read as UTF-16"
                                      " (byte-order mark); the canonical encoding is UTF-8", 0)]
    warnings = []
    if info.bom == "utf-8":
        warnings.append(FileWarning(
            "bom", f"{relative}: row 0 (header): starts with a UTF-8 byte-order mark, ignored", 0))
    if info.first_bad_byte is None:
        return "utf-8", warnings
    where = f"line {info.bad_line} (byte {info.first_bad_byte})"
    if fmt == "jsonl":
        raise FileRejected("non_utf8", f"{relative}: line {info.bad_line}: byte {info.first_bad_byte}"
                           " is not UTF-8; JSON Lines files must be UTF-8", row=info.bad_line)
    if info.multibyte_utf8:
        # Mostly UTF-8 with stray bytes: the reader quarantines the rows that hold them.
        return "utf-8", warnings
    row = info.bad_line - 1 if fmt == "csv" else info.bad_line
    warnings.append(FileWarning("latin1", f"{relative}: row {row}: not UTF-8 (first at {where});"
                                " the file is read as Latin-1", row))
    return "latin-1", warnings


def data_rows_estimate(con: duckdb.DuckDBPyConnection, absolute: Path, fmt: str, info: ByteScan) -> int:
    """Rows of a file that could not be accepted, so reconciliation can count them: lines of a
    text file, the footer's row count of a Parquet file (0 when even that is unreadable)."""
    if fmt == "parquet":
        try:
            rows = con.execute("SELECT sum(num_rows) FROM parquet_file_metadata(?)",
                               [reader_path(str(absolute))]).fetchone()[0]
        except duckdb.Error:
            return 0
        return int(rows or 0)
    lines = info.newlines + (0 if info.ends_with_newline else 1)
    if fmt != "csv":
        return lines
    # A body the strict reader parses is counted in records (a quoted line break is not a row);
    # one it cannot parse, in lines.
    records = _csv_records(absolute)
    return records if records is not None else max(lines - 1, 0)


def _csv_records(absolute: Path) -> int | None:
    """Data records of a CSV file read with the canonical dialect, or None when it does not parse.

    On a connection of its own: a failed read must not abort the caller's transaction.
    """
    try:
        with absolute.open(encoding="utf-8", errors="replace", newline="") as fh:
            header = next(csv.reader(fh), None)
        if not header:
            return None
        columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(header))) + "}"
        with duckdb.connect() as mem:
            return mem.execute(
                "SELECT count(*) FROM read_csv(?, header = true, auto_detect = false, delim = ',',"
                f" quote = '\"', escape = '\"', columns = {columns}, strict_mode = true)",
                [reader_path(str(absolute))]).fetchone()[0]
    except (duckdb.Error, OSError, csv.Error):
        return None


def csv_header(path: Path, relative: str, encoding: str) -> list[str]:
    """The header row, parsed with the canonical dialect."""
    python_encoding = {"utf-8": "utf-8-sig", "latin-1": "latin-1", "utf-16": "utf-16"}[encoding]
    with path.open(encoding=python_encoding, errors="replace", newline="") as fh:
        header = next(csv.reader(fh), None)
    if not header or all(not h.strip() for h in header):
        raise FileRejected("empty_file", f"{relative}: row 0 (header): the file is empty, no header row")
    if len(header) == 1:
        for delim, name in ((";", "semicolon"), ("\t", "tab"), ("|", "pipe")):
            if delim in header[0]:
                raise FileRejected(
                    "wrong_delimiter",
                    f"{relative}: row 0 (header): one column {header[0][:60]!r}; the file looks"
                    f" {name}-separated, the canonical CSV is comma-separated",
                    row=0, value=header[0][:200])
    return [h if h.strip() else f"column{i + 1}" for i, h in enumerate(header)]
