"""Row counts and content digests of the marts, to show a performance change leaves results alone.

    .venv/bin/python -m scripts.marts_digest data/warehouse.duckdb > before.txt
    ... change, rerun the pipeline with the same MSP_AS_OF ...
    .venv/bin/python -m scripts.marts_digest data/warehouse.duckdb | diff before.txt -

The digest of a table is order-independent: the sum of a hash of every row, columns that record
when a row was written (`detected_at`, `_loaded_at`) left out.
"""

import argparse
from pathlib import Path

import duckdb

TABLES = (
    "staging.tickets", "staging.ticket_events", "staging.time_entries", "marts.ticket_facts",
    "marts.scope_hits", "marts.emergency_readings", "marts.out_of_scope", "marts.client_month",
    "marts.client_month_drivers", "marts.client_month_sla", "quality.quarantine",
)
VOLATILE = {"detected_at", "_loaded_at"}


def digests(warehouse: Path) -> list[tuple[str, int, str]]:
    """(table, rows, digest) for every table that exists in the warehouse."""
    out = []
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for table in TABLES:
            schema, name = table.split(".")
            columns = [r[0] for r in con.execute(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
                [schema, name]).fetchall() if r[0] not in VOLATILE]
            if not columns:
                continue
            row = "struct_pack(" + ", ".join(f'"{c}" := "{c}"' for c in columns) + ")"
            rows, digest = con.execute(
                f"SELECT count(*), coalesce(sum(hash({row})::HUGEINT), 0) FROM {table}").fetchone()
            out.append((table, rows, f"{digest % (1 << 64):016x}"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("warehouse", type=Path)
    args = parser.parse_args()
    for table, rows, digest in digests(args.warehouse):
        print(f"{table:32} {rows:>10,} {digest}")


if __name__ == "__main__":
    main()
