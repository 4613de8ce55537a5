"""What `python -m pipelines.run` shows and publishes on a long run: a line per finished step with
the time so far and an estimate of what is left, a line per published month, PDFs for the latest
month only (all months on request), and no report file for a client without tickets."""

import importlib
import json
import shutil
import time

import dagster as dg
import pytest

from pipelines.run import Progress, _Watched, run_all, run_months
from reports.pdf import unavailable_reason
from tests.conftest import KNOWN_AS_OF, KNOWN_MONTHS, copy_build, paths_under, use_build

MONTHS = list(KNOWN_MONTHS)


@pytest.fixture(scope="module")
def backfill(known_builds):
    """The known MSP's three months run once as one backfill, with what it printed: the session's
    build of January to March (`known_builds`), which publishes and which other modules read."""
    env = known_builds(KNOWN_MONTHS)
    return dict(env, lines=json.loads((env["warehouse"].parent / "lines.json").read_text()))


def _pdfs(msp_env: dict, label: str) -> list[str]:
    return sorted(p.name for p in (msp_env["published"] / label).glob("*.pdf"))


def test_a_backfill_prints_its_steps_and_months_and_prints_pdfs_for_its_latest_month(backfill):
    # One step per asset for its checks (SQL and great-expectations): 11 ingest and 21 monthly steps.
    msp_env, lines = backfill, backfill["lines"]

    ingest = [line for line in lines if "/11] all files " in line]
    monthly = [line for line in lines if "/21] 2026-01 to 2026-03 " in line]
    assert len(ingest) == 11 and len(monthly) == 21, lines
    assert monthly[-1].startswith("  [21/21] 2026-01 to 2026-03 monthly_reports")
    assert all(" · elapsed " in line for line in ingest + monthly)
    # Every step but the last says what is left: before publishing, and then per month published.
    assert all(" left before publishing" in line for line in monthly[1:-1])
    assert " left" not in monthly[-1]

    published = [line.strip() for line in lines if line.startswith("    published ")]
    # An estimate of what is left is shown once it is a second or more (timing-dependent), never
    # after the last month.
    assert len(published) == 3 and " left" not in published[-1]
    assert all(" left" not in line or " · about " in line for line in published)
    chromium = unavailable_reason() is None
    assert published[0].startswith("published 2026-01: 2 client reports, 0 PDFs (only the latest")
    # BETA's tickets are all in January: later months list it on the index, with no report.
    assert published[1].startswith("published 2026-02: 1 client reports, 0 PDFs")
    assert "; 1 clients without tickets;" in published[1]
    assert published[2].startswith("published 2026-03: 1 client reports, "
                                   + ("1 PDFs;" if chromium else "0 PDFs (no Chromium"))
    # The month lines come as each month is published, before the step's own line.
    assert lines.index(monthly[-1]) > lines.index(next(ln for ln in lines if "2026-03:" in ln))

    assert _pdfs(msp_env, "2026-01") == _pdfs(msp_env, "2026-02") == []
    if chromium:
        assert _pdfs(msp_env, "2026-03") == ["client-ACME.pdf"]
    february = msp_env["published"] / "2026-02"
    assert not (february / "client-BETA.html").exists() and (february / "client-ACME.html").exists()
    index = (february / "index.html").read_text()
    beta_row = index[index.index("<td>BETA Ltd</td>"):]
    assert beta_row[:beta_row.index("</tr>")].endswith("<td>no tickets</td>")
    assert 'href="client-ACME.html"' in index


