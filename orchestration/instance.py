"""The Dagster instance's SQLite storage: a commit without an fsync of its own, a close without a
checkpoint.

Dagster writes every event of a run (about 530 in the 100k benchmark's 14-month run, 200 of them
before its first step) in a transaction on a new SQLite connection, closed right after: with
SQLite's default `synchronous=FULL` each commit and each close (a WAL checkpoint) waits for the
disk, 2.8 to 6.2 s of a one-month run's wall time on a shared machine (docs/benchmark.md). Dagster
keeps its storage in WAL mode, where `synchronous=NORMAL` is SQLite's own advice: no corruption on
a crash or a power loss, only the last transactions before a power loss may be lost (here: the
last events of the run history; the warehouse is DuckDB's and is not concerned). Databases in
another journal mode are left alone.

The last connection to close a WAL database checkpoints it (copies the log into the file, syncs
it, deletes the log): with a connection per event, every event paid that sync, about 20 ms of
wall an event on the shared machine against 0.3 ms without it (docs/benchmark.md, "fixed cost,
round 10"). So the process keeps one idle connection open to each of the latest WAL databases it
connected to (`_KEEP`: the index, the run storage and the current runs' files): Dagster's closes
are then not the last, and the log is checkpointed by SQLite's automatic checkpoint (every 1,000
pages) and when the process lets a file go or exits. Durability is unchanged (a committed event is
in the log, which every reader reads). The UI follows a running run by watching its database file
for changes, which a write to the log alone would not make: each commit touches the file's time.
Dagster's code is not patched: both are SQLAlchemy's public connection and pool events.
"""

import atexit
import contextlib
import os
import sqlite3
import threading
from collections import OrderedDict
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import Pool

# The index, the run storage, the schedule storage and a run's own file, with room for a second
# run's: a file let go is checkpointed once, by the close of its keeper.
_KEEP = 6
_kept: "OrderedDict[str, sqlite3.Connection]" = OrderedDict()
_lock = threading.Lock()
_PATH = "msp_wal_path"  # the connection record's info key: the file a WAL connection writes
_COMMITTED = "msp_committed"  # ... and whether it committed since it was checked out


def _keep_open(path: str) -> None:
    """Hold one idle connection to `path` (the latest `_KEEP` files), so closes do not checkpoint."""
    with _lock:
        if path in _kept:
            _kept.move_to_end(path)
            return
        keeper = sqlite3.connect(path, check_same_thread=False)
        # A read maps the log's shared index: the keeper now counts as an open connection.
        keeper.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
        _kept[path] = keeper
        while len(_kept) > _KEEP:
            _kept.popitem(last=False)[1].close()


def release_kept_connections() -> None:
    """Close the kept connections (each checkpoints its file when it is the last one)."""
    with _lock:
        while _kept:
            _kept.popitem(last=False)[1].close()


def _normal_sync_in_wal(dbapi_connection: Any, record: Any) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    (mode,) = dbapi_connection.execute("PRAGMA journal_mode").fetchone()
    if mode != "wal":
        return
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")
    path = dbapi_connection.execute("PRAGMA database_list").fetchone()[2]
    if path:
        record.info[_PATH] = path
        _keep_open(path)


def _note_commit(conn: Connection) -> None:
    """Mark a WAL connection that commits (SQLAlchemy calls this just before the commit)."""
    info = conn.connection.info
    if _PATH in info:
        info[_COMMITTED] = True


def _touch_after_commit(_dbapi_connection: Any, record: Any) -> None:
    """Once a connection that committed is given back (after its commit), touch its file's time,
    as the checkpoint of its close used to (the UI follows a running run by that change)."""
    if record is not None and record.info.pop(_COMMITTED, False):
        # The file's time is a hint to watchers, never a reason to fail a write.
        with contextlib.suppress(OSError):
            os.utime(record.info[_PATH])


def relax_instance_sync() -> None:
    """From now on in this process, SQLite databases in WAL mode commit with synchronous=NORMAL
    and are not checkpointed by each connection's close."""
    if not event.contains(Engine, "connect", _normal_sync_in_wal):
        event.listen(Engine, "connect", _normal_sync_in_wal)
        atexit.register(release_kept_connections)
    if not event.contains(Engine, "commit", _note_commit):
        event.listen(Engine, "commit", _note_commit)
    if not event.contains(Pool, "checkin", _touch_after_commit):
        event.listen(Pool, "checkin", _touch_after_commit)
