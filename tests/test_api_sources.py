"""API pulls from Zendesk and ConnectWise, replayed by a loopback server, through the real Definitions."""

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from tests.api_server import connectwise_site as cws
from tests.api_server import zendesk_account as zda
from tests.api_server.server import ReplayServer

SUBDOMAIN = "acme-msp-7f3k"
EMAIL = "ops-bot@acme-msp.example"
TOKEN = "zd-token-Q9x2Lr7Ww1"
CW = {"CONNECTWISE_SITE": "cw-site-93jd", "CONNECTWISE_COMPANY_ID": "acmemsp-co",
      "CONNECTWISE_PUBLIC_KEY": "pubKey8H2k", "CONNECTWISE_PRIVATE_KEY": "privKey5Tq1Zz",
      "CONNECTWISE_CLIENT_ID": "3c9f1e2a-client"}
SECRETS = [SUBDOMAIN, EMAIL, TOKEN, *CW.values()]

# Tiny backoffs so failure cases stay fast; a Retry-After of 1 s is still honoured (cap 2 s).
# Run config replaces the resource's configured values, so the first cursor is given here too.
FAST = {"resources": {"api_pull": {"config": {
    "start": "2026-01-01T00:00:00Z", "max_attempts": 4, "backoff_factor": 0.01, "max_retry_delay": 2.0,
    "timeout_seconds": 2.0, "page_size": 2}}}}


@pytest.fixture
def zendesk(msp_env, monkeypatch):
    """A fake Zendesk account on a loopback port; the env names it as a user would."""
    account = zda.account(SUBDOMAIN, EMAIL, TOKEN)
    with ReplayServer(account) as server:
        monkeypatch.setenv("ZENDESK_SUBDOMAIN", SUBDOMAIN)
        monkeypatch.setenv("ZENDESK_EMAIL", EMAIL)
        monkeypatch.setenv("ZENDESK_API_TOKEN", TOKEN)
        monkeypatch.setenv("ZENDESK_BASE_URL", server.url + "/{subdomain}")
        monkeypatch.setenv("ZENDESK_CATEGORY_FIELD_ID", str(zda.CATEGORY_FIELD))
        monkeypatch.setenv("ZENDESK_DECLARED_EMERGENCY_FIELD_ID", str(zda.EMERGENCY_FIELD))
        monkeypatch.setenv("ZENDESK_AFFECTED_USERS_FIELD_ID", str(zda.AFFECTED_FIELD))
        monkeypatch.setenv("MSP_API_START", "2026-01-01T00:00:00Z")
        yield account, server


@pytest.fixture
def connectwise(msp_env, monkeypatch):
    """A fake ConnectWise Manage site on a loopback port."""
    site = cws.site(CW["CONNECTWISE_SITE"], CW["CONNECTWISE_COMPANY_ID"],
                    CW["CONNECTWISE_PUBLIC_KEY"], CW["CONNECTWISE_PRIVATE_KEY"],
                    CW["CONNECTWISE_CLIENT_ID"])
    with ReplayServer(site) as server:
        for key, value in CW.items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("CONNECTWISE_BASE_URL", server.url + "/{site}/v4_6_release/apis/3.0")
        monkeypatch.setenv("MSP_API_START", "2026-01-01T00:00:00Z")
        yield site, server


def pull(defs: dg.Definitions, vendor: str, config: dict | None = None) -> dg.ExecuteInProcessResult:
    """One run of api_pull_job for one vendor, as `python -m pipelines.run --pull` does."""
    return defs.resolve_job_def("api_pull_job").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), run_config=config or FAST, raise_on_error=False,
        asset_selection=[dg.AssetKey(f"{vendor}_pull")],
    )


def load_month(defs: dg.Definitions, month: str) -> None:
    """Ingest the landing folder and stage one month (raw tickets, tickets, events, time)."""
    instance = dg.DagsterInstance.ephemeral()
    assert defs.resolve_job_def("ingest_job").execute_in_process(instance=instance).success
    staged = defs.resolve_job_def("monthly_job").execute_in_process(
        instance=instance, partition_key=month,
        asset_selection=[dg.AssetKey(k) for k in (
            "raw_tickets", "staging_tickets", "staging_ticket_events", "staging_time_entries")],
    )
    assert staged.success


def metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    [mat] = result.asset_materializations_for_node(asset)
    return {k: v.value for k, v in mat.metadata.items()}


@pytest.mark.slow  # pulls, then ingests and stages the month
def test_zendesk_pull_is_incremental_and_a_later_version_supersedes(zendesk, defs, query, msp_env):
    account, server = zendesk
    for i in range(5):  # five tickets over two cursor pages of two plus one
        zda.add_ticket(account, 100 + i, 501 if i < 4 else 502, 21 if i < 4 else 23,
                       f"2026-10-0{i + 1}T09:00:00Z", f"Mailbox full {i}",
                       priority="urgent" if i == 0 else "normal", emergency=i == 0)
    zda.agent_update(account, 100, "2026-10-05T10:00:00Z", 11, reply="Looking now",
                     status="open", reply_business=45)

    first = pull(defs, "zendesk")
    assert first.success
    meta = metadata(first, "zendesk_pull")
    assert meta["records_fetched"]["tickets"] == 5
    assert meta["rows_delivered"] == {"clients": 2, "tickets": 5, "ticket_events": 12}
    # The cursor export was followed page by page, and the audits of ticket 100 over two pages.
    assert len(server.requests_to("/incremental/tickets/cursor.json")) == 3
    assert len(server.requests_to("/tickets/100/audits.json")) == 2

    load_month(defs, "2026-10-01")
    tickets = query("SELECT ticket_id, client_id, requester, triage_priority, final_priority, status,"
                    " declared_emergency, source, category, source_sla_met FROM staging.tickets"
                    " ORDER BY ticket_id")
    assert tickets[0] == ("100", "C001", "ann@c001.example", "emergency", None, "in_progress", True,
                          "email", "Email", True)  # 45 business minutes within the 60 of urgent
    assert [t[1] for t in tickets] == ["C001"] * 4 + ["C002"]
    events = query("SELECT event_type, actor_type, actor, is_public, new_value FROM staging.ticket_events"
                   " WHERE ticket_id = '100' ORDER BY event_at, event_type")
    assert events == [
        ("auto_acknowledgement", "system", "autoresponder", True, None),
        ("created", "client", "ann@c001.example", True, "new"),
        ("agent_reply", "agent", "mona@provider.example", True, None),
        ("status_change", "agent", "mona@provider.example", True, "in_progress"),
    ]

    # Upstream: ticket 101 is solved and a new ticket arrives; then the scheduled pull runs again.
    zda.agent_update(account, 101, "2026-10-06T08:00:00Z", 12, reply="Fixed", status="solved",
                     reply_business=300)
    zda.add_ticket(account, 105, 502, 23, "2026-10-06T09:00:00Z", "VPN drops")
    before = len(server.log)
    second = pull(defs, "zendesk")
    assert second.success
    assert metadata(second, "zendesk_pull")["records_fetched"]["tickets"] == 2
    asked = [path for _, path, _ in server.log[before:]]
    start = [p for p in asked if "cursor.json" in p and "tickets" in p and "start_time" in p]
    cursor = int(datetime(2026, 10, 5, 10, tzinfo=UTC).timestamp())  # the last ticket change seen
    assert start == [f"/{SUBDOMAIN}/api/v2/incremental/tickets/cursor.json?per_page=2&start_time={cursor}"]
    audits_asked = sorted({p.split("/")[5] for p in asked if p.endswith("audits.json")})
    assert audits_asked == ["101", "105"]  # only the changed tickets

    load_month(defs, "2026-10-01")
    assert query("SELECT count(*) FROM raw.tickets WHERE ticket_id = '101'") == [(2,)]
    assert query("SELECT status, final_priority, versions_delivered, source_sla_met, resolved_at IS NOT NULL"
                 " FROM staging.tickets WHERE ticket_id = '101'") == [("resolved", "normal", 2, False, True)]
    assert query("SELECT count(*) FROM staging.tickets") == [(6,)]
    files = query("SELECT path, status FROM raw.landing_files WHERE entity = 'tickets' ORDER BY path")
    assert len(files) == 2 and all(p.startswith("api/zendesk/") and s == "accepted" for p, s in files)

    # Nothing changed: an empty page, no new ticket rows.
    third = pull(defs, "zendesk")
    assert third.success and metadata(third, "zendesk_pull")["records_fetched"] == {}
    load_month(defs, "2026-10-01")
    assert query("SELECT count(*) FROM raw.tickets") == [(7,)]


