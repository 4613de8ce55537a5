"""The vote's BLAS threads: one per product while months are computed side by side, OpenBLAS's own
for a month computed alone (logic/blas.py)."""

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest

from logic import blas

pytestmark = pytest.mark.skipif(blas._set_local() is None,
                                reason="numpy's OpenBLAS has no per-thread setting")


@contextmanager
def _another_thread_inside(block: Callable[[], AbstractContextManager]) -> Iterator[Callable[[], None]]:
    """Another thread inside `block()` until the yielded `release` is called (or the block ends)."""
    inside, leave = threading.Event(), threading.Event()

    def run() -> None:
        with block():
            inside.set()
            leave.wait(10)

    other = threading.Thread(target=run)
    other.start()
    assert inside.wait(10)

    def release() -> None:
        leave.set()
        other.join(10)

    try:
        yield release
    finally:
        release()


def test_a_thread_alone_keeps_openblas_threads_and_shares_them_while_another_computes() -> None:
    with blas.shared_cores():
        blas.fit_threads()
        assert blas._local.one is False
        with _another_thread_inside(blas.shared_cores) as release:
            blas.fit_threads()
            assert blas._local.one is True
            release()
            blas.fit_threads()
            assert blas._local.one is False
    assert blas._callers == 0
    assert not hasattr(blas._local, "own")


def test_a_vote_alone_takes_one_blas_thread_while_months_run_side_by_side() -> None:
    with blas.months_side_by_side(), blas.shared_cores():
        assert blas._local.one is True  # from the start: the products before the first fit
        blas.fit_threads()
        assert blas._local.one is True  # no other thread inside, still one
    with blas.shared_cores():
        blas.fit_threads()
        assert blas._local.one is False  # after the step: OpenBLAS's own threads again
    assert blas._side_by_side == 0 and blas._callers == 0


def test_side_by_side_counts_every_step_thread() -> None:
    with _another_thread_inside(blas.months_side_by_side) as release, blas.shared_cores():
        blas.fit_threads()
        assert blas._local.one is True
        release()
        blas.fit_threads()
        assert blas._local.one is False


def test_an_error_inside_the_blocks_gives_a_later_vote_openblas_threads_back() -> None:
    # The review (round 24) removed each try/finally and this file still passed: a step that fails
    # mid-month must not leave every later vote of the process on one thread.
    with pytest.raises(RuntimeError), blas.months_side_by_side(), blas.shared_cores():
        blas.fit_threads()
        raise RuntimeError("a month failed")
    assert blas._side_by_side == 0 and blas._callers == 0
    with blas.shared_cores():
        blas.fit_threads()
        assert blas._local.one is False
