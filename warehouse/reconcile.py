"""File reconciliation: delivered = accepted + quarantined + superseded (+ pending), per file."""

from duckdb import DuckDBPyConnection

from warehouse.contract import CANONICAL, RECORD_KEY, TIME_COLUMN
from warehouse.sqlquote import sql_list, sql_literal

_LOADED = {
    "clients": """SELECT 'clients' AS entity, _source_file, _source_row,
           {key} AS record_key, 'staging_clients' AS stage, NULL::DATE AS month,
           false AS partitioned FROM {rows}""",
    "review_decisions": """SELECT 'review_decisions', _source_file, _source_row,
           {key}, 'staging_review_decisions', NULL, false FROM {rows}""",
    "tickets": """SELECT 'tickets', _source_file, _source_row, {key},
           'staging_tickets', _partition_month, true FROM {rows}""",
}
CHILD_ENTITIES = ("ticket_events", "time_entries")  # judged in their ticket's month
_CHILD = """SELECT '{entity}', c._source_file, c._source_row, c.record_key, 'staging_{entity}',
           CASE WHEN t.ticket_id IS NOT NULL THEN t.month
                WHEN d.ticket_id IS NOT NULL THEN NULL
                -- As staging's _ORPHAN_MONTH: outside the file's months, its first month.
                ELSE coalesce(
                    CASE WHEN date_trunc('month', timezone('UTC', try_cast(c.at AS TIMESTAMPTZ)))
                              BETWEEN f.min_month AND f.max_month
                         THEN date_trunc('month', timezone('UTC', try_cast(c.at AS TIMESTAMPTZ))) END,
                    f.min_month, date_trunc('month', f.first_seen_at))::DATE
           END, true
    FROM (SELECT _source_file, _source_row, trim(ticket_id) AS ticket_id,
                 {key} AS record_key, {at} AS at FROM {rows}) c
    LEFT JOIN ticket_month t ON t.ticket_id = c.ticket_id
    LEFT JOIN raw_ticket_ids d ON d.ticket_id = c.ticket_id
    LEFT JOIN accepted_paths f ON f.path = c._source_file"""
_CHILD_CTES = """{run_tickets}ticket_month AS (
    SELECT ticket_id, any_value(month) AS month, 'staged' AS state FROM staging.tickets
    {only_staged}GROUP BY ALL
    UNION ALL
    SELECT trim(record_key), any_value(partition_month), 'quarantined' FROM quality.quarantine
    WHERE stage = 'staging_tickets' AND nullif(trim(record_key), '') IS NOT NULL
      AND trim(record_key) NOT IN (SELECT ticket_id FROM staging.tickets{only_staged_ids}){only_quarantined}
    GROUP BY ALL
), raw_ticket_ids AS (
    SELECT DISTINCT trim(ticket_id) AS ticket_id FROM raw.tickets
    WHERE nullif(trim(ticket_id), '') IS NOT NULL{only_raw}
), accepted_paths AS (
    SELECT path, min(min_month) AS min_month, max(max_month) AS max_month,
           min(first_seen_at) AS first_seen_at
    FROM raw.landing_files WHERE status = 'accepted' GROUP BY path
), """
_COLUMNS = "(entity, _source_file, _source_row, record_key, stage, month, partitioned)"


def _loaded(entities: tuple[str, ...], *, key: bool = True, scoped: bool = False,
            files: dict[str, list[str]] | None = None) -> str:
    """Every raw row of `entities` with its record key and judging stage and month (UNION ALL);
    `scoped`: only the rows of the files in run_files (`files`, named); `key=False`: record_key
    is NULL."""

    def rows(entity: str) -> str:
        if not scoped:
            return f"raw.{entity}"
        return f"(SELECT * FROM raw.{entity} WHERE _source_file IN {_in_files(entity, files)})"

    def record_key(entity: str) -> str:
        return RECORD_KEY[entity] if key else "NULL::VARCHAR"

    parts = [
        _CHILD.format(entity=e, key=record_key(e), at=TIME_COLUMN[e], rows=rows(e))
        if e in CHILD_ENTITIES else _LOADED[e].format(key=record_key(e), rows=rows(e))
        for e in entities
    ]
    return "SELECT * FROM (\n    " + "\n    UNION ALL\n    ".join(parts) + f"\n) AS l{_COLUMNS}"