@pytest.mark.skipif(unavailable_reason() is not None, reason="PDFs need Chromium")
def test_all_pdfs_on_request_and_only_the_last_range_prints_by_default(backfill, tmp_path,
                                                                      monkeypatch):
    import pipelines.definitions

    # The backfill as it was published, copied: the shared build is not changed.
    msp_env = use_build(monkeypatch, copy_build(backfill, paths_under(tmp_path)))
    shutil.copytree(backfill["published"], msp_env["published"])
    monkeypatch.setenv("MSP_AS_OF", KNOWN_AS_OF)
    instance = dg.DagsterInstance.ephemeral()
    job = importlib.reload(pipelines.definitions).defs.resolve_job_def("monthly_job")
    reports = [dg.AssetKey("monthly_reports")]

    monkeypatch.setenv("MSP_ALL_PDFS", "1")
    list(run_months(job, instance, MONTHS[:2], reports))
    assert _pdfs(msp_env, "2026-01") == ["client-ACME.pdf", "client-BETA.pdf"]
    assert _pdfs(msp_env, "2026-02") == ["client-ACME.pdf"]

    monkeypatch.delenv("MSP_ALL_PDFS")
    # January and March are two runs: only the later one's month is printed.
    list(run_months(job, instance, [MONTHS[0], MONTHS[2]], reports))
    assert _pdfs(msp_env, "2026-01") == [] and _pdfs(msp_env, "2026-03") == ["client-ACME.pdf"]
    list(run_months(job, instance, MONTHS[:1], reports, all_pdfs=True))
    assert _pdfs(msp_env, "2026-01") == ["client-ACME.pdf", "client-BETA.pdf"]


def test_the_estimate_scales_the_previous_runs_step_times_to_this_runs_months_and_pace():
    progress = Progress(dg.DagsterInstance.ephemeral(), out=lambda line: None)
    # Last time: 10 s and 30 s per month. This run: 2 months, the first step took 40 s
    # (twice as slow as expected), and 3 more months follow in later runs.
    run = _Watched("monthly_job", ["2026-01-01", "2026-02-01"], later_months=3,
                   started=time.perf_counter() - 40, steps=["a", "b"], done={"a": 40.0},
                   previous={"a": 10.0, "b": 30.0})
    left, then_publishing = progress._left(run)
    this_run = 30 * 2 * 2
    assert left == pytest.approx(this_run + (40 + this_run) / 2 * 3, rel=0.01)
    assert not then_publishing
    # Without a previous run: the finished steps' average for each step left.
    run.previous = {}
    assert progress._left(run)[0] == pytest.approx(40 + 80 / 2 * 3, rel=0.01)
    # ... except publishing, which is estimated from its own months once it has begun.
    run.steps.append("monthly_reports")
    assert progress._left(run) == (pytest.approx(40, rel=0.01), True)
    run.publishing_since, run.published = time.perf_counter() - 10, 1
    # 10 s for the second month, then the later runs' 3 months at (40 + 10) s / 2 months each.
    assert progress._publishing_estimate(run).endswith(" · about 1 min 25 s left")


_NO_DATES = """
name: nodates
shape: tickets
tickets:
  ticket_id: {column: id}
  client_id: {value: Endava}
  created_at: {value: "2026-01-05T09:00:00", type: timestamp}
  subject: {column: title}
clients:
  timezone: Europe/London
  seats: 5
"""


def test_an_export_without_event_dates_warns_what_is_missing_and_nothing_is_rejected(
    msp_env, defs, query, tmp_path
):
    from adapters.run import run_adapter, summary

    mapping = tmp_path / "nodates.yaml"
    mapping.write_text(_NO_DATES)
    export = tmp_path / "export.csv"
    export.write_text("id,title\nE1,cannot log in\nE2,printer jam\n")
    result = run_adapter("nodates", export, msp_env["landing"], mapping)
    assert "ticket_events" not in result.files
    assert not (msp_env["landing"] / "ticket_events").exists()
    warning = summary(result).splitlines()[-1]
    assert warning.startswith("  warning: the export has no event dates")
    assert "response-time SLA cannot be computed" in warning and "`events`" in warning

    instance = dg.DagsterInstance.ephemeral()
    assert run_all(["2026-01-01"], instance=instance, reports=False, docs=False) == ["2026-01-01"]
    # Before: the adapter's empty events file (columns typed NULL) was rejected with an ERROR.
    assert query("SELECT entity, status FROM raw.landing_files ORDER BY entity") == [
        ("clients", "accepted"), ("tickets", "accepted")]
    assert query("SELECT count(*) FROM marts.ticket_facts WHERE first_response_at IS NULL") == [(2,)]
