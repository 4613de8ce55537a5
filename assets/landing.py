"""Landing files: discover delivered files, fingerprint them, and read them as SQL relations."""


import hashlib
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from assets.resources import PipelineSettings
from assets.warehouse import CANONICAL, REQUIRED, TIME_COLUMN, ensure_warehouse, sql_literal

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}


@dataclass(frozen=True)
class LandingFile:
    """One delivered file as recorded in raw.landing_files."""

    file_id: str
    entity: str
    path: str  # relative to the landing folder
    format: str
    columns: list[str]


def _normalise(header: str) -> str:
    return header.strip().lstrip("\ufeff").strip().lower().replace(" ", "_")


def _entity_of(relative: Path) -> str | None:
    """Entity from the first folder (tickets/…) or the file name prefix (tickets_2025-01.csv)."""
    candidates = [relative.parts[0]] if len(relative.parts) > 1 else []
    candidates.append(relative.name.lower())
    for candidate in candidates:
        for entity in sorted(CANONICAL, key=len, reverse=True):
            if candidate == entity or candidate.startswith(entity):
                return entity
    return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def scan_sql(absolute: Path, fmt: str) -> str:
    """A FROM-clause item reading the file as text, with `_row` = 1-based data row number."""
    p = sql_literal(str(absolute))
    if fmt == "csv":
        return (
            f"(SELECT *, ordinality AS _row FROM read_csv({p}, all_varchar = true, header = true)"
            " WITH ORDINALITY)"
        )
    if fmt == "parquet":
        return f"(SELECT *, file_row_number + 1 AS _row FROM read_parquet({p}, file_row_number = true))"
    return f"(SELECT json AS _json, ordinality AS _row FROM read_ndjson_objects({p}) WITH ORDINALITY)"


def source_columns(con: duckdb.DuckDBPyConnection, absolute: Path, fmt: str) -> list[str]:
    """The file's own column names, in order."""
    if fmt == "jsonl":
        rows = con.execute(
            "SELECT DISTINCT unnest(json_keys(json)) FROM read_ndjson_objects(?)", [str(absolute)]
        ).fetchall()
        return sorted(r[0] for r in rows)
    relation = con.sql(f"SELECT * EXCLUDE (_row) FROM {scan_sql(absolute, fmt)}")
    return list(relation.columns)


def canonical_select(file: LandingFile, absolute: Path) -> str:
    """SELECT of the canonical columns (as text), lineage and unknown columns as `_extra` JSON."""
    by_norm = {_normalise(c): c for c in file.columns}
    known = set(CANONICAL[file.entity])
    extras = [c for c in file.columns if _normalise(c) not in known]

    def col(name: str) -> str:
        if name not in by_norm:
            return "NULL::VARCHAR"
        source = by_norm[name]
        if file.format == "jsonl":
            return f"(_json ->> {sql_literal(source)})"
        return f'CAST("{source}" AS VARCHAR)'

    if not extras:
        extra = "NULL::JSON"
    elif file.format == "jsonl":
        extra = "json_object(" + ", ".join(
            f"{sql_literal(c)}, _json -> {sql_literal(c)}" for c in extras
        ) + ")"
    else:
        extra = "json_object(" + ", ".join(f'{sql_literal(c)}, "{c}"' for c in extras) + ")"
    columns = ", ".join(f'{col(c)} AS "{c}"' for c in CANONICAL[file.entity])
    return (
        f"SELECT {columns}, {sql_literal(file.file_id)} AS _file_id,"
        f" {sql_literal(file.path)} AS _source_file, _row AS _source_row,"
        f" now() AS _loaded_at, {extra} AS _extra FROM {scan_sql(absolute, file.format)}"
    )


