"""The benchmark's clock from process start (scripts/bench_pipeline.py)."""

import subprocess
import sys

from scripts.bench_pipeline import _from_start


def test_process_age_counts_what_ran_before_the_clock() -> None:
    """A phase's start-up is measured from the process's start, imports and sleeps included."""
    out = subprocess.run(
        [sys.executable, "-c", "import time; time.sleep(0.6)\n"
         "from scripts.bench_pipeline import _process_age; print(_process_age())"],
        capture_output=True, text=True, check=True)
    age = float(out.stdout.strip())
    assert 0.6 <= age < 60


def test_from_start_reads_old_and_new_figures() -> None:
    """JSON written before the figure existed still reports; new figures give the share."""
    assert _from_start({"wall": 10.0}) == "n/a"
    full = {"wall": 50.0, "startup": 3.0, "startup_cpu": 2.5, "wall_from_start": 53.0}
    month = {"wall": 5.0, "startup": 3.0, "startup_cpu": 2.4, "wall_from_start": 8.0}
    assert _from_start(full) == "53.0 / 3.0 / 2.5"
    assert _from_start(month, full) == "8.0 / 15% / 3.0 / 2.4"
