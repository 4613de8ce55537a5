"""What every run process pays before its first step: loading the code location."""

import subprocess
import sys

from policy.paths import PROJECT_ROOT


def test_loading_the_definitions_does_not_import_dlt():
    """dlt is for API pulls (assets/api_sources.py imports sources/ when a pull runs): a run
    that does not pull must not pay its import (0.5 to 2 s of every run process)."""
    code = "import sys; import pipelines.definitions; print('dlt' in sys.modules)"
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", code], cwd=PROJECT_ROOT,
                         capture_output=True, text=True, check=True).stdout.split()
    assert out[-1] == "False"
