"""A landing file as a SQL relation in the canonical columns (DuckDB readers, never Python rows)."""

from pathlib import Path

import duckdb

from ingest import decision_workbook
from ingest.files import CSV_OPTIONS, FORMATS, OFFSET_PATTERN, ByteScan, LandingFile, normalise_header
from ingest.scan import csv_header, detect_encoding, scan_bytes
from policy.window import in_window_sql
from warehouse.contract import CANONICAL
from warehouse.sqlquote import reader_path, sql_identifier, sql_literal


def path_sql(absolute: Path) -> str:
    """The file's path as a literal for DuckDB's readers: that one file, never a glob."""
    return sql_literal(reader_path(str(absolute)))


def position_sql(index: int) -> str:
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
        columns = "{" + ", ".join(f"'{position_sql(i)}': 'VARCHAR'" for i in range(len(file.columns))) + "}"
        # The reader numbers the rows it returns; rows it set aside shift the later ones back.
        shifts = [r - i for i, r in enumerate(file.rejected_rows, start=1)]
        row = "ordinality"
        if shifts:
            row = f"ordinality + len(list_filter({shifts}, lambda s: s < ordinality))"
        return (
            f"(SELECT * EXCLUDE (ordinality), {row} AS _row FROM read_csv({p}, columns = {columns},"
            f" encoding = {sql_literal(file.encoding)}, {CSV_OPTIONS}{_mixed_endings(file)})"
            " WITH ORDINALITY)"
        )
    if file.format == "parquet":
        names = ", ".join(position_sql(i) for i in range(len(file.columns)))
        return (f"(SELECT *, file_row_number + 1 AS _row FROM read_parquet({p}, file_row_number = true)"
                f" AS t({names}))")
    return f"(SELECT CAST(line AS JSON) AS _json, n AS _row FROM {jsonl_lines_sql(p)} WHERE is_object)"


# A JSON Lines file's judged lines while it is registered (temp: this connection only).
JSONL_LINES = "landing_jsonl_lines"


def jsonl_lines_sql(p: str) -> str:
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


def column_sql(file: LandingFile, name: str, alias: str = "") -> str:
    """The text of canonical column `name` in a scan of the file (NULL when it has none)."""
    index = {normalise_header(c): i for i, c in enumerate(file.columns)}.get(name)
    if index is None:
        return "NULL::VARCHAR"
    if file.format == "jsonl":
        # A canonical key (a name that normalises to a canonical column) never starts with `$`
        # or `/`, so `->>` reads it as a key, not as a JSON path.
        return f"({alias}_json ->> {sql_literal(file.columns[index])})"
    return f"CAST({alias}{position_sql(index)} AS VARCHAR)"


# Entities placed in monthly partitions by their time column: a timestamp outside the pipeline's
# window (1900, 2200) must not stretch the file's months to partitions that do not exist.
_WINDOWED = ("tickets", "ticket_events", "time_entries")


def time_stats_sql(ts: str, row: str, entity: str) -> str:
    """Aggregates over a file's time column: first and last month (of the timestamps inside the
    pipeline's window, for partitioned entities), rows without a UTC offset and the first of them."""
    no_offset = (f"try_cast({ts} AS TIMESTAMPTZ) IS NOT NULL AND length(trim({ts})) > 10"
                 f" AND NOT regexp_matches(trim({ts}), '{OFFSET_PATTERN}')")
    month = f"date_trunc('month', try_cast({ts} AS TIMESTAMPTZ))"
    if entity in _WINDOWED:
        month = f"CASE WHEN {in_window_sql(f'try_cast({ts} AS TIMESTAMPTZ)')} THEN {month} END"
    return (f"min({month}), max({month}),"
            f" count(*) FILTER (WHERE {no_offset}), min({row}) FILTER (WHERE {no_offset})")


def canonical_select(file: LandingFile, absolute: Path) -> str:
    """SELECT of the canonical columns (as text), lineage and unknown columns as `_extra` JSON."""
    known = set(CANONICAL[file.entity])
    extras = [(i, c) for i, c in enumerate(file.columns) if normalise_header(c) not in known]
    if not extras:
        extra = "NULL::JSON"
    elif file.format == "jsonl":
        # The object's other keys, matched as keys (a key may look like a JSON path: `$.x`).
        keys = "[" + ", ".join(sql_literal(c) for _, c in extras) + "]"
        extra = ("CAST(map_from_entries(list_filter(map_entries(CAST(_json AS MAP(VARCHAR, JSON))),"
                 f" lambda e: list_contains({keys}, e.key))) AS JSON)")
    else:
        extra = "json_object(" + ", ".join(
            f"{sql_literal(c)}, {position_sql(i)}" for i, c in extras) + ")"
    columns = ", ".join(f"{column_sql(file, c)} AS {sql_identifier(c)}" for c in CANONICAL[file.entity])
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
    encoding, info = "utf-8", ByteScan()
    if fmt == "parquet":
        columns = [r[0] for r in con.execute(
            "DESCRIBE SELECT * FROM read_parquet(?)", [reader_path(str(absolute))]).fetchall()]
    elif fmt == "xlsx":
        columns = decision_workbook.COLUMNS
    else:
        info = scan_bytes(absolute)
        encoding, _ = detect_encoding(relative, fmt, info)
        if fmt == "csv":
            columns = csv_header(absolute, relative, encoding)
        else:
            columns = sorted(r[0] for r in con.execute(
                "SELECT DISTINCT unnest(json_keys(CAST(line AS JSON)))"
                f" FROM {jsonl_lines_sql(path_sql(absolute))} WHERE is_object"
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