@pytest.mark.slow  # pulls, then ingests and stages the month
def test_zendesk_rate_limit_server_errors_and_a_malformed_page(zendesk, defs, query, capfd):
    account, server = zendesk
    for i in range(5):
        zda.add_ticket(account, 200 + i, 501, 22, f"2026-09-1{i}T09:00:00Z", f"Printer {i}")

    # 429 with Retry-After on the first page, then a 500 and a stalled answer on audits.
    server.fail("/incremental/tickets/cursor.json", 429, {"error": "TooManyRequests"},
                headers={"Retry-After": "1"})
    server.fail("/tickets/202/audits.json", 500)
    server.fail("/tickets/203/metrics.json", 200, {}, delay=3.0)  # longer than the 2 s timeout
    started = time.perf_counter()
    result = pull(defs, "zendesk")
    assert result.success
    assert time.perf_counter() - started >= 1.0  # waited as Retry-After asked
    statuses = [s for _, p, s in server.log if "/incremental/tickets/cursor.json" in p]
    assert statuses[:2] == [429, 200]
    assert [s for _, p, s in server.log if "/tickets/202/audits.json" in p] == [500, 200]
    assert metadata(result, "zendesk_pull")["rows_delivered"]["tickets"] == 5

    # A malformed second page fails the run cleanly; nothing of that run is delivered.
    for i in range(4):
        zda.agent_update(account, 200 + i, f"2026-09-20T1{i}:00:00Z", 11, reply="On it")
    server.fail("tickets/cursor.json?cursor=", 200, "<html>upstream proxy error</html>")
    broken = pull(defs, "zendesk")
    assert not broken.success
    failure = next(e for e in broken.all_events if e.is_step_failure)
    message = failure.step_failure_data.error.message
    assert "zendesk pull failed at resource 'tickets'" in message and "not JSON" in message
    assert "resumes from the last successful cursor" in message
    batches = sorted(p.name for p in (Path(defs.resources["settings"].landing_dir) / "api/zendesk").iterdir())
    assert len(batches) == 1

    # The next run resumes from the last good cursor: every change exactly once, no gaps.
    resumed = pull(defs, "zendesk")
    assert resumed.success
    assert metadata(resumed, "zendesk_pull")["records_fetched"]["tickets"] == 4
    load_month(defs, "2026-09-01")
    assert query("SELECT count(*), count(DISTINCT ticket_id) FROM raw.tickets") == [(9, 5)]
    assert query("SELECT count(*) FROM staging.ticket_events WHERE event_type = 'agent_reply'") == [(4,)]

    # A server that keeps failing ends with a clear final error after the configured attempts.
    zda.agent_update(account, 204, "2026-09-21T10:00:00Z", 11, reply="Again")
    server.fail("/incremental/tickets/cursor.json", 503, times=10)
    failed = pull(defs, "zendesk")
    assert not failed.success
    message = next(e for e in failed.all_events if e.is_step_failure).step_failure_data.error.message
    assert "HTTP 503 after the configured retries" in message
    assert len([s for _, p, s in server.log[-4:] if s == 503]) == 4

    _assert_no_secret_leaks([broken, failed, resumed, result], capfd, defs)


def _assert_no_secret_leaks(results, capfd, defs) -> None:
    """No token, key or subdomain in run logs, metadata, errors, output or delivered files."""
    texts = []
    for result in results:
        for event in result.all_events:
            texts.append(event.message or "")
            texts.append(repr(event.event_specific_data))
    out, err = capfd.readouterr()
    texts += [out, err]
    landing = Path(defs.resources["settings"].landing_dir)
    texts += [p.read_text() for p in landing.rglob("*") if p.is_file()]
    state = Path(defs.resources["duckdb"].database).parent / "api_state"
    texts += [p.read_bytes().decode("latin-1") for p in state.rglob("*") if p.is_file()]
    blob = "\n".join(texts)
    assert blob.strip()
    for secret in SECRETS:
        assert secret not in blob, f"secret {secret[:3]}... leaked"


