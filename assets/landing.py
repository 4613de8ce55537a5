"""Landing files: discover delivered files, fingerprint them, and read them as SQL relations."""


import codecs
import csv
import difflib
import hashlib
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from assets.partitions import in_window_sql, month_workers, side_by_side
from assets.resources import PipelineSettings
from assets.sqlquote import reader_path, sql_identifier, sql_literal
from assets.warehouse import CANONICAL, REQUIRED, TIME_COLUMN, ensure_warehouse
from reports import decision_workbook

# .xlsx: a finance export with its Decision column filled (reports/decision_workbook.py).
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet",
           ".xlsx": "xlsx"}

# The canonical CSV dialect, fixed rather than sniffed: a sniffer guesses a dialect in which a
# broken file "parses". Rows the reader cannot parse are set aside (and quarantined), not fatal.
_CSV_OPTIONS = (
    "auto_detect = false, header = true, delim = ',', quote = '\"', escape = '\"',"
    " store_rejects = true, rejects_table = 'csv_rejects', rejects_scan = 'csv_reject_scans'"
)
_READER_REASONS = {
    "MISSING COLUMNS": "missing_fields",
    "TOO MANY COLUMNS": "extra_fields",
    "INVALID ENCODING": "non_utf8",
    "UNQUOTED VALUE": "unbalanced_quote",
    "LINE SIZE OVER MAXIMUM": "line_too_long",
}
# Columns holding timestamps: a Parquet file typing them as numbers is a wrong-type delivery.
_TIMESTAMP_COLUMNS = {"created_at", "resolved_at", "updated_at", "event_at", "started_at",
                      "decided_at", "valid_from"}
_OFFSET = r"([zZ]|[+-][0-9]{2}(:?[0-9]{2})?)$"
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


@dataclass(frozen=True)
class LandingFile:
    """One delivered file as recorded in raw.landing_files."""

    file_id: str
    entity: str
    path: str  # relative to the landing folder
    format: str
    columns: list[str]
    encoding: str = "utf-8"
    rejected_rows: tuple[int, ...] = ()  # data rows the reader set aside, ascending
    mixed_line_endings: bool = False  # CRLF and LF lines in one CSV file


class FileRejected(Exception):
    """The whole file cannot be accepted; carries a reason code, the row and the field."""

    def __init__(self, code: str, message: str, row: int | None = None,
                 field: str | None = None, value: str | None = None,
                 rows: int | None = None) -> None:
        super().__init__(message)
        self.code, self.row, self.field, self.value = code, row, field, value
        self.rows = rows  # the file's data rows, when counted


@dataclass(frozen=True)
class FileWarning:
    """A caveat about a file that is loaded anyway."""

    code: str
    message: str
    row: int | None = None
    field: str | None = None


@dataclass
class _Bytes:
    """What one pass over the file's bytes tells: hash, encoding, rows, how it ends."""

    sha256: str = ""
    size: int = 0
    newlines: int = 0
    ends_with_newline: bool = True
    bom: str = ""  # 'utf-8' | 'utf-16' | ''
    first_bad_byte: int | None = None  # offset of the first byte that is not UTF-8
    bad_line: int | None = None  # 1-based physical line of that byte
    multibyte_utf8: bool = False
    crlf: int = 0  # newlines preceded by a carriage return
    long_line: bool = False  # some 1 MB stretch holds no newline
    crlf_first: bool = False  # the first line ends in CRLF


def _normalise(header: str) -> str:
    return header.strip().lstrip("\ufeff").strip().lower().replace(" ", "_")


def _entity_of(relative: Path) -> str | None:
    """Entity from the first folder (tickets/…) or the file name prefix (tickets_2025-01.csv)."""
    if decision_workbook.is_decision_workbook(relative.name):
        return "review_decisions"
    candidates = [relative.parts[0]] if len(relative.parts) > 1 else []
    candidates.append(relative.name.lower())
    for candidate in candidates:
        for entity in sorted(CANONICAL, key=len, reverse=True):
            if candidate == entity or candidate.startswith(entity):
                return entity
    return None


_CHUNK = 1 << 20
# DuckDB's CSV reader refuses (and reports) a row longer than its 2 MB line limit, but drops a
# row longer than its read buffer (16 x that) without a trace; counted rows find those.
_READER_LINE_LIMIT = 2 * 1024 * 1024
_QUOTE_OR_NEWLINE = re.compile(rb'["\n]')


def _csv_records(path: Path) -> tuple[int, list[tuple[int, int, int]]]:
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


def _line_ending_change(path: Path, crlf_first: bool) -> int:
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


def _scan_bytes(path: Path) -> _Bytes:
    """Hash the file and check its encoding in one streaming pass (no row-level work)."""
    info = _Bytes()
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
            if not info.multibyte_utf8 and not chunk.isascii() and _UTF8_MULTIBYTE.search(chunk):
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


def _encoding(relative: str, fmt: str, info: _Bytes) -> tuple[str, list[FileWarning]]:
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


def _data_rows_estimate(con: duckdb.DuckDBPyConnection, absolute: Path, fmt: str, info: _Bytes) -> int:
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
    return max(lines - 1, 0) if fmt == "csv" else lines


def _csv_header(path: Path, relative: str, encoding: str) -> list[str]:
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


def path_sql(absolute: Path) -> str:
    """The file's path as a literal for DuckDB's readers: that one file, never a glob."""
    return sql_literal(reader_path(str(absolute)))


def _position(index: int) -> str:
    """The scan's name for the delivered column at 0-based `index`.

    Delivered headers and Parquet names never become SQL identifiers: columns are read by
    position under these names, and the delivered names appear only as string literals.
    """
    return f"_c{index + 1}"


def _mixed_endings(file: LandingFile) -> str:
    """Reader options for a CSV file whose lines end in CRLF and in LF: the strict reader stops on
    the first line ending that differs from the first one's; the lenient one reads both."""
    return ", strict_mode = false" if file.mixed_line_endings else ""


