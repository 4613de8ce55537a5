"""The layout's two rules (docs/architecture.md): imports flow one way, and no module grows past a size
one can read in a sitting."""

import subprocess
import sys
from pathlib import Path

from policy.paths import PROJECT_ROOT

MAX_LINES = 450

# Code the size rule covers: every package and script, not the tests.
SKIPPED = ("tests/", "notebooks/", ".venv/")


def _sizes() -> dict[str, int]:
    sizes = {}
    for path in sorted(PROJECT_ROOT.rglob("*.py")):
        relative = path.relative_to(PROJECT_ROOT).as_posix()
        if relative.startswith(SKIPPED) or "/." in f"/{relative}":
            continue
        with path.open(encoding="utf-8") as handle:
            sizes[relative] = sum(1 for _ in handle)
    return sizes


def test_imports_flow_one_way():
    """The layers contract in pyproject.toml ([tool.importlinter]) holds: no package imports one
    above it, and siblings on one layer do not import each other."""
    lint = Path(sys.executable).parent / "lint-imports"
    command = [str(lint)] if lint.exists() else [sys.executable, "-m", "importlinter.cli"]
    result = subprocess.run(
        [*command, "--config", str(PROJECT_ROOT / "pyproject.toml"), "--no-cache"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
        env={"PYTHONPATH": str(PROJECT_ROOT), "PATH": str(Path(sys.executable).parent)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout, result.stdout


def test_no_module_is_over_the_size_limit():
    too_long = {path: lines for path, lines in _sizes().items() if lines > MAX_LINES}
    assert not too_long, f"modules over {MAX_LINES} lines (split them by concern): {too_long}"


def test_assets_hold_asset_definitions_only():
    """Every module of assets/ defines an asset (library code lives in the packages below it)."""
    import importlib

    import dagster as dg

    empty = []
    for path in sorted((PROJECT_ROOT / "assets").glob("*.py")):
        if path.name == "__init__.py":
            continue
        module = importlib.import_module(f"assets.{path.stem}")
        if not any(isinstance(v, dg.AssetsDefinition) for v in vars(module).values()):
            empty.append(path.name)
    assert not empty, f"assets/ modules that define no asset: {empty}"
