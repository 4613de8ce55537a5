"""The BLAS library's threads for the calling thread only (OpenBLAS, as numpy ships it).

The vote's products are many small ones (a block of 128 texts by the columns its cones keep). When
a run computes months side by side on the machine's cores, OpenBLAS's own threads only wait for
each other (a month's vote took 2.6 x the CPU seconds with them on a loaded machine, see
docs/benchmark.md, 2026-12-05): each product then runs on its calling thread. A month computed
alone (the monthly close) keeps OpenBLAS's threads: its vote is 0.6 -> 0.46 s of wall with them on
the built-in bank. Per thread, so another month's thread keeps its own setting; no product's
result depends on the number of threads (each similarity is one dot product).
"""

from __future__ import annotations

import ctypes
import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

_callers = 0  # threads inside `shared_cores`
_side_by_side = 0  # steps computing months side by side in this process (`months_side_by_side`)
_lock = threading.Lock()
_local = threading.local()  # this thread's setting: None = OpenBLAS's own threads


@functools.cache
def _set_local() -> ctypes._CFuncPtr | None:
    """openblas_set_num_threads_local of the OpenBLAS numpy loaded (0.3.27 and later), if any."""
    libs = Path(np.__file__).resolve().parent.parent / "numpy.libs"
    for path in sorted(libs.glob("libscipy_openblas*.so*")):
        function = getattr(ctypes.CDLL(str(path)), "openblas_set_num_threads_local", None)
        if function is not None:
            function.argtypes, function.restype = [ctypes.c_int], ctypes.c_int
            return function
    return None


def fit_threads() -> None:
    """Before a product: one BLAS thread if another thread is computing beside this one or a step
    runs its months side by side (`months_side_by_side`), else OpenBLAS's own (checked per
    product, so a month computed alone gets the cores back)."""
    set_local = _set_local()
    if set_local is None or not hasattr(_local, "own"):
        return
    one = _callers > 1 or _side_by_side > 0
    if one and not _local.one:
        set_local(1)
    elif not one and _local.one:
        set_local(_local.own)
    _local.one = one


@contextmanager
def shared_cores() -> Iterator[None]:
    """Within the block, `fit_threads` sees this thread among the ones computing products."""
    global _callers
    set_local = _set_local()
    if set_local is None:
        yield
        return
    with _lock:
        _callers += 1
    _local.own = set_local(1)  # the thread's setting before, to give back
    _local.one = _side_by_side > 0  # the products before the first fit_threads too
    if not _local.one:
        set_local(_local.own)
    try:
        yield
    finally:
        with _lock:
            _callers -= 1
        set_local(_local.own)
        del _local.own


@contextmanager
def months_side_by_side() -> Iterator[None]:
    """Within the block, every product in `shared_cores` takes one BLAS thread, also at an instant
    when no other thread is inside it: a step's months side by side each keep a core busy between
    their votes too (DuckDB's statements, the tokenizer), and OpenBLAS's threads, handed out to a
    vote alone for a moment, only waited for each other. 100k --unique-texts, emergency_readings'
    months: 29.0 -> 21.0 s of CPU with one thread (docs/benchmark.md, round 24)."""
    global _side_by_side
    with _lock:
        _side_by_side += 1
    try:
        yield
    finally:
        with _lock:
            _side_by_side -= 1
