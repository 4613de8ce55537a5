"""What every run process pays before its first step: loading the code location."""

import logging
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from policy.paths import PROJECT_ROOT

# Modules whose import a process that loads the code location must not pay (tests below).
_HEAVY = ("dlt", "great_expectations", "scipy", "openpyxl", "plotly")


@pytest.fixture(scope="module")
def loaded_modules() -> dict[str, bool]:
    """Which of `_HEAVY` a fresh interpreter has imported once it has loaded the Definitions (one
    interpreter for the tests below: each start-up costs seconds of CPU)."""
    code = f"import sys; import pipelines.definitions; print(*(m in sys.modules for m in {_HEAVY!r}))"
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", code], cwd=PROJECT_ROOT,
                         capture_output=True, text=True, check=True).stdout.split()
    return dict(zip(_HEAVY, (word == "True" for word in out[-len(_HEAVY):]), strict=True))


# One worker for both (`--dist loadgroup`), so the interpreter starts once in `make test` too.
@pytest.mark.xdist_group("tests/test_startup.py")
def test_loading_the_definitions_does_not_import_dlt(loaded_modules):
    """dlt is for API pulls (assets/api_sources.py imports sources/ when a pull runs): a run
    that does not pull must not pay its import (0.5 to 2 s of every run process)."""
    assert loaded_modules["dlt"] is False


@pytest.mark.xdist_group("tests/test_startup.py")
def test_loading_the_definitions_does_not_import_great_expectations_nor_the_reports(loaded_modules):
    """The suites are data (data_checks/expectations.py), GX validates only a failing partition
    and renders Data Docs (data_checks/gx_worker.py): loading the code location must not import it
    (about 4 s of CPU), nor openpyxl and plotly, which decision workbooks and reports use."""
    assert [loaded_modules[m] for m in ("great_expectations", "scipy", "openpyxl", "plotly")] == [
        False] * 4


def test_the_instance_commits_run_events_without_an_fsync_each(tmp_path):
    """Dagster's SQLite storage (WAL mode) commits with synchronous=NORMAL once the code location
    is loaded (orchestration/instance.py); a database in another journal mode keeps FULL."""
    import dagster as dg
    import sqlalchemy as sa

    import pipelines.definitions  # noqa: F401 (installs the setting)

    (tmp_path / "home").mkdir()
    instance = dg.DagsterInstance.local_temp(str(tmp_path / "home"))
    result = dg.materialize([dg.asset(lambda: 1, name="one")], instance=instance)
    storage = instance.event_log_storage
    with storage.run_connection(result.run_id) as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    plain = sa.create_engine(f"sqlite:///{tmp_path / 'plain.db'}")
    with plain.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "delete"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL, untouched


def test_loading_the_embedding_model_leaves_the_processs_logging_as_it_was():
    """wordllama configures the root logger at INFO when imported; the run's output must not fill
    with other libraries' INFO records (GX's Data Docs) because the semantic vote loaded it."""
    code = ("import logging\n"
            "from logic.embeddings import load_model\n"
            "load_model('l2_supercat', 256)\n"
            "root = logging.getLogger()\n"
            "print(root.level, len(root.handlers))\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True,
                            text=True, timeout=120, check=True)
    assert result.stdout.split() == [str(logging.WARNING), "0"], result.stdout + result.stderr


def test_run_events_are_not_checkpointed_by_each_close_and_a_watcher_still_follows_the_run(tmp_path):
    """The process keeps a connection to each WAL database it writes (orchestration/instance.py),
    so Dagster's close after each event does not checkpoint and sync the file: the run's log stays
    beside its file while the process runs. Each commit touches the file's time, so Dagster's
    watcher of a running run (the UI's live log) still sees every new event."""
    import threading

    import dagster as dg

    import pipelines.definitions  # noqa: F401 (installs the setting)

    (tmp_path / "home").mkdir()
    instance = dg.DagsterInstance.local_temp(str(tmp_path / "home"))
    result = dg.materialize([dg.asset(lambda: 1, name="one")], instance=instance)
    storage = instance.event_log_storage
    run_file = storage.path_for_shard(result.run_id)
    assert os.path.exists(f"{run_file}-wal")  # each close used to checkpoint and delete it

    # Dagster wraps reads in a transaction too: a read commits nothing and touches nothing (a
    # watcher that read on each touch would wake itself); a write touches the file.
    os.utime(run_file, (0, 0))
    storage.get_records_for_run(result.run_id)
    assert os.stat(run_file).st_mtime == 0
    instance.report_engine_event("an earlier event", instance.get_run_by_id(result.run_id))
    assert os.stat(run_file).st_mtime > 0

    seen = threading.Event()

    def on_event(entry, _cursor):
        if entry.is_dagster_event and entry.dagster_event.message == "a later event":
            seen.set()

    storage.watch(result.run_id, None, on_event)
    try:
        time.sleep(0.5)  # the watcher's observer starts in its own thread
        instance.report_engine_event("a later event", instance.get_run_by_id(result.run_id))
        assert seen.wait(10), "the watcher did not see an event written after the run"
    finally:
        storage.end_watch(result.run_id, on_event)


def test_a_database_made_again_at_the_same_path_gets_its_own_kept_connection(tmp_path):
    """A keeper is bound to a file, not a path: a database deleted and made again where it was (a
    test's instance, a swapped DAGSTER_HOME) is kept open too, so its closes do not checkpoint."""
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    from orchestration.instance import relax_instance_sync

    relax_instance_sync()
    path = tmp_path / "events.db"
    for rows in (1, 3):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        engine = sa.create_engine(f"sqlite:///{path}", poolclass=NullPool)
        with engine.begin() as conn:
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        with engine.begin() as conn:  # a new connection: the setting and the keeper apply to it
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
            conn.exec_driver_sql("INSERT INTO t VALUES (1)" + ", (1)" * (rows - 1))
        engine.dispose()
        # The closed connection was not the last: the log is still beside the new file.
        assert Path(f"{path}-wal").exists(), rows
        with sqlite3.connect(path) as check:
            assert check.execute("SELECT count(*) FROM t").fetchone()[0] == rows
