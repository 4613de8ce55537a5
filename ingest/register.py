"""Registering deliveries in raw.landing_files: hash, read, record; duplicates, replacements, links."""

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb
from dagster_duckdb import DuckDBResource

from ingest import decision_workbook
from ingest.files import FORMATS, ByteScan, FileRejected, FileWarning, LandingFile, normalise_header
from ingest.reader import (
    JSONL_LINES,
    canonical_select,
    column_sql,
    jsonl_lines_sql,
    path_sql,
    position_sql,
    scan_sql,
    time_stats_sql,
)
from ingest.rejects import (
    check_columns,
    parquet_columns,
    quarantine_read_errors,
    reader_rejects,
    record_warnings,
    unseen_rows,
)
from ingest.scan import (
    csv_header,
    csv_records,
    data_rows_estimate,
    detect_encoding,
    line_ending_change,
    scan_bytes,
)
from warehouse.concurrency import month_workers, side_by_side
from warehouse.contract import CANONICAL, TIME_COLUMN


@dataclass
class _Delivery:
    """A file in the landing folder not registered yet, and what registering it found."""

    absolute: Path
    relative: str
    entity: str
    modified_ns: int
    info: ByteScan
    record: dict
    file: LandingFile
    rejects: list[dict]
    warnings: list[FileWarning]


