"""The leadership dashboard: portfolio figures as one JSON payload that the page filters in the browser."""

import json
from pathlib import Path
from urllib.parse import quote

import duckdb
import pandas as pd
from markupsafe import Markup

from reports import portfolio, queries
from reports.figures import client_labels

# Copied once into each month folder, beside plotly.min.js.
SCRIPT = Path(__file__).parent / "static" / "dashboard.js"


def _records(df: pd.DataFrame) -> list[dict]:
    """JSON-ready rows: NaN becomes null, numpy scalars become Python numbers."""
    return json.loads(df.to_json(orient="records", double_precision=4))


def payload(con: duckdb.DuckDBPyConnection, month: str, currency: str,
            reports: dict[str, str]) -> dict:
    """Everything the dashboard shows, for the months up to `month`. Holds no requester identity."""
    months = portfolio.months(con, month)
    client_months = portfolio.client_months(con, months)
    clients = (client_months.sort_values("m").groupby("c", as_index=False).last()
               .sort_values(["name", "c"]))
    clients["label"] = client_labels(clients["c"], clients["name"])
    reconciliation = queries.file_reconciliation(con)
    return {
        "month": month[:7],
        "months": [m[:7] for m in months],
        "currency": currency,
        # Keyed by id: two clients with one name stay two (the label tells them apart).
        "clients": [{"id": r.c, "name": r.name, "label": r.label,
                     "report": quote(reports[r.c], safe="/") if r.c in reports else None}
                    for r in clients.itertuples()],
        "client_months": _records(client_months.drop(columns=["name"])),
        "sla": _records(portfolio.sla(con, months)),
        "out_of_scope": _records(portfolio.out_of_scope(con, months)),
        "quarantine": _records(portfolio.quarantine(con, months)),
        "files": _records(queries.landing_file_status(con)),
        "file_reconciliation": None if reconciliation is None else _records(
            reconciliation.drop(columns=["file_id"])),
    }


def embed(data: dict) -> Markup:
    """The payload as a JSON script block; '<' is escaped so no value can close the tag."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(f'<script type="application/json" id="dashboard-data">{text}</script>')
