"""The Dagster instance's SQLite storage: a commit without an fsync of its own.

Dagster writes every event of a run (about 650 in a one-month run) in a transaction on a new
SQLite connection, closed right after: with SQLite's default `synchronous=FULL` each commit and
each close (a WAL checkpoint) waits for the disk, 2.8 to 6.2 s of a one-month run's wall time on a
shared machine (docs/benchmark.md). Dagster keeps its storage in WAL mode, where
`synchronous=NORMAL` is SQLite's own advice: no corruption on a crash or a power loss, only the
last transactions before a power loss may be lost (here: the last events of the run history; the
warehouse is DuckDB's and is not concerned). Databases in another journal mode are left alone.
"""

import sqlite3
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine


def _normal_sync_in_wal(dbapi_connection: Any, _record: Any) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    (mode,) = dbapi_connection.execute("PRAGMA journal_mode").fetchone()
    if mode == "wal":
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")


def relax_instance_sync() -> None:
    """From now on in this process, SQLite databases in WAL mode commit with synchronous=NORMAL."""
    if not event.contains(Engine, "connect", _normal_sync_in_wal):
        event.listen(Engine, "connect", _normal_sync_in_wal)
