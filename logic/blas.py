"""The BLAS library's threads for the calling thread only (OpenBLAS, as numpy ships it).

The vote's products are many small ones (a block of 128 texts by the columns its cones keep), and
a run computes months side by side on the machine's cores: OpenBLAS's own threads then only wait
for each other (a month's vote took 2.6 x the CPU seconds with them on a loaded machine, see
docs/benchmark.md, 2026-12-05). Per thread, so another month's thread keeps its own setting; no
product's result depends on the number of threads (each similarity is one dot product).
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np


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


@contextmanager
def one_thread() -> Iterator[None]:
    """Within the block, this thread's BLAS products run on this thread alone."""
    set_local = _set_local()
    if set_local is None:
        yield
        return
    before = set_local(1)
    try:
        yield
    finally:
        set_local(before)
