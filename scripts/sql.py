"""Run SQL with the project's own DuckDB and print the result as a table.

    .venv/bin/python -m scripts.sql "FROM 'export.csv' LIMIT 5"
    .venv/bin/python -m scripts.sql data/warehouse.duckdb "FROM marts.client_month LIMIT 5"

The docs use this instead of the `duckdb` shell: the shell on PyPI (duckdb-cli) has no release for
the DuckDB 2.x the warehouse is written with, and the venv already has DuckDB. A warehouse is
opened read-only, so this works beside the UI but not while a pipeline run writes to the file.
"""

import argparse
import sys

import duckdb


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("database", nargs="?", help="a DuckDB file (default: an in-memory database)")
    parser.add_argument("sql", help="the statement, e.g. \"FROM 'export.csv' LIMIT 5\"")
    parser.add_argument("--rows", type=int, default=40, help="rows to show at most (default 40)")
    args = parser.parse_args(argv)
    try:
        with duckdb.connect(args.database or ":memory:", read_only=bool(args.database)) as con:
            result = con.sql(args.sql)
            if result is not None:  # a statement without a result (SET, COPY) prints nothing
                result.show(max_rows=args.rows)
    except duckdb.Error as exc:
        sys.exit(f"{args.database or 'sql'}: {exc}")


if __name__ == "__main__":
    main()