def scan_sql(absolute: Path, file: LandingFile) -> str:
    """A FROM-clause item reading the file as text, with `_row` = 1-based data row number and
    the delivered columns under their positional names (`_c1`, `_c2`, ...)."""
    p = path_sql(absolute)
    if file.format == "xlsx":
        return decision_workbook.scan_sql(absolute, file.path)
    if file.format == "csv":
        columns = "{" + ", ".join(f"'{_position(i)}': 'VARCHAR'" for i in range(len(file.columns))) + "}"
        # The reader numbers the rows it returns; rows it set aside shift the later ones back.
        shifts = [r - i for i, r in enumerate(file.rejected_rows, start=1)]
        row = "ordinality"
        if shifts:
            row = f"ordinality + len(list_filter({shifts}, lambda s: s < ordinality))"
        return (
            f"(SELECT * EXCLUDE (ordinality), {row} AS _row FROM read_csv({p}, columns = {columns},"
            f" encoding = {sql_literal(file.encoding)}, {_CSV_OPTIONS}{_mixed_endings(file)})"
            " WITH ORDINALITY)"
        )
    if file.format == "parquet":
        names = ", ".join(_position(i) for i in range(len(file.columns)))
        return (f"(SELECT *, file_row_number + 1 AS _row FROM read_parquet({p}, file_row_number = true)"
                f" AS t({names}))")
    return f"(SELECT CAST(line AS JSON) AS _json, n AS _row FROM {_jsonl_lines(p)} WHERE is_object)"


# A JSON Lines file's judged lines while it is registered (temp: this connection only).
_LINES = "landing_jsonl_lines"


def _jsonl_lines(p: str) -> str:
    """Every non-blank line of a JSON Lines file with its line number, whether it is an object
    whose keys are all different (is_object), and the first key it repeats (dup_key)."""
    # Readers disagree on a repeated key (DuckDB takes the first value, Python's json the last),
    # so an object that repeats one is refused rather than read one way.
    return (
        "(SELECT n, line, object AND dup_key IS NULL AS is_object, dup_key FROM"
        " (SELECT *, CASE WHEN object THEN list_filter(keys, lambda k, i: list_position(keys, k) < i)[1]"
        " END AS dup_key FROM (SELECT *, CASE WHEN object THEN json_keys(try_cast(line AS JSON)) END"
        " AS keys FROM (SELECT n, line,"
        " json_valid(line) AND json_type(try_cast(line AS JSON)) = 'OBJECT' AS object"
        " FROM (SELECT n, ltrim(rtrim(raw_line, chr(13)), chr(65279)) AS line"
        # The split list is projected before the lateral unnest: unnesting next to `content`
        # copies the whole file into every line's row (DuckDB 2.0 ran out of memory on 2 MB).
        f" FROM (SELECT string_split(content, chr(10)) AS lines FROM read_text({p})),"
        " unnest(lines) WITH ORDINALITY AS t(raw_line, n))"
        " WHERE trim(line) <> ''))))"
    )


def _column(file: LandingFile, name: str, alias: str = "") -> str:
    """The text of canonical column `name` in a scan of the file (NULL when it has none)."""
    index = {_normalise(c): i for i, c in enumerate(file.columns)}.get(name)
    if index is None:
        return "NULL::VARCHAR"
    if file.format == "jsonl":
        # A canonical key (a name that normalises to a canonical column) never starts with `$`
        # or `/`, so `->>` reads it as a key, not as a JSON path.
        return f"({alias}_json ->> {sql_literal(file.columns[index])})"
    return f"CAST({alias}{_position(index)} AS VARCHAR)"


# Entities placed in monthly partitions by their time column: a timestamp outside the pipeline's
# window (1900, 2200) must not stretch the file's months to partitions that do not exist.
_WINDOWED = ("tickets", "ticket_events", "time_entries")


def _time_stats(ts: str, row: str, entity: str) -> str:
    """Aggregates over a file's time column: first and last month (of the timestamps inside the
    pipeline's window, for partitioned entities), rows without a UTC offset and the first of them."""
    no_offset = (f"try_cast({ts} AS TIMESTAMPTZ) IS NOT NULL AND length(trim({ts})) > 10"
                 f" AND NOT regexp_matches(trim({ts}), '{_OFFSET}')")
    month = f"date_trunc('month', try_cast({ts} AS TIMESTAMPTZ))"
    if entity in _WINDOWED:
        month = f"CASE WHEN {in_window_sql(f'try_cast({ts} AS TIMESTAMPTZ)')} THEN {month} END"
    return (f"min({month}), max({month}),"
            f" count(*) FILTER (WHERE {no_offset}), min({row}) FILTER (WHERE {no_offset})")


def canonical_select(file: LandingFile, absolute: Path) -> str:
    """SELECT of the canonical columns (as text), lineage and unknown columns as `_extra` JSON."""
    known = set(CANONICAL[file.entity])
    extras = [(i, c) for i, c in enumerate(file.columns) if _normalise(c) not in known]
    if not extras:
        extra = "NULL::JSON"
    elif file.format == "jsonl":
        # The object's other keys, matched as keys (a key may look like a JSON path: `$.x`).
        keys = "[" + ", ".join(sql_literal(c) for _, c in extras) + "]"
        extra = ("CAST(map_from_entries(list_filter(map_entries(CAST(_json AS MAP(VARCHAR, JSON))),"
                 f" lambda e: list_contains({keys}, e.key))) AS JSON)")
    else:
        extra = "json_object(" + ", ".join(
            f"{sql_literal(c)}, {_position(i)}" for i, c in extras) + ")"
    columns = ", ".join(f"{_column(file, c)} AS {sql_identifier(c)}" for c in CANONICAL[file.entity])
    return (
        f"SELECT {columns}, {sql_literal(file.file_id)} AS _file_id,"
        f" {sql_literal(file.path)} AS _source_file, _row AS _source_row,"
        f" now() AS _loaded_at, {extra} AS _extra FROM {scan_sql(absolute, file)}"
    )


