"""The code stays ruff-clean (CI runs this with the rest of the suite)."""

import subprocess
import sys

from policy.paths import PROJECT_ROOT


def test_ruff_clean():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", str(PROJECT_ROOT)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
