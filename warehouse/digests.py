"""Reference data (contracts, calendars) re-staged only when what it is made from changed.

Every run, the monthly close included, used to re-stage the client contracts and rebuild every
client's business calendar, though a month's deliveries rarely change either. A step now hashes
its inputs (the delivered rows, the policy, the code that stages them) and what it wrote last
time; when both match what it stored after its last build, the tables are left as they are.
Hashing what it wrote too means a table changed behind the step's back (a restore, a hand edit)
is rebuilt, not trusted.
"""

import hashlib
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import duckdb

from warehouse.tables import REFERENCE_DIGESTS

DDL = REFERENCE_DIGESTS.ddl()[0]


def digest(*parts: object) -> str:
    """sha256 of the parts' text."""
    h = hashlib.sha256()
    for part in parts:
        h.update(repr(part).encode())
        h.update(b"\x00")
    return h.hexdigest()


def code_digest(*modules: ModuleType) -> str:
    """sha256 of the modules' source files: a change to the staging code re-stages."""
    return digest(*(Path(m.__file__).read_bytes() for m in modules if m.__file__))


def tables_digest(con: duckdb.DuckDBPyConnection, *queries: str) -> str:
    """sha256 of each query's row count and order-independent row hash (queries are SELECTs)."""
    return digest(*(con.execute(
        f"SELECT count(*), coalesce(sum(hash(t)::HUGEINT), 0) FROM ({q}) t").fetchall()
        for q in queries))


def unchanged(
    con: duckdb.DuckDBPyConnection, name: str, inputs: str, outputs: Callable[[], str],
) -> bool:
    """Whether `name` last staged these inputs and its tables still hold what it wrote then
    (`outputs()`, hashed only when the inputs match: the tables may not exist before)."""
    con.execute(DDL)
    stored = con.execute(
        "SELECT inputs, outputs FROM quality.reference_digests WHERE name = ?", [name]
    ).fetchall()
    if not stored or stored[0][0] != inputs:
        return False
    try:
        return stored[0][1] == outputs()
    except duckdb.CatalogException:
        return False  # a table it wrote is gone: build it again


def remember(con: duckdb.DuckDBPyConnection, name: str, inputs: str, outputs: str) -> None:
    """Store what `name` staged from (call after its transaction committed)."""
    con.execute(DDL)
    con.execute("INSERT OR REPLACE INTO quality.reference_digests VALUES (?, ?, ?, now())",
                [name, inputs, outputs])
