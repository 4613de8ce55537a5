"""Two editions of a client's report from one template (issue 20): the client edition bills
approved work only and holds no evidence, confidences or staff identities; the internal edition
adds them. Numbers as printed add up, and missing inputs are said, not shown as figures."""

import html as html_lib
import re
from pathlib import Path

import duckdb
import openpyxl
import pandas as pd
import pytest

from policy.config import ReportSettings, default_policy
from reports import finance, publish
from tests import report_msp


@pytest.fixture(scope="module")
def msp(tmp_path_factory):
    return report_msp.built(tmp_path_factory)


@pytest.fixture(scope="module")
def month(msp, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("editions")
    report_msp.publish_to(msp, root)
    return root / "2026-01"


def _text(path: Path) -> str:
    """What a reader sees: the page without tags, scripts, styles or the dashboard's payload."""
    raw = path.read_text()
    raw = re.sub(r"<(script|style)\b.*?</\1>", " ", raw, flags=re.S)
    raw = re.sub(r'<a [^>]*href="data:[^"]*"', "<a", raw)
    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", raw)))


def _section(text: str, start: str, end: str) -> str:
    return text[text.index(start):text.index(end, text.index(start))]


def test_client_edition_bills_approved_lines_only(month):
    client = _text(month / "client-ACME.html")
    # ACME: A-APP approved (2.08 h x 150 = 312.00), A-PEND (612.00) and A-VT (112.50) not reviewed.
    assert "USD 312.00" in client
    billed = _section(client, "Out-of-scope work billed", "Rows held back")
    assert "2 under review, not billed" in billed
    table = _section(client, "Ticket Subject Category Hours Rate Amount", "Under review, not billed")
    assert "A-APP" in table and "A-PEND" not in table and "A-VT" not in table
    assert "Total billed, 1 approved item(s)" in table and "USD 312.00" in table
    pending = _section(client, "Under review, not billed", "Data quality")
    assert "A-PEND" in pending and "A-VT" in pending
    # Neither a pending amount nor a total including it is shown to the client.
    for amount in ("612.00", "112.50", "1,036.50", "724.50"):
        assert amount not in client, amount
    internal = _text(month / "internal" / "client-ACME.html")
    assert "612.00" in internal and "Amount if approved" in internal


def test_client_edition_holds_no_evidence_confidence_or_staff_identity(month):
    client = _text(month / "client-ACME.html")
    internal = _text(month / "internal" / "client-ACME.html")
    shown_inside = ["finance.jane", "am.omar", "onsite time entries: 125 min", "Confidence",
                    "Evidence", "Internal edition"]
    for needle in shown_inside:
        assert needle in internal, needle
        assert needle not in client, needle
    assert "declined on review" in client  # the decision, without who made it


def test_pending_lines_can_be_left_out_of_the_client_edition(msp, tmp_path):
    policy = default_policy().model_copy(
        update={"reports": ReportSettings(client_edition_pending="omit")})
    with duckdb.connect(str(msp["warehouse"]), read_only=True) as con:
        publish.publish_month(con, report_msp.JAN, tmp_path, "test", "USD", pdf=False,
                              policy=policy)
    page = (tmp_path / "2026-01" / "client-ACME.html").read_text()
    assert 'id="pending"' not in page and 'id="billed"' in page
    assert 'id="pending"' in (tmp_path / "2026-01" / "internal" / "client-ACME.html").read_text()


def test_hours_times_rate_is_the_amount_as_printed(month):
    page = (month / "client-ACME.html").read_text()
    table = page[page.index('id="billed"'):page.index("</table>", page.index('id="billed"'))]
    rows = re.findall(r'<td class="n">([\d,.]+)</td><td class="n">([\d,.]+)</td>'
                      r'<td class="n">([\d,.]+)</td></tr>', table)
    assert rows
    for hours, rate, amount in rows:
        def f(v: str) -> float:
            return float(v.replace(",", ""))
        assert round(f(hours) * f(rate), 2) == f(amount), (hours, rate, amount)


def test_pages_never_print_python_values_and_say_what_is_not_measurable(month):
    pages = [*month.glob("client-*.html"), *(month / "internal").glob("client-*.html"),
             month / "index.html", month / "dashboard.html"]
    for page in pages:
        words = set(re.findall(r"\b(None|True|False|nan|NaN|NaT)\b", _text(page)))
        assert not words, (page.name, words)
        # Nor a float where a count is meant (seats as "10.0", as the month index had them).
        assert not re.findall(r"\b\d+\.0\b", _text(page)), (page.name, page)
    # Plans by their name in the policy, not their id.
    assert "Unlimited" in _text(month / "index.html")
    assert not re.search(r"\bunlimited\b", _text(month / "index.html"))
    client = _text(month / "client-ACME.html")
    # No ticket event was delivered: the SLA is not measurable, not "0% met".
    assert "not measurable" in client and "0 of 5 answered in time" not in client
    # The client's terms are stated: hours, zone and the goal.
    assert "Mon–Fri 08:00–18:00" in client and "Europe/London" in client and "95%" in client
    assert "TechDesk Pro" in client


def test_without_time_entries_amounts_are_not_computed_and_counts_read_as_words(month):
    # OVER delivered tickets but no time entry: no amount at all, not "USD 0.00".
    over = _text(month / "client-OVER.html")
    assert "Amounts are not computed" in over
    assert not re.search(r"USD 0\.00|\b0\.00\b", over), re.findall(r".{60}0\.00.{20}", over)
    billed = _section(over, "Out-of-scope work billed", "Rows held back")
    assert "not computed" in billed
    # One month in the rolling average is said as such, never "the last 1 months".
    for page in [*month.glob("client-*.html"), *(month / "internal").glob("client-*.html")]:
        assert not re.search(r"\b1 months\b", _text(page)), page.name
    assert "only month in the average" in over


def test_executive_summary_comes_first(month):
    page = (month / "client-ACME.html").read_text()
    assert page.index('id="executive-summary"') < page.index('id="summary"') < page.index(
        'id="fair-use"') < page.index('id="appendix"')


def test_finance_export_totals_review_state_and_a_queue_without_duplicates(month):
    book = openpyxl.load_workbook(month / "out-of-scope-2026-01.xlsx")
    lines = [dict(zip([c.value for c in book["Line items"][1]], [c.value for c in row], strict=True))
             for row in book["Line items"].iter_rows(min_row=2)]
    assert {r["Billed now"] for r in lines} == {"yes", "no: under review"}
    assert all((r["Billed now"] == "yes") == (r["Review status"] == "approved") for r in lines)
    totals = [[c.value for c in row] for row in book["Totals per client"].iter_rows(min_row=2)]
    grand = totals[-1]
    assert grand[:3] == ["TOTAL USD", "all clients", "USD"]
    assert grand[7] == pytest.approx(sum(r["Amount"] for r in lines))
    assert grand[5] == pytest.approx(sum(r["Amount"] for r in lines if r["Billed now"] == "yes"))
    queue_sheet = book["Review queue"]
    header = [c.value for c in queue_sheet[1]]
    queue = [dict(zip(header, [c.value for c in row], strict=True))
             for row in queue_sheet.iter_rows(min_row=2)]
    tickets = [q["Ticket"] for q in queue]
    assert len(tickets) == len(set(tickets))
    # B-MIG has two automated hits: one queue row naming both, its amount counted once.
    mig = [q for q in queue if q["Ticket"] == "B-MIG"]
    assert len(mig) == 1 and ";" in mig[0]["Scope exclusion(s)"]
    assert sum(q["Amount if approved"] for q in queue) == pytest.approx(
        sum(r["Amount"] for r in lines if r["Billed now"] != "yes"))
    rule, = queue_sheet.data_validations.dataValidation
    assert rule.formula1 == '"approve,reject,note"'
    assert str(rule.sqref) == f"L2:L{len(queue) + 1}" and header[11] == "Decision"


def test_amounts_in_two_currencies_are_never_added():
    lines = pd.DataFrame({
        "ticket_id": ["1", "2", "3"], "client_id": ["A", "B", "B"],
        "client_name": ["A", "B", "B"], "currency": ["USD", "EUR", "EUR"],
        "billable_hours": [1.0, 2.0, 3.0], "amount": [100.0, 200.0, 300.0],
        "review_status": ["approved", "approved", "unreviewed"]})
    grand = finance.grand_totals(finance.totals(lines))
    assert grand.set_index("currency")[["amount", "approved_amount"]].to_dict("index") == {
        "EUR": {"amount": 500.0, "approved_amount": 200.0},
        "USD": {"amount": 100.0, "approved_amount": 100.0}}


def test_commentary_from_landing_is_shown_under_the_summary_escaped(msp, tmp_path, monkeypatch):
    landing = tmp_path / "landing"
    path = landing / "commentary" / "2026-01.csv"
    path.parent.mkdir(parents=True)
    path.write_text('client_id,text\r\nACME,"**Good month.** <script>alert(1)</script>\n\n'
                    '- new starter on Monday\n- printer swap"\r\nNOPE,"for nobody"\r\n')
    monkeypatch.setenv("MSP_LANDING", str(landing))
    lines: list[str] = []
    report_msp.publish_to(msp, tmp_path / "published", log=lines.append)
    page = (tmp_path / "published" / "2026-01" / "client-ACME.html").read_text()
    summary = page[page.index('id="executive-summary"'):page.index('id="summary"')]
    assert "<strong>Good month.</strong>" in summary and "<li>printer swap</li>" in summary
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in summary and "<script>alert" not in page
    assert "From your account manager" not in (
        tmp_path / "published" / "2026-01" / "client-BETA.html").read_text()
    assert any("commentary/2026-01.csv: row 2, field client_id" in line and "NOPE" in line
               for line in lines), lines


def test_a_breach_of_seconds_is_shown_in_seconds_never_missed_by_0():
    from reports.client_report import _breach_rows

    rows = _breach_rows(pd.DataFrame([{
        "response_business_minutes": 60.4, "response_target_minutes": 60.0,
        "sla_explanation": "60 business minutes against a 60-minute high target: missed by 0."}]))
    assert rows[0]["minutes_text"] == "60.40 / 60"
    assert rows[0]["sla_explanation"] == ("60.40 business minutes against a 60-minute high target:"
                                          " missed by 24 seconds.")


def test_the_marts_and_the_finance_export_show_the_calibrated_confidence(msp, month, tmp_path_factory):
    """Round 11: what the reports call a call's confidence is the calibrated one, not the raw score."""
    from assets.classification import load_messages, prepare_inputs
    from logic.classify import scope_hits_sql
    from tests.test_classify import prepare_word_model

    root = tmp_path_factory.mktemp("calibrated")
    report_msp.copy_built(tmp_path_factory, root)
    policy = default_policy()
    with duckdb.connect(str(root / "warehouse.duckdb")) as con:
        # The month's inputs and votes as the scope step reads them, then its statement both ways.
        prepare_inputs(con, report_msp.JAN)
        load_messages(con, policy, [report_msp.JAN])  # the texts' messages, as emergency_readings kept them
        con.execute("CREATE TEMP TABLE clf_emergency AS SELECT ticket_id, qualifies_emergency"
                    " FROM marts.emergency_readings WHERE month = ?", [report_msp.JAN])
        for kind in ("scope", "emergency"):
            con.execute(f"CREATE TEMP TABLE clf_semantic_{kind} AS SELECT * EXCLUDE (month)"
                        f" FROM staging.semantic_{kind}_votes WHERE month = ?", [report_msp.JAN])
        prepare_word_model(con, policy)
        calibrated = scope_hits_sql(policy, "clf_emergency", calibrated=True)
        shown = sorted(con.execute(f"SELECT ticket_id, scope_id, confidence, call_state FROM ({calibrated})")
                       .fetchall())
        raw = sorted(con.execute(f"SELECT ticket_id, scope_id, confidence FROM"
                                 f" ({scope_hits_sql(policy, 'clf_emergency')})").fetchall())
        stored = sorted(con.execute("SELECT ticket_id, scope_id, confidence, automated_call_state"
                                    " FROM marts.scope_hits WHERE source = 'automated'").fetchall())
    assert shown and stored == shown
    assert [r[2] for r in shown] != [r[2] for r in raw]  # the map moved them
    book = openpyxl.load_workbook(month / "out-of-scope-2026-01.xlsx")
    sheet = book["Line items"]
    header = [c.value for c in sheet[1]]
    lines = [dict(zip(header, [c.value for c in row], strict=True)) for row in sheet.iter_rows(min_row=2)]
    best = {}
    for tid, _sid, confidence, _state in shown:
        best[tid] = max(best.get(tid, 0.0), confidence)
    automated = [r for r in lines if r["Ticket"] in best]
    assert automated and all(r["Confidence"] == pytest.approx(best[r["Ticket"]]) for r in automated)