@pytest.mark.slow  # pulls, then ingests and stages the month
def test_connectwise_pull_tickets_notes_time_and_agreements(connectwise, defs, query, capfd):
    site, server = connectwise
    for i in range(3):
        cws.add_ticket(site, 7000 + i, 250, f"2026-10-0{i + 1}T14:00:00Z", f"Printer offline {i}",
                       priority="Priority 1 - Emergency Response" if i == 0 else
                       "Priority 3 - Normal Response", emergency=i == 0)
    cws.note(site, 7000, "2026-10-01T14:20:00Z", "tech.lee", "Dialled in", status="In Progress",
             in_sla=True)
    cws.note(site, 7000, "2026-10-01T14:25:00Z", "tech.lee", "Firmware?", internal=True)
    cws.time_entry(site, 1, 7000, "2026-10-01T22:00:00Z", 1.5, "Onsite After Hours")
    cws.time_entry(site, 2, 7001, "2026-10-02T15:00:00Z", 0.25, "Remote", billable="DoNotBill")

    first = pull(defs, "connectwise")
    assert first.success
    assert metadata(first, "connectwise_pull")["rows_delivered"] == {
        "clients": 2, "tickets": 3, "ticket_events": 2, "time_entries": 2}
    # Ticket list pages by Link header (two pages of two), filtered on lastUpdated.
    asked = server.requests_to("/service/tickets?")
    assert len(asked) == 2 and "lastUpdated%3E%3D%5B2026-01-01" in asked[0][1]

    load_month(defs, "2026-10-01")
    assert query("SELECT client_id, plan, seats, timezone, hourly_rate FROM staging.clients"
                 " ORDER BY client_id") == [("ACME", "unlimited", 30, "America/New_York", 150.0),
                                            ("BETA", "essentials", 12, "America/New_York", 150.0)]
    assert query("SELECT ticket_id, triage_priority, declared_emergency, status, source_sla_met,"
                 " description FROM staging.tickets ORDER BY ticket_id")[0] == (
        "7000", "emergency", True, "in_progress", True, "Printer offline 0 - details")
    assert query("SELECT event_type, actor_type, actor, is_public FROM staging.ticket_events"
                 " ORDER BY event_at") == [("agent_reply", "agent", "tech.lee", True),
                                           ("internal_note", "agent", "tech.lee", False)]
    entries = query("SELECT t.ticket_id, t.minutes, t.work_type, t.billable, t.outside_hours,"
                    " json_extract_string(r._extra, '$.psa_after_hours')"
                    " FROM staging.time_entries t JOIN raw.time_entries r"
                    " ON r._source_file = t._source_file AND r._source_row = t._source_row"
                    " ORDER BY t.ticket_id")
    assert entries == [("7000", 90.0, "onsite", True, True, "true"),
                       ("7001", 15.0, "remote", False, False, "false")]

    # Ticket 7001 is closed upstream: the next pull asks only for what changed since the cursor.
    cws.note(site, 7001, "2026-10-05T10:00:00Z", "tech.lee", "Replaced toner", status="Closed",
             close=True, in_sla=False)
    second = pull(defs, "connectwise")
    assert second.success
    assert metadata(second, "connectwise_pull")["records_fetched"] == {"ticket_notes": 2, "tickets": 1}
    assert "lastUpdated%3E%3D%5B2026-10-03T14%3A00%3A00" in server.requests_to("/service/tickets?")[-1][1]
    load_month(defs, "2026-10-01")
    assert query("SELECT status, final_priority, source_sla_met, versions_delivered FROM staging.tickets"
                 " WHERE ticket_id = '7001'") == [("closed", "normal", False, 2)]

    _assert_no_secret_leaks([first, second], capfd, defs)


def test_missing_credentials_fail_the_pull_with_the_variable_name(msp_env, defs, monkeypatch):
    monkeypatch.delenv("ZENDESK_API_TOKEN", raising=False)
    with pytest.raises(dg.DagsterInvalidConfigError, match="ZENDESK_API_TOKEN"):
        defs.resolve_job_def("api_pull_job").execute_in_process(
            instance=dg.DagsterInstance.ephemeral(), run_config=FAST,
            asset_selection=[dg.AssetKey("zendesk_pull")])