def _new_delivery(landing: Path, absolute: Path, entity: str, modified_ns: int) -> _Delivery:
    """Hash and check the bytes of a file that is not registered under its path, size and time."""
    relative = absolute.relative_to(landing).as_posix()
    fmt = FORMATS[absolute.suffix.lower()]
    info = scan_bytes(absolute)
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
            columns, warnings = parquet_columns(con, relative, absolute, entity)
        elif fmt == "xlsx":
            columns, rejects = _workbook_entries(relative, absolute, entity)
        elif fmt == "csv":
            encoding, warnings = detect_encoding(relative, fmt, info)
            columns = csv_header(absolute, relative, encoding)
        else:
            encoding, warnings = detect_encoding(relative, fmt, info)
            # The file is split into lines and each line judged once; the keys, the rejects
            # and the months below read this table (a third of the time of three splits).
            con.execute(f"CREATE OR REPLACE TEMP TABLE {JSONL_LINES} AS"
                        f" SELECT * FROM {jsonl_lines_sql(path_sql(absolute))}")
            columns = sorted(r[0] for r in con.execute(
                f"SELECT DISTINCT unnest(json_keys(CAST(line AS JSON))) FROM {JSONL_LINES}"
                " WHERE is_object"
            ).fetchall())
            rejects = reader_rejects(con, file, info)
            if not columns and rejects:
                bad = rejects[0]
                raise FileRejected(bad["code"], bad["summary"] + " (no line of the file is a"
                                   " JSON object)", row=bad["row"], value=(bad["value"] or "")[:200])
            if not columns:
                raise FileRejected("empty_file", f"{relative}: row 0: the file has no rows")
        # A workbook's own columns (sheet, cell, ...) are where an entry was written, not news.
        warnings += [w for w in check_columns(relative, entity, columns)
                     if fmt != "xlsx" or w.code != "unknown_column"]
        record.update(columns=columns, encoding=encoding,
                      extra_columns=[c for c in columns if normalise_header(c) not in CANONICAL[entity]])
        file = LandingFile(file_id, entity, relative, fmt, columns, encoding)
        ts = TIME_COLUMN[entity]
        if fmt == "csv":
            con.execute("DROP TABLE IF EXISTS csv_rejects")
            con.execute("DROP TABLE IF EXISTS csv_reject_scans")
            # One pass reads the file: every column is referenced (the reader checks encoding
            # only in the columns read; a count is cheaper than casting the row to text); its
            # count is the file's good rows, and the time column's months come with it. Row
            # numbers are the reader's until the rejects are known (below).
            every_column = ", ".join(f"count(t.{position_sql(i)})" for i in range(len(columns)))

            def read_stats(file: LandingFile) -> tuple:
                # fetchall: the reader writes csv_rejects once the result is consumed
                return con.execute(
                    f"SELECT count(*), {time_stats_sql(column_sql(file, ts, 't.'), 't._row', entity)},"
                    f" {every_column} FROM {scan_sql(absolute, file)} AS t"
                ).fetchall()[0][:5]

            # Rows appended by hand with other line endings: the strict reader stops on them, or
            # reads two rows as one. Such a file is read again with both endings accepted.
            mixed = 0 < info.crlf < info.newlines
            try:
                stats = read_stats(file)
                rejects = reader_rejects(con, file, info)
                strict_read = not mixed or stats[0] + len(rejects) == csv_records(absolute)[0]
            except duckdb.Error:
                if not mixed:
                    raise
                strict_read = False
            if not strict_read:
                crlf_first = info.crlf_first
                line = line_ending_change(absolute, crlf_first)
                warnings.append(FileWarning(
                    "mixed_line_endings", f"{relative}: line {line}: lines end in CRLF and in LF"
                    f" (line {line} is the first to end in {'LF only' if crlf_first else 'CRLF'});"
                    " read with both endings"))
                file = LandingFile(file_id, entity, relative, fmt, columns, encoding,
                                   mixed_line_endings=True)
                con.execute("DROP TABLE IF EXISTS csv_rejects")
                con.execute("DROP TABLE IF EXISTS csv_reject_scans")
                stats = read_stats(file)
                rejects = reader_rejects(con, file, info)
            good_rows = stats[0]
            rejects = unseen_rows(relative, absolute, info, good_rows, rejects)
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
            footer = data_rows_estimate(con, absolute, fmt, info)
            if good_rows != footer:  # the footer's count is the file's own, not the reader's
                raise FileRejected("rows_lost", f"{relative}: row 0: the file holds {footer} rows"
                                   f" but the reader returned {good_rows}; the file is not loaded,"
                                   " so no row is lost unseen", row=0, rows=footer)
            stats = con.execute(
                f"SELECT count(*), {time_stats_sql(ts, '_source_row', entity)}"
                f" FROM ({canonical_select(file, absolute)})"
            ).fetchone()
        elif fmt == "xlsx":
            stats = con.execute(f"SELECT count(*), {time_stats_sql(ts, '_source_row', entity)}"
                                f" FROM ({canonical_select(file, absolute)})").fetchone()
            good_rows = stats[0]
        elif fmt == "jsonl":
            stats = con.execute(
                f"SELECT count(*), {time_stats_sql(column_sql(file, ts), 'n', entity)}"
                f" FROM (SELECT CAST(line AS JSON) AS _json, n FROM {JSONL_LINES} WHERE is_object)"
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
                      else data_rows_estimate(con, absolute, fmt, info))
    except duckdb.Error as exc:
        message = str(exc).splitlines()[0]
        rejects = [{"row": None, "field": None, "value": None, "code": "unreadable_file",
                    "reason": f"{relative}: unreadable {fmt}: {message}"}]
        record.update(status="rejected", reason=rejects[0]["reason"],
                      reason_code="unreadable_file",
                      data_rows=data_rows_estimate(con, absolute, fmt, info))
    con.execute(f"DROP TABLE IF EXISTS {JSONL_LINES}")
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
        quarantine_read_errors(con, delivery.file, delivery.rejects)
        record_warnings(con, delivery.file, delivery.warnings)


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
            _record(con, _Delivery(path, relative, entity, stat.st_mtime_ns, ByteScan(), record,
                                   LandingFile(file_id, entity, relative, record["format"], []),
                                   [{"row": None, "field": None, "value": None, "code": "symlink",
                                     "reason": reason}], []))
            out.append((relative, "rejected", reason))
    return out