def file_reconciliation_sql(
    entities: tuple[str, ...] = tuple(CANONICAL), months: tuple[str, str] | None = None,
    *, files: dict[str, list[str]] | None = None,
) -> str:
    """One row per delivered file of `entities`: delivered = accepted + quarantined + superseded,
    once every month its rows fall in has been judged (see quality.file_reconciliation).

    Each raw row is classified independently (found in staging, found in quarantine, or its record
    key staged from another row), so a row lost or counted twice breaks the sum. Children of
    tickets are judged in their ticket's month (or, when no ticket with that id was delivered, in
    the month of their own timestamp).

    `months` (first, last) gives only the files holding a row judged in those months, as a
    partitioned check wants: each of them whole (all its rows, whatever their month), and a
    superseded row's key still looked up among every staged row, so each file's figures are the
    view's. The other files' rows are not classified (one pass over every raw row's ticket id and
    month finds the files), and the raw rows' keys are only computed when some row of these
    files is neither staged nor quarantined.

    `files` (children of tickets only): the files, by entity, as recorded_files gives them for
    `months`, instead of being found by that pass; named as literals, so DuckDB reads only their
    row groups, and only their tickets' months are looked up.
    """
    children = [e for e in CHILD_ENTITIES if e in entities]
    listed = ", ".join(f"'{e}'" for e in entities)
    scoped = months is not None

    def staged(only_run_files: bool) -> str:
        return "\n    UNION ALL ".join(
            f"SELECT '{e}' AS entity, _source_file, _source_row FROM staging.{e}"
            + (f" WHERE _source_file IN {_in_files(e, files)}" if only_run_files else "")
            for e in entities
        )

    named = scoped and files is not None
    ctes = "WITH " + (_CHILD_CTES.format(**_only_run_tickets(children, files if named else None))
                      if children else "")
    accepted_keys, in_run_files = _ACCEPTED_HERE, ""
    if scoped:
        first, last = (sql_literal(m) for m in months)
        if named:
            assert set(entities) <= set(CHILD_ENTITIES), entities
            ctes += "run_files AS (\n    " + "\n    UNION ALL\n    ".join(
                f"SELECT '{e}' AS entity, unnest({_list(files.get(e, []))}) AS _source_file"
                for e in entities) + "\n), "
        else:
            ctes += _RUN_FILES.format(loaded=_loaded(entities, key=False), first=first, last=last)
        # Each unplaced key is looked for among every raw row by its key alone: the months'
        # joins (every raw row with every ticket, twice) change no row there.
        accepted_keys = _ACCEPTED_ANYWHERE.format(everywhere=_keys(entities), staged=staged(False))
        in_run_files = "AND (f.entity, f.path) IN (SELECT (entity, _source_file) FROM run_files)"
    return (
        ctes + f"loaded AS ({_loaded(entities, scoped=scoped, files=files if named else None)}"
        + f"\n), staged AS (\n    {staged(scoped)}"
        + "\n), " + _RECONCILE_TAIL.format(entities=listed, accepted_keys=accepted_keys,
                                            files=in_run_files)
    )


def _list(paths: list[str]) -> str:
    """A typed SQL list of string literals (an empty one too)."""
    return "[" + ", ".join(sql_literal(p) for p in paths) + "]::VARCHAR[]"


def _in_files(entity: str, files: dict[str, list[str]] | None) -> str:
    """The right side of `_source_file IN ...`: `entity`'s files named, or run_files' rows."""
    if files is None:
        return f"(SELECT _source_file FROM run_files WHERE entity = '{entity}')"
    # An IN list of literals lets DuckDB skip the other files' row groups (raw is stored file by
    # file); a subquery does not. A list no file matches when there is none.
    return sql_list(files.get(entity) or [""])


