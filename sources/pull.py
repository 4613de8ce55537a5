"""Run a dlt pull into the warehouse and deliver each pulled batch as canonical landing files.

The vendor payloads land as delivered (one JSON column per record, every fetched version kept) in a
DuckDB schema `landing_api_<vendor>` of the warehouse file. Each completed dlt load is then mapped
by set-based SQL into canonical rows and written as JSON Lines files under
`<landing>/api/<vendor>/<batch>/`, so the existing landing -> raw -> staging path takes them like
any delivered file: fingerprinted, reconciled, quarantined with file and row, superseded by later
versions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dlt
import duckdb
from dlt.sources.helpers.requests import Client
from dlt.sources.helpers.rest_client.paginators import BaseNextUrlPaginator
from dlt.sources.rest_api import rest_api_source

from warehouse.sqlquote import sql_literal


class ApiPullError(RuntimeError):
    """A pull that failed; the message names the vendor and resource and never holds a secret."""


@dataclass(frozen=True)
class HttpPolicy:
    """How patient a pull is with a vendor API: attempts, backoff and timeouts."""

    max_attempts: int = 6
    backoff_factor: float = 1.0       # exponential backoff multiplier, in seconds
    max_retry_delay: float = 120.0    # also caps a Retry-After the vendor asks for
    timeout_seconds: float = 60.0
    page_size: int = 100


@dataclass
class Secrets:
    """Values that must never reach a log line, run metadata, a file or an exception."""

    values: list[str] = field(default_factory=list)

    def redact(self, text: str) -> str:
        # Longest first, so a token that contains the subdomain is masked whole.
        for value in sorted((v for v in self.values if v), key=len, reverse=True):
            text = text.replace(value, "***")
        return text


def http_session(policy: HttpPolicy) -> Any:
    """A requests session that retries 429 (honouring Retry-After), 5xx and timeouts with backoff."""
    return Client(
        request_timeout=policy.timeout_seconds,
        request_max_attempts=policy.max_attempts,
        request_backoff_factor=policy.backoff_factor,
        request_max_retry_delay=policy.max_retry_delay,
        respect_retry_after_header=True,
        raise_for_status=False,
    ).session



def vendor_source(name: str, client: dict[str, Any], policy: HttpPolicy, resources: list[Any]) -> Any:
    """The dlt rest_api source of vendor `name`: `client` (base_url, auth, headers) on a retrying
    session, every resource appended as fetched (one JSON record column, never flattened)."""
    return rest_api_source({
        "client": {**client, "session": http_session(policy)},
        "resource_defaults": {"write_disposition": "append", "max_table_nesting": 0,
                              "columns": RECORD_COLUMNS},
        "resources": resources,
    }, name=name)

class EndOfStreamPaginator(BaseNextUrlPaginator):
    """Follow a next-page URL held in the body until the body says the stream has ended.

    Zendesk's incremental exports always return a next URL (`after_url` or `next_page`), even
    on the last page; `end_of_stream: true` is what says there is nothing more for now.
    """

    def __init__(self, next_url_key: str, end_key: str = "end_of_stream") -> None:
        super().__init__()
        self.next_url_key = next_url_key
        self.end_key = end_key

    def update_state(self, response: Any, data: list[Any] | None = None) -> None:
        body = response.json()
        if not isinstance(body, dict):
            raise ValueError(f"expected a JSON object page, got {type(body).__name__}")
        if body.get(self.end_key) or not body.get(self.next_url_key):
            self._next_reference = None
        else:
            self._next_reference = body[self.next_url_key]


def wrap(key: str | Callable[[dict], Any], cursor: str | Callable[[dict], Any] | None = None):
    """A map step keeping each record whole as JSON, with its id and change time as columns."""

    def pick(item: dict, how: str | Callable[[dict], Any]) -> Any:
        return how(item) if callable(how) else item.get(how)

    def step(item: dict) -> dict:
        if not isinstance(item, dict) or pick(item, key) is None:
            raise ValueError(f"record without an id: {str(item)[:80]}")
        row = {"record_id": str(pick(item, key)), "payload": item}
        if cursor is not None:
            row["changed_at"] = pick(item, cursor)
        return row

    return step


# Every vendor table has the same three columns; the vendor's fields stay inside `payload`.
RECORD_COLUMNS = {
    "record_id": {"data_type": "text", "nullable": False},
    "changed_at": {"data_type": "text"},
    "payload": {"data_type": "json"},
}


@dataclass(frozen=True)
class Vendor:
    """One API source: how to build its dlt source and how its batches map to canonical rows."""

    name: str
    build_source: Callable[..., Any]
    # entity -> SQL over the vendor tables; `{ds}` is the dataset schema, `$load` the load id.
    canonical_sql: dict[str, str]


def dataset_name(vendor: str) -> str:
    return f"landing_api_{vendor}"


def run_pull(
    vendor: Vendor,
    source_kwargs: dict[str, Any],
    warehouse: Path,
    landing: Path,
    state_dir: Path,
    secrets: Secrets,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Pull what changed since the last successful cursor, then deliver new batches as files."""
    pipeline = dlt.pipeline(
        pipeline_name=f"msp_{vendor.name}",
        destination=dlt.destinations.duckdb(str(warehouse)),
        dataset_name=dataset_name(vendor.name),
        pipelines_dir=str(state_dir),
    )
    started = datetime.now(UTC)
    try:
        # Load packages left by a run that stopped after extraction are loaded first.
        pipeline.run(vendor.build_source(**source_kwargs))
    except Exception as exc:  # noqa: BLE001 - everything becomes one clean, redacted error
        raise ApiPullError(secrets.redact(describe_failure(vendor.name, exc))) from None
    finally:
        # dlt's run trace records the resolved endpoint configuration, i.e. the account's URL;
        # it stays in memory for this run's counts and is not kept on disk.
        (Path(pipeline.working_dir) / "trace.pickle").unlink(missing_ok=True)
    fetched = _rows_of_last_load(pipeline)
    log(f"{vendor.name}: fetched {sum(fetched.values())} records {fetched}")
    batches = deliver_batches(vendor, warehouse, landing, log)
    return {
        "fetched": fetched,
        "batches_delivered": [b["batch"] for b in batches],
        "rows_delivered": {
            entity: sum(b["rows"].get(entity, 0) for b in batches) for entity in vendor.canonical_sql
        },
        "seconds": round((datetime.now(UTC) - started).total_seconds(), 2),
    }