def test_a_refused_token_fails_with_a_clear_message(zendesk, defs, monkeypatch, capfd):
    monkeypatch.setenv("ZENDESK_API_TOKEN", "revoked-" + TOKEN)
    result = pull(defs, "zendesk")  # EnvVars are read at run launch
    assert not result.success
    message = next(e for e in result.all_events if e.is_step_failure).step_failure_data.error.message
    assert "HTTP 401: the account refused the credentials" in message
    assert "revoked-" not in message and SUBDOMAIN not in message
    _assert_no_secret_leaks([result], capfd, defs)


def test_delivered_batch_is_a_manifested_landing_delivery(zendesk, defs, msp_env):
    account, _ = zendesk
    zda.add_ticket(account, 300, 501, 21, "2026-10-01T09:00:00Z", "Password reset")
    assert pull(defs, "zendesk").success
    [batch] = (msp_env["landing"] / "api" / "zendesk").iterdir()
    manifest = json.loads((batch / "_manifest.json").read_text())
    assert manifest["rows"] == {"clients": 2, "tickets": 1, "ticket_events": 2}
    assert sorted(p.name for p in batch.iterdir()) == [
        "_manifest.json", "clients.jsonl", "ticket_events.jsonl", "tickets.jsonl"]


def test_cli_pulls_once(zendesk, defs, msp_env, monkeypatch, capsys):
    import sys

    from pipelines import run

    account, _ = zendesk
    zda.add_ticket(account, 400, 502, 23, "2026-10-01T09:00:00Z", "New starter account")
    monkeypatch.setattr(sys, "argv", ["pipelines.run", "--pull", "zendesk", "--pull-only"])
    run.main()
    assert "pulled zendesk into" in capsys.readouterr().out
    [batch] = (msp_env["landing"] / "api" / "zendesk").iterdir()
    [ticket] = [json.loads(line) for line in (batch / "tickets.jsonl").read_text().splitlines()]
    assert (ticket["ticket_id"], ticket["client_id"], ticket["requester"]) == (
        "400", "C002", "cem@c002.example")


def test_daily_schedule_pulls_only_connected_sources(defs, monkeypatch):
    schedule = defs.resolve_schedule_def("api_pull_daily")
    for var in ("ZENDESK_API_TOKEN", "CONNECTWISE_PRIVATE_KEY"):
        monkeypatch.delenv(var, raising=False)
    with dg.build_schedule_context() as context:
        assert isinstance(schedule.evaluate_tick(context).skip_message, str)
    monkeypatch.setenv("ZENDESK_API_TOKEN", TOKEN)
    with dg.build_schedule_context() as context:
        [request] = schedule.evaluate_tick(context).run_requests
    assert request.asset_selection == [dg.AssetKey("zendesk_pull")]


@pytest.mark.slow  # pulls, then ingests and stages the month
def test_a_delivery_interrupted_after_the_load_is_finished_without_duplicates(zendesk, defs, query,
                                                                               msp_env):
    account, _ = zendesk
    for i in range(3):
        zda.add_ticket(account, 500 + i, 501, 22, f"2026-10-1{i}T09:00:00Z", f"Laptop {i}")
    assert pull(defs, "zendesk").success
    load_month(defs, "2026-10-01")
    files_before = query("SELECT path, file_id FROM raw.landing_files ORDER BY ALL")
    # As if the run had stopped after dlt's load but before the delivery was recorded.
    with duckdb.connect(str(msp_env["warehouse"])) as con:
        con.execute("DELETE FROM landing_api_zendesk._msp_deliveries")
    again = pull(defs, "zendesk")
    assert again.success and metadata(again, "zendesk_pull")["records_fetched"] == {}
    assert len(metadata(again, "zendesk_pull")["batches_delivered"]) == 1  # written again, same bytes
    load_month(defs, "2026-10-01")
    assert query("SELECT path, file_id FROM raw.landing_files ORDER BY ALL") == files_before
    assert query("SELECT count(*), count(DISTINCT ticket_id) FROM raw.tickets") == [(3, 3)]


def test_cli_names_the_missing_variables(msp_env, defs, monkeypatch):
    from pipelines import run

    for var in ("ZENDESK_SUBDOMAIN", "ZENDESK_EMAIL", "ZENDESK_API_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(SystemExit, match="variables not set: ZENDESK_SUBDOMAIN, ZENDESK_EMAIL"):
        run.pull(["zendesk"], instance=dg.DagsterInstance.ephemeral())
