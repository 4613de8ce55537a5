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
# Keyed by path, holding the file's identity: a database deleted and made again at the same path
# (a test's or a swapped DAGSTER_HOME) is a new file, whose keeper replaces the old one's.
_kept: "OrderedDict[str, tuple[tuple[int, int], sqlite3.Connection]]" = OrderedDict()
_lock = threading.Lock()
_PATH = "msp_wal_path"  # the connection record's info key: the file a WAL connection writes
_CHANGES = "msp_changes"  # ... its rows changed when it was checked out
_COMMITTED = "msp_committed"  # ... and whether it committed since


def _identity(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _keep_open(path: str) -> None:
    """Hold one idle connection to `path` (the latest `_KEEP` files), so closes do not checkpoint."""
    identity = _identity(path)
    if identity is None:
        return
    with _lock:
        held = _kept.get(path)
        if held is not None and held[0] == identity:
            _kept.move_to_end(path)
            return
    # The keeper exists for speed only: a file it cannot open is left as Dagster ships it, and its
    # connect (up to the busy timeout) does not hold the lock other threads' connects take.
    try:
        keeper = sqlite3.connect(path, check_same_thread=False)
        # A read maps the log's shared index: the keeper now counts as an open connection.
        keeper.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
    except sqlite3.Error:
        return
    with _lock:
        gone = [_kept.pop(path)[1]] if path in _kept else []
        _kept[path] = (identity, keeper)
        while len(_kept) > _KEEP:
            gone.append(_kept.popitem(last=False)[1][1])
    for old in gone:
        old.close()


def release_kept_connections() -> None:
    """Close the kept connections (each checkpoints its file when it is the last one)."""
    with _lock:
        gone = [keeper for _, keeper in _kept.values()]
        _kept.clear()
    for keeper in gone:
        keeper.close()


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


def _note_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """Note a WAL connection's changed rows when it is handed out (a read changes none)."""
    if _PATH in record.info:
        record.info[_CHANGES] = dbapi_connection.total_changes


def _note_commit(conn: Connection) -> None:
    """Mark a WAL connection that commits (SQLAlchemy calls this just before the commit)."""
    info = conn.connection.info
    if _PATH in info:
        info[_COMMITTED] = True


def _touch_after_commit(dbapi_connection: Any, record: Any) -> None:
    """Once a connection that committed a write is given back (after its commit), touch its
    file's time, as the checkpoint of its close used to (the UI follows a running run by that
    change). Dagster wraps reads in a transaction too: a commit that changed no row touches
    nothing, or a watcher reading on each change would wake itself."""
    if record is None or not record.info.pop(_COMMITTED, False):
        return
    changed = dbapi_connection is not None and (
        dbapi_connection.total_changes > record.info.get(_CHANGES, 0))
    if changed:
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
    if not event.contains(Pool, "checkout", _note_checkout):
        event.listen(Pool, "checkout", _note_checkout)
    if not event.contains(Pool, "checkin", _touch_after_commit):
        event.listen(Pool, "checkin", _touch_after_commit)