def describe_failure(vendor: str, exc: BaseException) -> str:
    """One line naming the vendor, the resource and the cause, from dlt's nested exceptions."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    resource = next((getattr(e, "pipe_name", None) for e in chain if getattr(e, "pipe_name", None)),
                    None)
    # Generator plumbing is not a cause; the innermost real error is.
    causes = [e for e in chain if not isinstance(e, (StopIteration, GeneratorExit))]
    statuses = [getattr(getattr(e, "response", None), "status_code", None) for e in causes]
    status = next((s for s in statuses if s is not None), None)
    malformed = next((e for e in causes if "JSONDecodeError" in type(e).__name__), None)
    if status in (401, 403):
        cause = f"HTTP {status}: the account refused the credentials (check the token and its scopes)"
    elif status is not None and (status == 429 or status >= 500):
        cause = f"HTTP {status} after the configured retries"
    elif status is not None:
        cause = f"HTTP {status} (not retried)"
    elif malformed is not None:
        cause = f"malformed page (not JSON): {str(malformed).splitlines()[0][:160]}"
    else:
        root = causes[-1] if causes else exc
        text = str(root).splitlines()[0][:200] if str(root) else ""
        cause = f"{type(root).__name__}: {text}"
    where = f" resource '{resource}'" if resource else ""
    return (f"{vendor} pull failed at{where}: {cause}. The cursor did not move; the next"
            " run resumes from the last successful cursor.")


def _rows_of_last_load(pipeline: Any) -> dict[str, int]:
    trace = pipeline.last_trace
    if trace is None or trace.last_normalize_info is None:
        return {}
    counts = trace.last_normalize_info.row_counts
    return {k: int(v) for k, v in sorted(counts.items()) if not k.startswith("_dlt")}


def _batch_name(load_id: str, inserted_at: datetime) -> str:
    # Sorts in delivery order, so later batches win in staging's "latest delivery" ordering.
    return f"{inserted_at.astimezone(UTC):%Y%m%dT%H%M%S}_{load_id}"


def deliver_batches(
    vendor: Vendor, warehouse: Path, landing: Path, log: Callable[[str], None] = print
) -> list[dict[str, Any]]:
    """Write every completed load not yet delivered as canonical files, oldest first.

    `<dataset>._msp_deliveries` records each delivered load (an empty pull delivers no files).
    Files are written before the record, and a batch's files have the same bytes when written
    again, so a run that stops in between is finished by the next one without a duplicate.
    """
    ds = dataset_name(vendor.name)
    delivered = []
    with duckdb.connect(str(warehouse)) as con:
        con.execute("SET TimeZone = 'UTC'")
        tables = {r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ?", [ds]
        ).fetchall()}
        if "_dlt_loads" not in tables:
            return []
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {ds}._msp_deliveries (load_id VARCHAR PRIMARY KEY,"
            " batch VARCHAR, rows JSON, delivered_at TIMESTAMPTZ)"
        )
        loads = con.execute(
            f"SELECT load_id, inserted_at FROM {ds}._dlt_loads WHERE status = 0"
            f" AND load_id NOT IN (SELECT load_id FROM {ds}._msp_deliveries) ORDER BY load_id"
        ).fetchall()
        for load_id, inserted_at in loads:
            batch = _batch_name(load_id, inserted_at)
            rows = _write_batch(con, vendor, tables, load_id, landing / "api" / vendor.name / batch)
            con.execute(
                f"INSERT INTO {ds}._msp_deliveries VALUES (?, ?, ?, now())",
                [load_id, batch if rows else None, json.dumps(rows)],
            )
            if rows:
                delivered.append({"batch": batch, "rows": rows})
                log(f"{vendor.name}: batch {batch} delivered {rows}")
    return delivered


def _write_batch(
    con: duckdb.DuckDBPyConnection, vendor: Vendor, tables: set[str], load_id: str, folder: Path
) -> dict[str, int]:
    """One canonical JSON Lines file per entity with rows in this load, then a manifest."""
    ds = dataset_name(vendor.name)
    rows: dict[str, int] = {}
    for entity, sql in vendor.canonical_sql.items():
        select = resolve_tables(sql, ds, tables)
        count = con.execute(f"SELECT count(*) FROM ({select})", {"load": load_id}).fetchone()[0]
        if not count:
            continue
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / f"{entity}.jsonl"
        part = folder / f"{entity}.jsonl.part"
        # Stable row order: the same batch written twice has the same bytes (and fingerprint).
        con.execute(
            f"COPY (SELECT * FROM ({select}) ORDER BY ALL) TO {sql_literal(str(part))}"
            " (FORMAT json)",
            {"load": load_id},
        )
        part.replace(final)
        rows[entity] = count
    if rows:
        manifest = {"load_id": load_id, "rows": rows}
        (folder / "_manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return rows


_EMPTY = ("(SELECT NULL::VARCHAR AS record_id, NULL::VARCHAR AS changed_at, NULL::JSON AS payload,"
          " NULL::VARCHAR AS _dlt_load_id, NULL::VARCHAR AS _dlt_id WHERE false)")


def resolve_tables(sql: str, ds: str, tables: set[str]) -> str:
    """Point `{ds}.<table>` at the vendor table, or at an empty relation if nothing landed yet."""
    return re.sub(
        r"\{ds\}\.(\w+)", lambda m: f"{ds}.{m[1]}" if m[1] in tables else _EMPTY, sql
    )
