"""Notebooks are executed against a real warehouse so they never rot."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from policy.paths import PROJECT_ROOT

NOTEBOOKS = sorted((PROJECT_ROOT / "notebooks").glob("*.ipynb"))
# What each notebook prints once it has checked its figures against the marts.
EXPECTED = {
    "explain_client_month": "client ACME, month 2026-03-01",
    "portfolio_month": "portfolio, month 2026-03-01: 2 clients over 3 months",
}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_on_a_fresh_warehouse(path: Path, known_built, monkeypatch):
    # known_built: the known MSP run for January to March, built once and shared (notebooks read).
    monkeypatch.setenv("NOTEBOOK_CLIENT_ID", "ACME")
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    outputs = "".join(str(o) for cell in notebook.cells for o in cell.get("outputs", []))
    assert EXPECTED[path.stem] in outputs
    assert "Error" not in outputs


def test_every_notebook_is_checked():
    assert NOTEBOOKS and {p.stem for p in NOTEBOOKS} == set(EXPECTED)