def peek_select(con: duckdb.DuckDBPyConnection, landing: Path, absolute: Path, entity: str) -> str:
    """SELECT of a delivered file's canonical columns (text), read as the raw layer reads it.

    For readers that must not write the warehouse (the landing sensor). Raises FileRejected or
    duckdb.Error for a file landing_files would reject.
    """
    relative = absolute.relative_to(landing).as_posix()
    fmt = FORMATS[absolute.suffix.lower()]
    encoding, info = "utf-8", _Bytes()
    if fmt == "parquet":
        columns = [r[0] for r in con.execute(
            "DESCRIBE SELECT * FROM read_parquet(?)", [reader_path(str(absolute))]).fetchall()]
    elif fmt == "xlsx":
        columns = decision_workbook.COLUMNS
    else:
        info = _scan_bytes(absolute)
        encoding, _ = _encoding(relative, fmt, info)
        if fmt == "csv":
            columns = _csv_header(absolute, relative, encoding)
        else:
            columns = sorted(r[0] for r in con.execute(
                "SELECT DISTINCT unnest(json_keys(CAST(line AS JSON)))"
                f" FROM {_jsonl_lines(path_sql(absolute))} WHERE is_object"
            ).fetchall())
    mixed = fmt == "csv" and 0 < info.crlf < info.newlines
    return canonical_select(LandingFile("", entity, relative, fmt, columns, encoding,
                                        mixed_line_endings=mixed), absolute)


def accepted_files(
    con: duckdb.DuckDBPyConnection, entity: str, month: str | None = None
) -> list[LandingFile]:
    """Accepted files of an entity; with `month`, only files whose rows may fall in that month."""
    sql = (
        "SELECT file_id, entity, path, format, columns, coalesce(encoding, 'utf-8'),"
        " coalesce(rejected_rows, []), coalesce(mixed_line_endings, false)"
        " FROM raw.landing_files WHERE entity = ? AND status = 'accepted'"
    )
    params: list[object] = [entity]
    if month is not None:
        # One month of slack either side: the month is judged in the client's zone, the range in UTC.
        sql += (
            " AND (min_month IS NULL OR (min_month <= CAST(? AS DATE) + INTERVAL 1 MONTH"
            " AND max_month >= CAST(? AS DATE) - INTERVAL 1 MONTH))"
        )
        params += [month, month]
    rows = con.execute(sql + " ORDER BY first_seen_at, path", params).fetchall()
    return [LandingFile(r[0], r[1], r[2], r[3], list(r[4] or []), r[5], tuple(r[6]), r[7])
            for r in rows]


def _suggest(missing: str, candidates: list[str]) -> str | None:
    """The delivered column that most likely is `missing` under another name."""
    normalised = {_normalise(c).replace("_", ""): c for c in candidates}
    match = difflib.get_close_matches(missing.replace("_", ""), list(normalised), n=1, cutoff=0.6)
    return normalised[match[0]] if match else None


def _check_columns(relative: str, entity: str, columns: list[str]) -> list[FileWarning]:
    """Reject a file without a required column; return warnings about unknown columns."""
    norm = [_normalise(c) for c in columns]
    doubled = sorted({c for c in norm if norm.count(c) > 1})
    if doubled:
        raise FileRejected("duplicate_column", f"{relative}: row 0 (header): column(s)"
                           f" {', '.join(doubled)} appear more than once", row=0, field=doubled[0])
    unknown = [c for c in columns if _normalise(c) not in CANONICAL[entity]]
    missing = [c for c in REQUIRED[entity] if c not in norm]
    if missing:
        hints = [f"{s!r} looks like {m} renamed" for m in missing if (s := _suggest(m, unknown))]
        message = f"{relative}: row 0 (header): missing required column(s) {', '.join(missing)}"
        if hints:
            message += " (" + "; ".join(hints) + ")"
        raise FileRejected("renamed_column" if hints else "missing_column", message,
                           row=0, field=missing[0])
    warnings = []
    for column in unknown:
        absent = [c for c in CANONICAL[entity] if c not in norm]
        guess = _suggest(column, absent) if absent else None
        hint = f"; did you mean {guess}?" if guess else ""
        warnings.append(FileWarning("unknown_column", f"{relative}: row 0 (header), field {column}:"
                                    f" unknown column kept in _extra{hint}", 0, column))
    return warnings


def _parquet_columns(
    con: duckdb.DuckDBPyConnection, relative: str, absolute: Path, entity: str
) -> tuple[list[str], list[FileWarning]]:
    """Column names of a Parquet file; a timestamp column stored as another type is refused
    (the entity's own time column) or warned about (its values will not read as times)."""
    described = con.execute(
        "DESCRIBE SELECT * FROM read_parquet(?)", [reader_path(str(absolute))]
    ).fetchall()
    warnings = []
    for index, (name, column_type, *_) in enumerate(described):
        if _normalise(name) not in _TIMESTAMP_COLUMNS or column_type.startswith(
            ("VARCHAR", "TIMESTAMP", "DATE")
        ):
            continue
        problem = (f"column {name} is Parquet {column_type}; timestamps must be ISO 8601 text or a"
                   " Parquet timestamp")
        if _normalise(name) == TIME_COLUMN[entity]:
            first = con.execute(
                f"SELECT CAST(#{index + 1} AS VARCHAR) FROM read_parquet(?) LIMIT 1",
                [reader_path(str(absolute))],
            ).fetchone()
            raise FileRejected("wrong_type", f"{relative}: row 1, field {name}: {problem}"
                               f" (value {first[0] if first else None!r})", row=1, field=name,
                               value=first[0] if first else None)
        warnings.append(FileWarning("wrong_type", f"{relative}: field {name}: {problem}; those"
                                    " values are not read as times", None, name))
    return [r[0] for r in described], warnings


