"""The GX worker processes of this process: where GX validates the partitions that fail the screen, so
the run's own process need not import it (see `data_checks.validation` for when each is used)."""

import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from data_checks import remote
from warehouse.concurrency import month_workers

# The module that imports GX; this process names it to its workers and imports it only when it
# validates or renders itself.
GX_WORKER = "data_checks.gx_worker"

_pool: ProcessPoolExecutor | None = None
_gx_process: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def _spawned(workers: int) -> ProcessPoolExecutor:
    """Worker processes that import GX as they start. Spawned, not forked: the run's process
    has DuckDB and Dagster threads that a fork would copy mid-flight."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=remote.call, initargs=(GX_WORKER, "warm"))


def gx_pool() -> ProcessPoolExecutor | None:
    """This process's GX worker processes (`month_workers()` of them), or None on one core.

    Started on first use and kept for the process's life: a run's check steps share it, and a
    worker's start (importing GX, about 3 s) is paid once.
    """
    global _pool
    workers = month_workers()
    if workers <= 1:
        return None
    with _pool_lock:
        if _pool is None:
            _pool = _spawned(workers)
        return _pool


def start_gx_process() -> None:
    """Start the run's GX process (once), so GX is imported beside the run's steps, not in them.

    Called by the first check step of a run over several months, else on the run's first small
    partition that fails the DuckDB screen: the worker imports GX (about 4 s of CPU) on the other
    core while the run goes on, then validates the run's small failing partitions, and the run's
    own process never imports GX. A one-month run whose partitions all pass never starts it. Not
    on one core (no other core to import on): there GX is imported where it is needed.
    """
    global _gx_process
    if month_workers() <= 1:
        return
    with _pool_lock:
        if _gx_process is None:
            _gx_process = _spawned(1)
            _gx_process.submit(remote.load, GX_WORKER)  # a pool starts its worker on a first task


def gx_process() -> ProcessPoolExecutor | None:
    """The run's GX process if `start_gx_process` started it, else None (GX work is done here)."""
    return _gx_process


def stop_gx_pool() -> None:
    """Stop the GX workers, if started (the benchmark then counts their CPU as its children's)."""
    global _pool, _gx_process
    with _pool_lock:
        for pool in (_pool, _gx_process):
            if pool is not None:
                pool.shutdown()
        _pool = _gx_process = None


def submit(pool: ProcessPoolExecutor | None, fn: Callable[..., Any], *args: Any) -> Future:
    """`fn(*args)` in the pool, or here and now without one (the result then waits in a Future)."""
    if pool is not None:
        return pool.submit(fn, *args)
    done: Future = Future()
    try:
        done.set_result(fn(*args))
    except Exception as exc:
        done.set_exception(exc)
    return done


def result_of(future: Future) -> Any:
    """The future's result; a pool whose worker died is dropped so the next step starts a new one."""
    try:
        return future.result()
    except BrokenProcessPool:
        stop_gx_pool()
        raise