def _only_run_tickets(children: list[str], files: dict[str, list[str]] | None) -> dict[str, str]:
    """_CHILD_CTES' filters: with `files`, only the tickets their rows name are looked up."""
    if files is None:
        return {"run_tickets": "", "only_staged": "", "only_raw": "", "only_staged_ids": "",
                "only_quarantined": ""}
    rows = "\n        UNION\n        ".join(
        f"SELECT DISTINCT trim(ticket_id) AS ticket_id FROM raw.{e}"
        f" WHERE _source_file IN {_in_files(e, files)}" for e in children)
    return {"run_tickets": f"run_tickets AS MATERIALIZED (\n        {rows}\n), ",
            "only_staged": "WHERE ticket_id IN (SELECT ticket_id FROM run_tickets)\n    ",
            # A quarantined ticket is looked up among the staged ones of these tickets only: the
            # NOT IN built a hash table of every staged ticket (1M at 1M tickets) to find none.
            "only_quarantined": "\n      AND trim(record_key) IN (SELECT ticket_id FROM run_tickets)",
            "only_staged_ids": " WHERE ticket_id IN (SELECT ticket_id FROM run_tickets)",
            # Whether a ticket was delivered decides a row's month only when its ticket is neither
            # staged nor quarantined (_CHILD's CASE), so only those tickets, usually none, are
            # looked for among the raw tickets: the pass over every raw ticket's trimmed id was a
            # third of a month's events reconciliation at 1M tickets.
            "only_raw": "\n      AND trim(ticket_id) IN (SELECT ticket_id FROM run_tickets"
                        " WHERE ticket_id NOT IN (SELECT ticket_id FROM ticket_month"
                        " WHERE ticket_id IS NOT NULL))"}


def recorded_files(
    con: DuckDBPyConnection, entities: tuple[str, ...], months: tuple[str, str]
) -> dict[str, list[str]] | None:
    """The files of `entities` (children of tickets) staging recorded judging in `months`
    (quality.judged_files), with the files first seen or loaded since; None when a judged month of
    them has no record (judged before the record existed) or tickets were staged after it (a
    ticket moved between months changes which month judges its rows: the record is a snapshot)."""
    stages = sql_list([f"staging_{e}" for e in entities])
    params = {"first": months[0], "last": months[-1]}
    # The record stands only when every judged month of these stages has its marker row and no
    # tickets were staged after the oldest of them.
    unrecorded = con.execute(
        f"""SELECT EXISTS (
                SELECT 1 FROM quality.stage_runs s WHERE s.stage IN {stages}
                  AND s.partition_month BETWEEN $first AND $last AND NOT EXISTS (
                      SELECT 1 FROM quality.judged_files j WHERE j.stage = s.stage
                        AND j.month = s.partition_month AND j.file_id IS NULL))
            OR EXISTS (
                SELECT 1 FROM quality.stage_runs t WHERE t.stage = 'staging_tickets'
                  AND t.finished_at > (SELECT min(recorded_at) FROM quality.judged_files j
                      WHERE j.stage IN {stages} AND j.month BETWEEN $first AND $last))""",
        params).fetchone()[0]
    if unrecorded:
        return None
    rows = con.execute(
        f"""SELECT substr(stage, 9), path FROM quality.judged_files
            WHERE stage IN {stages} AND path IS NOT NULL AND month BETWEEN $first AND $last
            UNION
            -- Files delivered or loaded since the months were recorded: their rows may be theirs.
            SELECT entity, path FROM raw.landing_files f
            WHERE status = 'accepted' AND ('staging_' || entity) IN {stages}
              AND greatest(first_seen_at, coalesce(loaded_at, first_seen_at)) > (
                SELECT min(recorded_at) FROM quality.judged_files j
                WHERE j.stage = 'staging_' || f.entity AND j.month BETWEEN $first AND $last)
            ORDER BY ALL""", params).fetchall()
    out: dict[str, list[str]] = {e: [] for e in entities}
    for entity, path in rows:
        out[entity].append(path)
    return out


def _keys(entities: tuple[str, ...]) -> str:
    """Every raw row of `entities` with its record key: the columns an accepted key is found by."""
    return "SELECT * FROM (\n    " + "\n    UNION ALL\n    ".join(
        f"SELECT '{e}', _source_file, _source_row, {RECORD_KEY[e]} FROM raw.{e}" for e in entities
    ) + "\n) AS k(entity, _source_file, _source_row, record_key)"


_RUN_FILES = """run_files AS (
    SELECT DISTINCT entity, _source_file FROM ({loaded})
    WHERE partitioned AND month BETWEEN CAST({first} AS DATE) AND CAST({last} AS DATE)
), """
_ACCEPTED_HERE = """-- Only the keys of rows neither staged nor quarantined are looked up: a semi-join against
    -- those few, not a distinct over every accepted key (8M event ids at 1M tickets).
    SELECT DISTINCT entity, record_key FROM classified SEMI JOIN unplaced_keys USING (entity, record_key)
    WHERE is_accepted"""