def _reader_rejects(con: duckdb.DuckDBPyConnection, file: LandingFile, info: _Bytes) -> list[dict]:
    """Data rows the reader could not parse, one per row, with reason, field and the text.

    A JSON Lines file's lines are in the temp table `_LINES` (see register_file).
    """
    if file.format == "jsonl":
        rows = con.execute(
            f"SELECT n, line, dup_key FROM {_LINES} WHERE NOT is_object ORDER BY n").fetchall()
        last_line = info.newlines + (0 if info.ends_with_newline else 1)
        out = []
        for n, line, dup_key in rows:
            cut = n == last_line and not info.ends_with_newline
            if dup_key is not None:
                out.append({"row": n, "field": dup_key, "value": line, "code": "duplicate_key",
                            "summary": f"{file.path}: row {n} (line {n}), field {dup_key}: the key"
                            f" {dup_key} appears more than once in the object; not loaded"})
            else:
                out.append({"row": n, "field": None, "value": line,
                            "code": "truncated_row" if cut else "invalid_json",
                            "summary": f"{file.path}: row {n} (line {n}): "
                            + ("the last line is cut off mid-object" if cut
                               else "not a valid JSON object")})
            # The row's quarantine reason shows its start; a file-level reason never does.
            out[-1]["reason"] = out[-1]["summary"] + f": {line[:80]}"
        return out
    if not con.execute(
        "SELECT 1 FROM duckdb_tables() WHERE table_name = 'csv_rejects' AND temporary"
    ).fetchone():
        return []  # the reader creates the table only when it sets a row aside
    rows = con.execute(
        "SELECT line - 1 AS data_row, arg_min(column_name, column_idx), arg_min(error_type, column_idx),"
        " arg_min(csv_line, column_idx), arg_min(error_message, column_idx)"
        " FROM csv_rejects GROUP BY ALL ORDER BY data_row"
    ).fetchall()
    last = max((r for r, *_ in rows), default=None)
    out = []
    delivered_names = {_position(i): c for i, c in enumerate(file.columns)}
    for data_row, column, error_type, line, message in rows:
        column = delivered_names.get(column, column)
        code = _READER_REASONS.get(error_type, "unreadable_row")
        cut = code == "missing_fields" and data_row == last and not info.ends_with_newline
        if cut:
            code, text = "truncated_row", "the file ends mid-row (no final newline):"
        elif code == "missing_fields":
            text = "too few fields:"
        elif code == "extra_fields":
            text = "more fields than the header has columns:"
        elif code == "non_utf8":
            text = "bytes that are not UTF-8:"
        elif code == "unbalanced_quote":
            text = "a quote opens here and never closes:"
        else:
            text = f"{error_type.lower()}:"
        where = f"field {column}" if column else "the row"
        out.append({"row": data_row, "field": column, "value": line, "code": code,
                    "reason": f"{file.path}: row {data_row}, {where}: {text} {message}"})
    return out


def _unseen_rows(relative: str, absolute: Path, info: _Bytes, good_rows: int,
                 rejects: list[dict]) -> list[dict]:
    """`rejects` plus the rows the reader dropped without a word, found by counting the file's
    rows from its bytes; raises FileRejected when the dropped rows cannot be told apart.

    The count only runs when the reader's rows and the file's lines disagree (quoted newlines,
    blank lines, a lost row) or a line is longer than 1 MB, so a clean file costs nothing more.
    """
    lines = info.newlines + (0 if info.ends_with_newline else 1)
    if info.bom == "utf-16" or (good_rows + len(rejects) == max(lines - 1, 0)
                                and not info.long_line):
        return rejects
    delivered, long_rows = _csv_records(absolute)
    lost = delivered - good_rows - len(rejects)
    if lost <= 0:
        return rejects
    refused = {r["row"] for r in rejects}
    # The reader drops only rows longer than its buffer: the longest rows it did not report.
    dropped = sorted((r for r in long_rows if r[0] not in refused), key=lambda r: -r[1])[:lost]
    if len(dropped) < lost:
        raise FileRejected("rows_lost", f"{relative}: row 0: the file holds {delivered} rows but"
                           f" the reader returned {good_rows + len(rejects)}; the file is not"
                           " loaded, so no row is lost unseen", row=0, rows=delivered)
    out = list(rejects)
    with absolute.open("rb") as fh:
        for row, size, offset in sorted(dropped):
            fh.seek(offset)
            start = fh.read(200).decode(info.bom or "utf-8", errors="replace")
            out.append({"row": row, "field": None, "value": start, "code": "line_too_long",
                        "reason": f"{relative}: row {row}: the row is {size:,} bytes, more than the"
                        f" CSV reader can hold ({_READER_LINE_LIMIT:,} bytes per row); not loaded"})
    return sorted(out, key=lambda r: r["row"])