def accepted_files(
    con: duckdb.DuckDBPyConnection, entity: str, month: str | None = None
) -> list[LandingFile]:
    """Accepted files of an entity; with `month`, only files whose rows may fall in that month."""
    sql = (
        "SELECT file_id, entity, path, format, columns FROM raw.landing_files"
        " WHERE entity = ? AND status = 'accepted'"
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
    return [LandingFile(r[0], r[1], r[2], r[3], list(r[4] or [])) for r in rows]


def register_file(
    con: duckdb.DuckDBPyConnection, landing: Path, absolute: Path, entity: str
) -> tuple[str, str]:
    """Record one delivered file in raw.landing_files; return (status, reason)."""
    relative = absolute.relative_to(landing).as_posix()
    fmt = FORMATS[absolute.suffix.lower()]
    file_id = _sha256(absolute)
    if con.execute(
        "SELECT 1 FROM raw.landing_files WHERE file_id = ? AND path = ?", [file_id, relative]
    ).fetchone():
        return "known", ""
    first = con.execute(
        "SELECT path FROM raw.landing_files WHERE file_id = ? AND status <> 'duplicate'"
        " ORDER BY first_seen_at LIMIT 1",
        [file_id],
    ).fetchone()
    record = {
        "file_id": file_id, "entity": entity, "path": relative, "format": fmt,
        "bytes": absolute.stat().st_size, "status": "accepted", "duplicate_of": None,
        "reason": None, "columns": None, "extra_columns": None, "data_rows": None,
        "min_month": None, "max_month": None,
    }
    if first:
        record.update(status="duplicate", duplicate_of=first[0],
                      reason=f"same content as {first[0]}, already loaded")
    else:
        try:
            columns = source_columns(con, absolute, fmt)
            norm = {_normalise(c) for c in columns}
            missing = [c for c in REQUIRED[entity] if c not in norm]
            record["columns"] = columns
            record["extra_columns"] = [c for c in columns if _normalise(c) not in CANONICAL[entity]]
            if missing:
                record.update(status="rejected",
                              reason=f"{relative}: missing required column(s) {', '.join(missing)}")
            else:
                file = LandingFile(file_id, entity, relative, fmt, columns)
                ts = TIME_COLUMN[entity]
                stats = con.execute(
                    f"SELECT count(*), min(date_trunc('month', try_cast({ts} AS TIMESTAMPTZ))),"
                    f" max(date_trunc('month', try_cast({ts} AS TIMESTAMPTZ)))"
                    f" FROM ({canonical_select(file, absolute)})"
                ).fetchone()
                record.update(data_rows=stats[0], min_month=stats[1], max_month=stats[2])
        except duckdb.Error as exc:
            message = str(exc).splitlines()[0]
            record.update(status="rejected", reason=f"{relative}: unreadable {fmt}: {message}")
    columns = [k for k in record if k != "file_id"]
    con.execute(
        f"INSERT INTO raw.landing_files (file_id, first_seen_at, {', '.join(columns)})"
        f" VALUES (?, now(), {', '.join('?' for _ in columns)})",
        [file_id, *(record[c] for c in columns)],
    )
    return record["status"], record["reason"] or ""


def discover(landing: Path) -> list[tuple[Path, str]]:
    """Every file in the landing folder that names a known entity, in a stable order."""
    found = []
    for path in sorted(landing.rglob("*")):
        if not path.is_file() or path.suffix.lower() not in FORMATS:
            continue
        entity = _entity_of(path.relative_to(landing))
        if entity:
            found.append((path, entity))
    return found


@dg.asset(group_name="raw", kinds={"duckdb"})
def landing_files(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource, settings: PipelineSettings
) -> dg.MaterializeResult:
    """Register every delivered landing file by content hash; a re-delivered file is a duplicate."""
    landing = settings.landing
    if not landing.is_dir():
        raise FileNotFoundError(f"landing folder {landing} does not exist (set MSP_LANDING)")
    new: dict[str, int] = {}
    with duckdb.get_connection() as con:
        ensure_warehouse(con)
        for absolute, entity in discover(landing):
            status, reason = register_file(con, landing, absolute, entity)
            if status != "known":
                new[status] = new.get(status, 0) + 1
            if status == "rejected":
                context.log.error(reason)
            elif status == "duplicate":
                context.log.warning(f"{absolute.name}: {reason}")
        totals = con.execute(
            "SELECT status, count(*), sum(data_rows) FROM raw.landing_files GROUP BY status"
        ).fetchall()
    return dg.MaterializeResult(
        metadata={
            "new_files": dg.MetadataValue.json(new),
            "files_by_status": dg.MetadataValue.json({s: n for s, n, _ in totals}),
            "accepted_rows": int(sum(r or 0 for s, _, r in totals if s == "accepted")),
            "landing_dir": str(landing),
        }
    )
