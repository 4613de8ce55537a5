"""The Dagster instance's SQLite storage: a commit without an fsync of its own, on a connection
kept open.

Dagster writes every event of a run (about 570 in a 14-month range run at 100k tickets, 650 in a
one-month run with ingest) in a transaction on a new SQLite connection, made by a new SQLAlchemy
engine, closed right after; an asset event does this twice (the run's database and the index).
Two settings make that cheaper, in every process that loads the code location:

- `relax_instance_sync`: with SQLite's default `synchronous=FULL` each commit waits for the disk.
  Dagster keeps its storage in WAL mode, where `synchronous=NORMAL` is SQLite's own advice: no
  corruption on a crash or a power loss, only the last transactions before a power loss may be
  lost (here: the last events of the run history; the warehouse is DuckDB's and is not
  concerned). Databases in another journal mode are left alone.
- `reuse_event_log_connections`: closing the last connection to a WAL database checkpoints it
  (writes the log back and syncs the file), and a new engine sets its dialect up again: about
  8 ms of CPU and, on a busy disk, 50 ms of wall per event (docs/benchmark.md). The event log
  keeps one engine per database, whose pool keeps its connection open between events; the
  transactions, the lock and the table set-up are Dagster's own, as is every statement. The UI
  follows a running run through file-change notices on the run's database, so each write to a
  run's database touches the file's time (no data written, no sync).
"""

import os
import sqlite3
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine


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


# Engines kept per event log: the index and the latest runs' databases (a process running many
# runs, such as the tests, keeps a few open files, not one per run).
KEPT_ENGINES = 4


def reuse_event_log_connections() -> None:
    """From now on in this process, Dagster's SQLite event log keeps an open connection per
    database (the index and its latest runs') instead of a new engine per event."""
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
        INDEX_SHARD_NAME,
        SQLITE_BUSY_TIMEOUT_SECONDS,
        SqliteEventLogStorage,
    )

    if getattr(SqliteEventLogStorage._connect, "reuses_connections", False):
        return

    @contextmanager
    def _connect(self: SqliteEventLogStorage, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engines: OrderedDict[str, Engine] = self.__dict__.setdefault(
                "_kept_engines", OrderedDict())
            engine = engines.get(shard)
            if engine is not None and shard not in self._initialized_dbs:
                # `wipe` deleted the database files: a kept connection would write to the old one.
                engines.pop(shard).dispose()
                engine = None
            if engine is None:
                engine = create_engine(self.conn_string_for_shard(shard),
                                       connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
                if shard not in self._initialized_dbs:
                    self._initdb(engine)
                    self._initialized_dbs.add(shard)
                    # A new database turns to WAL in _initdb: its next connection is set for it.
                    engine.dispose()
                engines[shard] = engine
                while len(engines) > KEPT_ENGINES:
                    engines.popitem(last=False)[1].dispose()
            engines.move_to_end(shard)
            with engine.connect() as conn, conn.begin():
                yield conn
            if shard != INDEX_SHARD_NAME:
                # The UI follows a run by watching its database file for changes, which the
                # checkpoint on each close used to make; the committed rows are in the WAL.
                with suppress(FileNotFoundError):
                    os.utime(self.path_for_shard(shard))

    _connect.reuses_connections = True  # type: ignore[attr-defined]
    SqliteEventLogStorage._connect = _connect  # type: ignore[method-assign]
