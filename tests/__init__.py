"""The test suite. Imported before tests/conftest.py and anything it imports, so numpy too."""

import os

# One BLAS thread per process, set before numpy is imported: `make test` runs two xdist workers
# on two cores, and OpenBLAS's second thread in each spins on cores the other worker needs for the
# small products the tests make (a word-model fit costs about 3x the CPU with two threads; three
# classifier modules 69 -> 55 s of CPU). The processes the tests start inherit it.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")
