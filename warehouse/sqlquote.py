"""The one place text is quoted for SQL: string literals, identifiers and reader paths.

Text from a delivered file (a header, a JSON key, a file name) reaches DuckDB either as a bound
parameter or through these functions, never spliced in by hand.
"""

import re


def sql_literal(value: str) -> str:
    """`value` as a DuckDB string literal, whatever it holds (quotes, `;`, newlines, NUL).

    A quote is doubled (DuckDB strings have no backslash escapes). A NUL byte cannot stand in the
    query text (the parser would stop there), so it is spelt `chr(0)` and joined on.
    """
    parts = ["'" + part.replace("'", "''") + "'" for part in str(value).split("\x00")]
    return parts[0] if len(parts) == 1 else "(" + " || chr(0) || ".join(parts) + ")"


def sql_identifier(name: str) -> str:
    """`name` as a quoted DuckDB identifier; a NUL byte cannot be one and is refused."""
    if "\x00" in name:
        raise ValueError(f"a NUL byte cannot be part of an SQL identifier: {name!r}")
    return '"' + name.replace('"', '""') + '"'


# DuckDB's file readers expand `*`, `?` and `[...]` in a path (a list of files, not one file).
_GLOB = re.compile(r"([*?\[])")


def reader_path(path: str) -> str:
    """A file path for DuckDB's readers that names exactly that file: each glob character is
    put in a one-character class (`[*]`), so `tickets_*.csv` is read as itself."""
    return _GLOB.sub(r"[\1]", path)


def sql_list(values: list[str]) -> str:
    """A SQL list of string literals, e.g. for IN (…)."""
    return "(" + ", ".join(sql_literal(v) for v in values) + ")"


def month_in(column: str, months: list[str]) -> str:
    """A filter keeping `column` (a DATE, our own column name) to `months` (ISO dates).

    Spelt as literals with their bounds, not as `IN (SELECT unnest($months))`: DuckDB prunes row
    groups by their min/max on a BETWEEN of constants and pushes the list into the scan, where
    the subquery becomes a join over every row (at 1M tickets, 8M events a month's statement).
    """
    dates = sorted(months)
    listed = ", ".join(f"DATE {sql_literal(d)}" for d in dates)
    return (f"({column} BETWEEN DATE {sql_literal(dates[0])} AND DATE {sql_literal(dates[-1])}"
            f" AND {column} IN ({listed}))")
