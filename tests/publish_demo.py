"""A small demo MSP run once through the real Definitions and published, shared by the publish and
browser tests of one pytest process (each module asks for it; the first one builds it)."""

import importlib
import os
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd

from demo.generate import generate

SMALL = {"seed": 7, "clients": 6, "months": 3, "end_month": "2026-03"}
_BUILT: dict[str, dict] = {}
_VARS = ("MSP_WAREHOUSE", "MSP_LANDING", "MSP_PUBLISHED")


def published_demo(tmp_path_factory) -> dict:
    """Generate, run and publish the small demo once; return its paths and months."""
    if "demo" in _BUILT:
        return _BUILT["demo"]
    root = tmp_path_factory.mktemp("published-demo")
    saved = {var: os.environ.get(var) for var in _VARS}
    os.environ.update({"MSP_WAREHOUSE": str(root / "warehouse.duckdb"),
                       "MSP_LANDING": str(root / "landing"),
                       "MSP_PUBLISHED": str(root / "published")})
    try:
        generate(root / "landing", root / "truth", **SMALL)
        # Another helper's Data Docs for the last month, as the data_docs asset leaves them.
        docs = root / "published" / ".data_docs" / SMALL["end_month"]
        docs.mkdir(parents=True)
        (docs / "index.html").write_text("<!doctype html><title>Data Docs</title><h1>Data Docs</h1>")
        import pipelines.definitions
        from pipelines.run import run_all

        importlib.reload(pipelines.definitions)
        months = run_all(instance=dg.DagsterInstance.ephemeral())
    finally:
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value
    _BUILT["demo"] = {"root": root, "published": root / "published", "months": months,
                      "warehouse": root / "warehouse.duckdb"}
    return _BUILT["demo"]


def query(warehouse: Path, sql: str) -> pd.DataFrame:
    """A read-only query against a test warehouse."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).df()