def _quarantine_read_errors(con: duckdb.DuckDBPyConnection, file: LandingFile,
                            rejects: list[dict]) -> None:
    """Record rows (or the whole file) the reader refused, under stage landing_files."""
    con.execute("DELETE FROM quality.quarantine WHERE stage = 'landing_files' AND source_file = ?",
                [file.path])
    if not rejects:
        return
    con.execute(
        "INSERT INTO quality.quarantine BY NAME SELECT 'landing_files' AS stage, ? AS entity,"
        " NULL::DATE AS partition_month, ? AS source_file, unnest(?) AS source_row,"
        " unnest(?) AS field, unnest(?) AS raw_value, unnest(?) AS reason_code,"
        " unnest(?) AS reason, now() AS detected_at",
        [file.entity, file.path, [r["row"] for r in rejects], [r["field"] for r in rejects],
         [None if r["value"] is None else r["value"][:2000] for r in rejects],
         [r["code"] for r in rejects], [r["reason"] for r in rejects]],
    )
    # The record and client a refused row belongs to, where its text still shows the field whole
    # (a JSON string that closes, a CSV field followed by others): never a cut-off value.
    key = "client_id" if file.entity == "clients" else "ticket_id"
    for target, column in (("record_key", key), ("client_id", "client_id")):
        if column not in CANONICAL[file.entity]:
            continue
        if file.format == "jsonl":
            value = f"""nullif(regexp_extract(raw_value, '"{column}"\\s*:\\s*"([^"]*)"', 1), '')"""
            condition = "true"
        elif file.format == "csv" and column in (named := [_normalise(c) for c in file.columns]):
            position = named.index(column) + 1
            value = f"nullif(string_split(raw_value, ',')[{position}], '')"
            condition = f"raw_value NOT LIKE '%\"%' AND len(string_split(raw_value, ',')) > {position}"
        else:
            continue
        con.execute(
            f"""UPDATE quality.quarantine SET {target} = {value}
               WHERE stage = 'landing_files' AND source_file = ? AND source_row > 0
                 AND {condition}""", [file.path])


def _warn(con: duckdb.DuckDBPyConnection, file: LandingFile, warnings: list[FileWarning]) -> None:
    """Replace the file's landing warnings."""
    con.execute("DELETE FROM quality.warnings WHERE stage = 'landing_files' AND source_file = ?",
                [file.path])
    for w in warnings:
        con.execute(
            "INSERT INTO quality.warnings BY NAME SELECT 'landing_files' AS stage, ? AS entity,"
            " ? AS source_file, ? AS source_row, ? AS field, ? AS reason_code, ? AS reason,"
            " now() AS detected_at",
            [file.entity, file.path, w.row, w.field, w.code, w.message],
        )


@dataclass
class _Delivery:
    """A file in the landing folder not registered yet, and what registering it found."""

    absolute: Path
    relative: str
    entity: str
    modified_ns: int
    info: _Bytes
    record: dict
    file: LandingFile
    rejects: list[dict]
    warnings: list[FileWarning]


def _new_delivery(landing: Path, absolute: Path, entity: str, modified_ns: int) -> _Delivery:
    """Hash and check the bytes of a file that is not registered under its path, size and time."""
    relative = absolute.relative_to(landing).as_posix()
    fmt = FORMATS[absolute.suffix.lower()]
    info = _scan_bytes(absolute)
    record = {
        "file_id": info.sha256, "entity": entity, "path": relative, "format": fmt,
        "bytes": info.size, "status": "accepted", "duplicate_of": None,
        "reason": None, "reason_code": None, "columns": None, "extra_columns": None,
        "data_rows": None, "min_month": None, "max_month": None, "encoding": None,
        "rejected_rows": None, "warnings": None, "modified_ns": modified_ns,
        "mixed_line_endings": None,
    }
    return _Delivery(absolute, relative, entity, modified_ns, info, record,
                     LandingFile(info.sha256, entity, relative, fmt, []), [], [])


