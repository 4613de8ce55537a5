"""What a delivered file gets wrong: column checks, rows the reader set aside, file warnings."""

import difflib
from pathlib import Path

import duckdb

from ingest.files import (
    READER_REASONS,
    TIMESTAMP_COLUMNS,
    ByteScan,
    FileRejected,
    FileWarning,
    LandingFile,
    normalise_header,
)
from ingest.reader import JSONL_LINES, position_sql
from ingest.scan import READER_LINE_LIMIT, csv_records
from warehouse.contract import CANONICAL, REQUIRED, TIME_COLUMN
from warehouse.sqlquote import reader_path


def _suggest(missing: str, candidates: list[str]) -> str | None:
    """The delivered column that most likely is `missing` under another name."""
    normalised = {normalise_header(c).replace("_", ""): c for c in candidates}
    match = difflib.get_close_matches(missing.replace("_", ""), list(normalised), n=1, cutoff=0.6)
    return normalised[match[0]] if match else None


def check_columns(relative: str, entity: str, columns: list[str]) -> list[FileWarning]:
    """Reject a file without a required column; return warnings about unknown columns."""
    norm = [normalise_header(c) for c in columns]
    doubled = sorted({c for c in norm if norm.count(c) > 1})
    if doubled:
        raise FileRejected("duplicate_column", f"{relative}: row 0 (header): column(s)"
                           f" {', '.join(doubled)} appear more than once", row=0, field=doubled[0])
    unknown = [c for c in columns if normalise_header(c) not in CANONICAL[entity]]
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


def parquet_columns(
    con: duckdb.DuckDBPyConnection, relative: str, absolute: Path, entity: str
) -> tuple[list[str], list[FileWarning]]:
    """Column names of a Parquet file; a timestamp column stored as another type is refused
    (the entity's own time column) or warned about (its values will not read as times)."""
    described = con.execute(
        "DESCRIBE SELECT * FROM read_parquet(?)", [reader_path(str(absolute))]
    ).fetchall()
    warnings = []
    for index, (name, column_type, *_) in enumerate(described):
        if normalise_header(name) not in TIMESTAMP_COLUMNS or column_type.startswith(
            ("VARCHAR", "TIMESTAMP", "DATE")
        ):
            continue
        problem = (f"column {name} is Parquet {column_type}; timestamps must be ISO 8601 text or a"
                   " Parquet timestamp")
        if normalise_header(name) == TIME_COLUMN[entity]:
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


def reader_rejects(con: duckdb.DuckDBPyConnection, file: LandingFile, info: ByteScan) -> list[dict]:
    """Data rows the reader could not parse, one per row, with reason, field and the text.

    A JSON Lines file's lines are in the temp table `JSONL_LINES` (see register_file).
    """
    if file.format == "jsonl":
        rows = con.execute(
            f"SELECT n, line, dup_key FROM {JSONL_LINES} WHERE NOT is_object ORDER BY n").fetchall()
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
    delivered_names = {position_sql(i): c for i, c in enumerate(file.columns)}
    for data_row, column, error_type, line, message in rows:
        column = delivered_names.get(column, column)
        code = READER_REASONS.get(error_type, "unreadable_row")
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


def unseen_rows(relative: str, absolute: Path, info: ByteScan, good_rows: int,
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
    delivered, long_rows = csv_records(absolute)
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
                        f" CSV reader can hold ({READER_LINE_LIMIT:,} bytes per row); not loaded"})
    return sorted(out, key=lambda r: r["row"])


def quarantine_read_errors(con: duckdb.DuckDBPyConnection, file: LandingFile,
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
        elif file.format == "csv" and column in (named := [normalise_header(c) for c in file.columns]):
            position = named.index(column) + 1
            value = f"nullif(string_split(raw_value, ',')[{position}], '')"
            condition = f"raw_value NOT LIKE '%\"%' AND len(string_split(raw_value, ',')) > {position}"
        else:
            continue
        con.execute(
            f"""UPDATE quality.quarantine SET {target} = {value}
               WHERE stage = 'landing_files' AND source_file = ? AND source_row > 0
                 AND {condition}""", [file.path])


def record_warnings(con: duckdb.DuckDBPyConnection, file: LandingFile, warnings: list[FileWarning]) -> None:
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
