"""Timestamps in a delivered export: the day/month order and a time of day are named by the
mapping, never guessed (checked before anything is written)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from adapters import compile as sql
from adapters.mapping import FieldSpec, MappingError
from warehouse.sqlquote import sql_literal


def _shown(rows: list) -> str:
    """The first offending values, as the error shows them: row 3 '13/03/2025 14:00', ..."""
    return ", ".join(f"row {line} {value!r}" for line, value in rows)


# A date written with one- or two-digit day and month and no year first: 03/04/2026, 3.4.26.
_DAY_MONTH = r"^\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}"


def check_dates(con: duckdb.DuckDBPyConnection, fields: dict[str, tuple[FieldSpec, str]],
                files: dict[str, Path | None], mapping_path: Path) -> list[str]:
    """Refuse a day/month order the export contradicts, or leaves unnamed; never guess it.

    With a `format` that has %d and %m, a value that does not fit it but fits the swapped order
    means the export's order is not the mapping's (or is inconsistent within the export): refused,
    naming the values. Without a `format`, a value like 03/04/2026 is ambiguous: refused too.
    Returns notes on fields whose every value fits both orders (read as the mapping names them).
    """
    problems, notes = [], []
    seen: dict[tuple, str] = {}   # a column read by several keys the same way is judged once
    for key, (spec, table) in fields.items():
        if spec.type != "timestamp" or spec.column is None or files.get(table) is None:
            continue
        read = (table, sql.value_sql(spec), spec.format, spec.time_of_day)
        if read in seen:
            continue
        seen[read] = key
        v, source = sql.value_sql(spec), files[table].name
        if spec.format is None:
            rows = con.execute(
                f"SELECT _line, {v} FROM {table} WHERE regexp_matches({v}, {sql_literal(_DAY_MONTH)})"
                " ORDER BY _line LIMIT 3").fetchall()
            if rows:
                shown = _shown(rows)
                problems.append(
                    f"{mapping_path}: {key}: {spec.column!r} in {source} holds dates like {shown}"
                    " whose day/month order is ambiguous; name it with `format`, e.g."
                    " '%d/%m/%Y %H:%M' or '%m/%d/%Y %H:%M'")
            if spec.time_of_day is None:
                # Read as midnight, a date alone is outside business hours (decisions.md).
                count, rows = con.execute(
                    f"""SELECT count(*), list([CAST(_line AS VARCHAR), {v}] ORDER BY _line)[1:3]
                        FROM {table} WHERE regexp_matches({v}, {sql_literal(sql.ISO_DATE)})"""
                ).fetchone()
                if count:
                    shown = _shown(rows)
                    problems.append(
                        f"{mapping_path}: {key}: {count} value(s) of {spec.column!r} in {source} are"
                        f" dates without a time of day ({shown}); name the local time to assume with"
                        " `time_of_day` (e.g. time_of_day: \"12:00\"), as a date-only `format`"
                        " needs; the adapter does not read them as midnight")
            continue
        fmt = spec.format
        if "%d" not in fmt or "%m" not in fmt:
            continue
        swapped = "%m".join(part.replace("%m", "%d") for part in fmt.split("%d"))
        fits, other = (f"try_strptime({v}, {sql_literal(f)}) IS NOT NULL" for f in (fmt, swapped))
        count, both, rows = con.execute(
            f"""SELECT count(*) FILTER (WHERE NOT {fits} AND {other}),
                       count(*) FILTER (WHERE {fits} AND {other}) = count({v}) AND count({v}) > 0,
                       list([CAST(_line AS VARCHAR), {v}] ORDER BY _line)
                           FILTER (WHERE NOT {fits} AND {other})[1:3]
                FROM {table}"""
        ).fetchone()
        if count:
            shown = _shown(rows)
            problems.append(
                f"{mapping_path}: {key}.format: {count} value(s) of {spec.column!r} in {source} do"
                f" not fit {fmt!r} but fit {swapped!r} ({shown}): the export's day/month order is"
                " not the one the mapping names, or it changes within the export. Check the"
                " export and set `format`; the adapter does not guess.")
        elif both:
            notes.append(f"{key}: every value of {spec.column!r} fits both day/month orders;"
                         f" read as {fmt!r}, as the mapping names it")
    if problems:
        raise MappingError("\n".join(problems))
    return notes
