"""The vote's BLAS threads: one per product while months are computed side by side, OpenBLAS's own
for a month computed alone (logic/blas.py)."""

import threading

import pytest

from logic import blas

pytestmark = pytest.mark.skipif(blas._set_local() is None,
                                reason="numpy's OpenBLAS has no per-thread setting")


def test_a_thread_alone_keeps_openblas_threads_and_shares_them_while_another_computes() -> None:
    inside, leave = threading.Event(), threading.Event()

    def beside() -> None:
        with blas.shared_cores():
            inside.set()
            leave.wait(10)

    with blas.shared_cores():
        blas.fit_threads()
        assert blas._local.one is False
        other = threading.Thread(target=beside)
        other.start()
        assert inside.wait(10)
        blas.fit_threads()
        assert blas._local.one is True
        leave.set()
        other.join(10)
        blas.fit_threads()
        assert blas._local.one is False
    assert blas._callers == 0
    assert not hasattr(blas._local, "own")