def _read_delivery(con: duckdb.DuckDBPyConnection, delivery: _Delivery) -> _Delivery:
    """Read a new file once: columns, rows, months, the rows the reader refused, warnings.

    Writes nothing but this connection's temp tables, so files are read side by side.
    """
    absolute, relative, entity, info = (delivery.absolute, delivery.relative, delivery.entity,
                                        delivery.info)
    record, file_id, fmt = delivery.record, info.sha256, delivery.file.format
    file = delivery.file
    rejects: list[dict] = []
    warnings: list[FileWarning] = []
    try:
        if info.size == 0:
            raise FileRejected("empty_file", f"{relative}: row 0: the file is empty (0 bytes)")
        encoding = "utf-8"
        if fmt == "parquet":
            columns, warnings = _parquet_columns(con, relative, absolute, entity)
        elif fmt == "xlsx":
            columns, rejects = _workbook_entries(relative, absolute, entity)
        elif fmt == "csv":
            encoding, warnings = _encoding(relative, fmt, info)
            columns = _csv_header(absolute, relative, encoding)
        else:
            encoding, warnings = _encoding(relative, fmt, info)
            # The file is split into lines and each line judged once; the keys, the rejects
            # and the months below read this table (a third of the time of three splits).
            con.execute(f"CREATE OR REPLACE TEMP TABLE {_LINES} AS"
                        f" SELECT * FROM {_jsonl_lines(path_sql(absolute))}")
            columns = sorted(r[0] for r in con.execute(
                f"SELECT DISTINCT unnest(json_keys(CAST(line AS JSON))) FROM {_LINES}"
                " WHERE is_object"
            ).fetchall())
            rejects = _reader_rejects(con, file, info)
            if not columns and rejects:
                bad = rejects[0]
                raise FileRejected(bad["code"], bad["summary"] + " (no line of the file is a"
                                   " JSON object)", row=bad["row"], value=(bad["value"] or "")[:200])
            if not columns:
                raise FileRejected("empty_file", f"{relative}: row 0: the file has no rows")
        warnings += [w for w in _check_columns(relative, entity, columns)
                     if fmt != "xlsx" or w.code != "unknown_column"]
        record.update(columns=columns, encoding=encoding,
                      extra_columns=[c for c in columns if _normalise(c) not in CANONICAL[entity]])
        file = LandingFile(file_id, entity, relative, fmt, columns, encoding)
        ts = TIME_COLUMN[entity]
        if fmt == "csv":
            con.execute("DROP TABLE IF EXISTS csv_rejects")
            con.execute("DROP TABLE IF EXISTS csv_reject_scans")
            # One pass reads the file: every column is referenced (the reader checks encoding
            # only in the columns read; a count is cheaper than casting the row to text); its
            # count is the file's good rows, and the time column's months come with it. Row
            # numbers are the reader's until the rejects are known (below).
            every_column = ", ".join(f"count(t.{_position(i)})" for i in range(len(columns)))

            def read_stats(file: LandingFile) -> tuple:
                # fetchall: the reader writes csv_rejects once the result is consumed
                return con.execute(
                    f"SELECT count(*), {_time_stats(_column(file, ts, 't.'), 't._row', entity)},"
                    f" {every_column} FROM {scan_sql(absolute, file)} AS t"
                ).fetchall()[0][:5]

            # Rows appended by hand with other line endings: the strict reader stops on them, or
            # reads two rows as one. Such a file is read again with both endings accepted.
            mixed = 0 < info.crlf < info.newlines
            try:
                stats = read_stats(file)
                rejects = _reader_rejects(con, file, info)
                strict_read = not mixed or stats[0] + len(rejects) == _csv_records(absolute)[0]
            except duckdb.Error:
                if not mixed:
                    raise
                strict_read = False
            if not strict_read:
                crlf_first = info.crlf_first
                line = _line_ending_change(absolute, crlf_first)
                warnings.append(FileWarning(
                    "mixed_line_endings", f"{relative}: line {line}: lines end in CRLF and in LF"
                    f" (line {line} is the first to end in {'LF only' if crlf_first else 'CRLF'});"
                    " read with both endings"))
                file = LandingFile(file_id, entity, relative, fmt, columns, encoding,
                                   mixed_line_endings=True)
                con.execute("DROP TABLE IF EXISTS csv_rejects")
                con.execute("DROP TABLE IF EXISTS csv_reject_scans")
                stats = read_stats(file)
                rejects = _reader_rejects(con, file, info)
            good_rows = stats[0]
            rejects = _unseen_rows(relative, absolute, info, good_rows, rejects)
        swallowed = [r for r in rejects
                     if r["code"] == "unbalanced_quote" and "\n" in (r["value"] or "")]
        if swallowed:
            bad = swallowed[0]
            raise FileRejected("unbalanced_quote", bad["reason"] + " (it swallows the rest of"
                               " the file, so the file is not loaded)", row=bad["row"],
                               field=bad["field"], value=(bad["value"] or "")[:200])
        file = LandingFile(file_id, entity, relative, fmt, columns, encoding,
                           tuple(sorted(r["row"] for r in rejects)), file.mixed_line_endings)
        if fmt == "parquet":
            # Every column is read once: a damaged one rejects the file here, not in raw.
            good_rows = con.execute(f"SELECT count(*), max(length(CAST(t AS VARCHAR)))"
                                    f" FROM {scan_sql(absolute, file)} AS t").fetchall()[0][0]
            footer = _data_rows_estimate(con, absolute, fmt, info)
            if good_rows != footer:  # the footer's count is the file's own, not the reader's
                raise FileRejected("rows_lost", f"{relative}: row 0: the file holds {footer} rows"
                                   f" but the reader returned {good_rows}; the file is not loaded,"
                                   " so no row is lost unseen", row=0, rows=footer)
            stats = con.execute(
                f"SELECT count(*), {_time_stats(ts, '_source_row', entity)}"
                f" FROM ({canonical_select(file, absolute)})"
            ).fetchone()
        elif fmt == "xlsx":
            stats = con.execute(f"SELECT count(*), {_time_stats(ts, '_source_row', entity)}"
                                f" FROM ({canonical_select(file, absolute)})").fetchone()
            good_rows = stats[0]
        elif fmt == "jsonl":
            stats = con.execute(
                f"SELECT count(*), {_time_stats(_column(file, ts), 'n', entity)}"
                f" FROM (SELECT CAST(line AS JSON) AS _json, n FROM {_LINES} WHERE is_object)"
            ).fetchone()
            good_rows = stats[0]  # the object lines: what raw loads
        elif stats[4] is not None and file.rejected_rows:
            # The reader's row number of the first row without an offset, as delivered:
            # every row it set aside before that one shifts it back by one.
            shifts = [r - i for i, r in enumerate(file.rejected_rows, start=1)]
            stats = (*stats[:4], stats[4] + sum(1 for s in shifts if s < stats[4]))
        if good_rows and stats[1] is None:
            first = con.execute(
                f"SELECT _source_row, {ts}, try_cast({ts} AS TIMESTAMPTZ) IS NOT NULL"
                f" FROM ({canonical_select(file, absolute)}) ORDER BY _source_row LIMIT 1"
            ).fetchone()
            if first[2]:  # readable, but outside the months the pipeline covers
                raise FileRejected(
                    "timestamp_out_of_range",
                    f"{relative}: row {first[0]}, field {ts}: no row has a {ts} inside the"
                    f" pipeline's months (row {first[0]} has {first[1]!r}; see"
                    " MSP_PARTITIONS_START and data_quality.input_limits.future_margin_days),"
                    " so the file cannot be placed in time",
                    row=first[0], field=ts, value=first[1])
            raise FileRejected(
                "unparseable_timestamp",
                f"{relative}: row {first[0]}, field {ts}: no row has an ISO 8601 {ts}"
                f" (row {first[0]} has {first[1]!r}), so the file cannot be placed in time",
                row=first[0], field=ts, value=first[1])
        if stats[3]:
            warnings.append(FileWarning(
                "timestamp_without_offset", f"{relative}: row {stats[4]}, field {ts}: no UTC"
                f" offset in {stats[3]} row(s) (first: row {stats[4]}); read as UTC",
                stats[4], ts))
        if good_rows == 0 and not rejects:
            warnings.append(FileWarning("no_rows", f"{relative}: row 0 (header): header only,"
                                        " no data rows", 0))
        record.update(data_rows=good_rows + len(rejects), min_month=stats[1],
                      max_month=stats[2], rejected_rows=list(file.rejected_rows),
                      mixed_line_endings=file.mixed_line_endings)
    except FileRejected as exc:
        rejects = [{"row": exc.row, "field": exc.field, "value": exc.value, "code": exc.code,
                    "reason": str(exc)}]
        record.update(status="rejected", reason=str(exc), reason_code=exc.code,
                      data_rows=exc.rows if exc.rows is not None
                      else _data_rows_estimate(con, absolute, fmt, info))
    except duckdb.Error as exc:
        message = str(exc).splitlines()[0]
        rejects = [{"row": None, "field": None, "value": None, "code": "unreadable_file",
                    "reason": f"{relative}: unreadable {fmt}: {message}"}]
        record.update(status="rejected", reason=rejects[0]["reason"],
                      reason_code="unreadable_file",
                      data_rows=_data_rows_estimate(con, absolute, fmt, info))
    con.execute(f"DROP TABLE IF EXISTS {_LINES}")
    delivery.file, delivery.rejects, delivery.warnings = file, rejects, warnings
    return delivery


