"""A small demo MSP run once through the real Definitions and published, shared by the publish and
browser tests of a session (each module asks for it; the first one builds it)."""

import importlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from demo.generate import generate

SMALL = {"seed": 7, "clients": 6, "months": 3, "end_month": "2026-03"}
_BUILT: dict[str, dict] = {}
_VARS = ("MSP_WAREHOUSE", "MSP_LANDING", "MSP_PUBLISHED")


@contextmanager
def msp_paths(root: Path) -> Iterator[dict[str, Path]]:
    """Point the MSP_* variables at folders under `root` for the duration of the block."""
    env = {"warehouse": root / "warehouse.duckdb", "landing": root / "landing",
           "published": root / "published"}
    saved = {var: os.environ.get(var) for var in _VARS}
    os.environ.update({var: str(env[key]) for var, key in
                       zip(_VARS, ("warehouse", "landing", "published"), strict=True)})
    try:
        yield env
    finally:
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value


def set_msp_paths(mp: pytest.MonkeyPatch, root: Path) -> None:
    """Point the MSP_* variables at folders under `root` until `mp` is undone (a module's fixture)."""
    for var, sub in zip(_VARS, ("warehouse.duckdb", "landing", "published"), strict=True):
        mp.setenv(var, str(root / sub))


def run(months: list[str] | None = None, pdfs: bool = True, docs: bool = True) -> list[str]:
    """Ingest and the monthly job through the real Definitions, as `make demo` does; with
    `pdfs=False` the reports are published as HTML only (no Chromium), for tests that read no PDF,
    and with `docs=False` without the months' Data Docs, for tests that read none."""
    import pipelines.definitions
    from pipelines.run import run_all

    with pytest.MonkeyPatch.context() as mp:
        if not pdfs:
            mp.setenv("MSP_CHROMIUM", str(Path(os.environ["MSP_LANDING"]).parent / "no-chromium"))
        importlib.reload(pipelines.definitions)
        # Every month's PDFs: the publish tests read each month's (by default only the latest's).
        return run_all(months, instance=dg.DagsterInstance.ephemeral(), all_pdfs=True, docs=docs)


def published_demo(tmp_path_factory) -> dict:
    """Generate, run and publish the small demo once per session (shared by the xdist workers,
    see `shared_build`); return the paths of this process's copy, and the months."""
    from tests.conftest import shared_build

    if "demo" in _BUILT:
        return _BUILT["demo"]

    def build(root: Path) -> None:
        with msp_paths(root) as env:
            generate(env["landing"], root / "truth", **SMALL)
            # Another helper's Data Docs for the last month, as the data_docs asset leaves them.
            docs = env["published"] / ".data_docs" / SMALL["end_month"]
            docs.mkdir(parents=True)
            (docs / "index.html").write_text(
                "<!doctype html><title>Data Docs</title><h1>Data Docs</h1>")
            (root / "months.json").write_text(json.dumps(run()))

    root = shared_build(tmp_path_factory, "published-demo", SMALL, build)
    with msp_paths(root) as env:
        months = json.loads((root / "months.json").read_text())
        _BUILT["demo"] = dict(env, root=root, months=months)
    return _BUILT["demo"]


# Markup in ticket subjects (an outage ticket's, an alert's) and in a client's name.
HOSTILE_SUBJECT = "Email down <script>alert('x')</script>"
HOSTILE_ALERT = '<img src=x onerror=alert(1)> "quoted'
HOSTILE_CLIENT = 'Beta </script><script>alert("name")</script> & Co'


def hostile_known(tmp_path_factory) -> dict:
    """The known MSP with `HOSTILE_*` markup, run for January and published as HTML (no PDFs, no
    Data Docs) once per session: test_demo reads its pages' source, test_browser renders them."""
    from tests.builders import CLIENT_COLUMNS, client, known_msp, write_csv
    from tests.conftest import shared_build

    if "hostile" in _BUILT:
        return _BUILT["hostile"]

    def build(root: Path) -> None:
        with msp_paths(root) as env:
            landing = env["landing"]
            known_msp(landing)
            path = landing / "tickets" / "tickets_2026-01.csv"
            text = path.read_text().replace("Email down", HOSTILE_SUBJECT.replace('"', '""'))
            path.write_text(text.replace("[ALERT] Disk C: 95% on SRV-FS01",
                                         '"' + HOSTILE_ALERT.replace('"', '""') + '"'))
            write_csv(landing / "clients" / "clients.csv", CLIENT_COLUMNS, [
                client("ACME", 10, "2025-06-01"),
                client("BETA", 10, "2025-12-01", plan="essentials", name=HOSTILE_CLIENT),
            ])
            run(["2026-01-01"], pdfs=False, docs=False)

    root = shared_build(tmp_path_factory, "hostile-known", (HOSTILE_SUBJECT, HOSTILE_ALERT,
                                                           HOSTILE_CLIENT), build)
    with msp_paths(root) as env:
        _BUILT["hostile"] = dict(env, root=root)
    return _BUILT["hostile"]


def query(warehouse: Path, sql: str) -> pd.DataFrame:
    """A read-only query against a test warehouse."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).df()