# A run's files: the accepting row may be in a file of another month. The raw rows with an
# unplaced key are found first (DuckDB skips the scan when there is none), then looked up in staging.
_ACCEPTED_ANYWHERE = """SELECT DISTINCT c.entity, c.record_key
    FROM ({staged}) s
    JOIN (SELECT * FROM ({everywhere}) SEMI JOIN unplaced_keys USING (entity, record_key)) c
      USING (entity, _source_file, _source_row)"""


_RECONCILE_TAIL = """quarantined AS (
    SELECT DISTINCT entity, source_file AS _source_file, source_row AS _source_row
    FROM quality.quarantine WHERE stage <> 'landing_files' AND source_row IS NOT NULL
), classified AS (
    -- EXISTS, not a join with the distinct staged rows: a mark join needs no distinct over them.
    SELECT l.*, EXISTS (SELECT 1 FROM staged s WHERE s.entity = l.entity
                          AND s._source_file = l._source_file AND s._source_row = l._source_row)
                AS is_accepted,
           q._source_row IS NOT NULL AS is_quarantined, r.stage IS NOT NULL AS judged
    FROM loaded l
    LEFT JOIN quarantined q USING (entity, _source_file, _source_row)
    LEFT JOIN (SELECT DISTINCT stage, coalesce(partition_month, DATE '0001-01-01') AS month
               FROM quality.stage_runs) r
      ON r.stage = l.stage AND r.month = CASE WHEN l.partitioned THEN l.month
                                              ELSE DATE '0001-01-01' END
), unplaced_keys AS (
    SELECT DISTINCT entity, record_key FROM classified WHERE NOT is_accepted AND NOT is_quarantined
), accepted_keys AS (
    {accepted_keys}
), per_file AS (
    SELECT c.entity, c._source_file AS path, count(*) AS loaded_rows,
           count(*) FILTER (WHERE c.is_accepted) AS accepted,
           count(*) FILTER (WHERE c.is_quarantined) AS quarantined,
           count(*) FILTER (WHERE NOT c.is_accepted AND NOT c.is_quarantined
                            AND k.record_key IS NOT NULL) AS superseded,
           count(*) FILTER (WHERE NOT c.is_accepted AND NOT c.is_quarantined
                            AND k.record_key IS NULL AND NOT c.judged) AS pending
    FROM classified c LEFT JOIN accepted_keys k USING (entity, record_key)
    GROUP BY ALL
), read_rejects AS (
    SELECT source_file AS path, count(DISTINCT source_row) AS n FROM quality.quarantine
    WHERE stage = 'landing_files' AND source_row IS NOT NULL GROUP BY ALL
), counted AS (
    SELECT f.file_id, f.path, f.entity, f.status, f.reason_code, f.first_seen_at,
           coalesce(f.data_rows, 0) AS delivered,
           CASE WHEN f.status = 'accepted' THEN coalesce(p.accepted, 0) ELSE 0 END AS accepted,
           CASE f.status WHEN 'accepted' THEN coalesce(p.quarantined, 0) + coalesce(r.n, 0)
                         WHEN 'rejected' THEN coalesce(f.data_rows, 0) ELSE 0 END AS quarantined,
           CASE f.status WHEN 'accepted' THEN coalesce(p.superseded, 0)
                         WHEN 'duplicate' THEN coalesce(f.data_rows, 0)
                         -- a file edited in place: its later delivery stands for all its rows
                         WHEN 'replaced' THEN coalesce(f.data_rows, 0) ELSE 0 END AS superseded,
           -- Rows not loaded into raw yet (a month not run) wait, like rows not judged yet.
           CASE WHEN f.status = 'accepted' THEN coalesce(p.pending, 0) + greatest(
                    coalesce(f.data_rows, 0) - coalesce(len(f.rejected_rows), 0)
                    - coalesce(p.loaded_rows, 0), 0) ELSE 0 END AS pending
    FROM raw.landing_files f
    LEFT JOIN per_file p ON p.path = f.path AND p.entity = f.entity AND f.status = 'accepted'
    LEFT JOIN read_rejects r ON r.path = f.path AND f.status = 'accepted'
    WHERE f.entity IN ({entities}) {files}
)
SELECT *, delivered - accepted - quarantined - superseded - pending AS unaccounted,
       pending = 0 AND delivered = accepted + quarantined + superseded AS reconciles
FROM counted"""

FILE_RECONCILIATION = (
    "CREATE OR REPLACE VIEW quality.file_reconciliation AS\n" + file_reconciliation_sql()
)