def _workbook_entries(relative: str, absolute: Path, entity: str) -> tuple[list[str], list[dict]]:
    """A finance workbook's columns and the entries it refuses (each names its cell)."""
    if entity != "review_decisions":
        raise FileRejected("unsupported_format", f"{relative}: row 0: an XLSX file is read only as"
                           " a finance export with decisions (out-of-scope-<YYYY-MM>.xlsx)", row=0,
                           rows=0)
    try:
        entries = decision_workbook.read_entries(absolute, relative)
    except ValueError as exc:
        raise FileRejected("unreadable_file", f"{exc}", row=0, rows=0) from exc
    return decision_workbook.COLUMNS, entries.rejects


def _record(con: duckdb.DuckDBPyConnection, delivery: _Delivery) -> None:
    """Insert the file's row in raw.landing_files, its refused rows and its warnings."""
    record = delivery.record
    record["warnings"] = [w.message for w in delivery.warnings] or None
    columns = [k for k in record if k != "file_id"]
    con.execute(
        f"INSERT INTO raw.landing_files (file_id, first_seen_at, {', '.join(columns)})"
        f" VALUES (?, now(), {', '.join('?' for _ in columns)})",
        [record["file_id"], *(record[c] for c in columns)],
    )
    if record["status"] != "duplicate":
        _quarantine_read_errors(con, delivery.file, delivery.rejects)
        _warn(con, delivery.file, delivery.warnings)


def register_files(
    duckdb_resource: DuckDBResource, landing: Path, found: list[tuple[Path, str]]
) -> list[tuple[str, str, str]]:
    """Record new delivered files in raw.landing_files; return (path, status, reason) of each.

    Files are hashed and read side by side (each read keeps one core busy) and recorded one
    after another in `found` order, so first_seen_at, and with it which delivery is the latest,
    is the order a one-at-a-time ingest would give. A file whose content is already registered
    (or arrives earlier in `found`) is a duplicate and is not read.
    """
    with duckdb_resource.get_connection() as con:
        registered = set(con.execute(
            "SELECT path, bytes, modified_ns FROM raw.landing_files").fetchall())
    pending = []
    for absolute, entity in found:
        stat = absolute.stat()
        # Same path, size and modification time as a registered file (as rsync judges): not
        # re-read, so a daily ingest costs a stat per file however much history the folder holds.
        if (absolute.relative_to(landing).as_posix(), stat.st_size, stat.st_mtime_ns) not in registered:
            pending.append((absolute, entity, stat.st_mtime_ns))
    with ThreadPoolExecutor(max_workers=month_workers(), thread_name_prefix="hash") as pool:
        deliveries = list(pool.map(lambda item: _new_delivery(landing, *item), pending))
    out, to_read, first_of = [], [], {}
    with duckdb_resource.get_connection() as con:
        # What is registered under the new files' hashes, oldest first, in one query.
        known = con.execute(
            "SELECT file_id, path, status, data_rows FROM raw.landing_files"
            " WHERE list_contains(CAST(? AS VARCHAR[]), file_id) ORDER BY first_seen_at",
            [[d.info.sha256 for d in deliveries]],
        ).fetchall()
        # A replaced record's content is no longer in raw: delivered again, it is read again.
        registered_at = {(file_id, path) for file_id, path, status, _ in known if status != "replaced"}
        first_registered: dict[str, tuple[str, int]] = {}
        for file_id, path, status, rows in known:
            if status not in ("duplicate", "replaced"):
                first_registered.setdefault(file_id, (path, rows))
        for d in deliveries:
            file_id = d.info.sha256
            if (file_id, d.relative) in registered_at:
                # Touched but not changed: remember the new time, the content is registered.
                con.execute("UPDATE raw.landing_files SET modified_ns = ? WHERE file_id = ? AND path = ?",
                            [d.modified_ns, file_id, d.relative])
                continue
            first = first_registered.get(file_id) or (
                (first_of[file_id].relative, None) if file_id in first_of else None)
            if first:
                d.record.update(status="duplicate", duplicate_of=first[0], data_rows=first[1],
                                reason_code="duplicate_file",
                                reason=f"{d.relative}: same content as {first[0]}, already loaded")
            else:
                first_of[file_id] = d
                to_read.append(d)
            out.append(d)
    side_by_side(duckdb_resource, to_read, _read_delivery)
    with duckdb_resource.get_connection() as con:
        for d in out:
            if d.record["status"] == "duplicate" and d.record["data_rows"] is None:
                d.record["data_rows"] = first_of[d.info.sha256].record["data_rows"]
            _replace_earlier(con, d)
            _record(con, d)
    return [(d.relative, d.record["status"], d.record["reason"] or "") for d in out]


def _replace_earlier(con: duckdb.DuckDBPyConnection, delivery: _Delivery) -> None:
    """A file edited in place is a new delivery of its path: the path's earlier records become
    `replaced` and their rows leave raw (all of them count as superseded), so the new content is
    never read under an old record and a path's rows in raw are one delivery's."""
    earlier = con.execute(
        "SELECT file_id FROM raw.landing_files WHERE path = ? AND file_id <> ? AND status <> 'replaced'",
        [delivery.relative, delivery.info.sha256]).fetchall()
    con.execute("DELETE FROM raw.landing_files WHERE path = ? AND file_id = ?",
                [delivery.relative, delivery.info.sha256])
    if not earlier:
        return
    con.execute(
        "UPDATE raw.landing_files SET status = 'replaced', reason_code = 'replaced', reason = ?"
        " WHERE path = ? AND file_id <> ? AND status <> 'replaced'",
        [f"{delivery.relative}: replaced in place by a later delivery of the same path"
         f" (sha256 {delivery.info.sha256[:12]}); its rows count as superseded",
         delivery.relative, delivery.info.sha256])
    con.execute(f"DELETE FROM raw.{delivery.entity} WHERE _source_file = ? AND _file_id <> ?",
                [delivery.relative, delivery.info.sha256])


def _walk(landing: Path) -> tuple[list[tuple[Path, str]], list[tuple[Path, str]]]:
    """Regular files and symbolic links in the landing folder that name a known entity, each in
    a stable order. Links (to files or folders) are listed, never followed."""
    files, links = [], []
    for folder, dirs, names in os.walk(landing):  # os.walk does not descend into linked folders
        base = Path(folder)
        for name in dirs:
            path = base / name
            if path.is_symlink() and (entity := _entity_of(path.relative_to(landing))):
                links.append((path, entity))
        for name in names:
            path = base / name
            if path.suffix.lower() not in FORMATS:
                continue
            entity = _entity_of(path.relative_to(landing))
            if not entity:
                continue
            if path.is_symlink():
                links.append((path, entity))
            elif path.is_file():
                files.append((path, entity))
    return sorted(files), sorted(links)


def discover(landing: Path) -> list[tuple[Path, str]]:
    """Every regular file in the landing folder that names a known entity, in a stable order."""
    return _walk(landing)[0]


def register_links(
    duckdb_resource: DuckDBResource, landing: Path, links: list[tuple[Path, str]]
) -> list[tuple[str, str, str]]:
    """Record symbolic links in the landing folder as rejected files, without reading them.

    A link can point anywhere (a secrets file, another client's export), so its target is never
    opened: the record holds its path and why it was refused, 0 rows. Returns (path, status,
    reason) of each link not recorded yet.
    """
    out = []
    with duckdb_resource.get_connection() as con:
        registered = set(con.execute(
            "SELECT path, bytes, modified_ns FROM raw.landing_files").fetchall())
        for path, entity in links:
            stat = path.lstat()
            relative = path.relative_to(landing).as_posix()
            if (relative, stat.st_size, stat.st_mtime_ns) in registered:
                continue
            kind = "folder" if path.is_dir() else "file"
            reason = (f"{relative}: a symbolic link (to a {kind}); links are not followed, so"
                      f" nothing {'under' if kind == 'folder' else 'in'} it is read")
            file_id = "symlink:" + hashlib.sha256(os.readlink(path).encode(errors="replace")).hexdigest()
            record = {"file_id": file_id, "entity": entity, "path": relative,
                      "format": FORMATS.get(path.suffix.lower(), "link"), "bytes": stat.st_size,
                      "status": "rejected", "reason": reason, "reason_code": "symlink",
                      "data_rows": 0, "modified_ns": stat.st_mtime_ns}
            con.execute("DELETE FROM raw.landing_files WHERE path = ? AND file_id = ?",
                        [relative, file_id])
            _record(con, _Delivery(path, relative, entity, stat.st_mtime_ns, _Bytes(), record,
                                   LandingFile(file_id, entity, relative, record["format"], []),
                                   [{"row": None, "field": None, "value": None, "code": "symlink",
                                     "reason": reason}], []))
            out.append((relative, "rejected", reason))
    return out


@dg.asset(group_name="raw", kinds={"duckdb"})
def landing_files(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource, settings: PipelineSettings
) -> dg.MaterializeResult:
    """Register every delivered landing file by content hash; a re-delivered file is a duplicate."""
    landing = settings.landing
    if not landing.is_dir():
        raise FileNotFoundError(f"landing folder {landing} does not exist (set MSP_LANDING)")
    new: dict[str, int] = {}
    started = time.perf_counter()
    with duckdb.get_connection() as con:
        ensure_warehouse(con)
    found, links = _walk(landing)
    context.log.info(f"landing: {len(found)} file(s) in {landing}")
    registered = register_links(duckdb, landing, links) + register_files(duckdb, landing, found)
    for i, (path, status, reason) in enumerate(registered, start=1):
        new[status] = new.get(status, 0) + 1
        context.log.info(f"landing: {path} {status} ({i} new file(s) so far)")
        if status == "rejected":
            context.log.error(reason)
        elif status == "duplicate":
            context.log.warning(reason)
    with duckdb.get_connection() as con:
        totals = con.execute(
            "SELECT status, count(*), sum(data_rows) FROM raw.landing_files GROUP BY status"
        ).fetchall()
        read_rejects, warnings = con.execute(
            "SELECT (SELECT count(*) FROM quality.quarantine WHERE stage = 'landing_files'),"
            " (SELECT count(*) FROM quality.warnings WHERE stage = 'landing_files')"
        ).fetchone()
    context.log.info(f"landing: {sum(new.values())} new file(s) {new} in"
                     f" {time.perf_counter() - started:.1f} s")
    return dg.MaterializeResult(
        metadata={
            "new_files": dg.MetadataValue.json(new),
            "files_by_status": dg.MetadataValue.json({s: n for s, n, _ in totals}),
            "accepted_rows": int(sum(r or 0 for s, _, r in totals if s == "accepted")),
            "quarantined_at_landing": read_rejects,
            "file_warnings": warnings,
            "landing_dir": str(landing),
        }
    )
