"""The demo MSP end to end: deterministic generation, units against ground truth, safe reports."""

import hashlib
import re
from pathlib import Path

import pandas as pd
import pytest

from demo.generate import generate
from tests.publish_demo import SMALL as DEMO
from tests.publish_demo import hostile_known, published_demo

SMALL = {"seed": 11, "clients": 6, "months": 3, "end_month": "2026-03"}


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            h.update(path.relative_to(folder).as_posix().encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def test_generator_is_deterministic_by_seed(tmp_path):
    a = generate(tmp_path / "a" / "landing", tmp_path / "a" / "truth", **SMALL)
    b = generate(tmp_path / "b" / "landing", tmp_path / "b" / "truth", **SMALL)
    assert a == b
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    generate(tmp_path / "c" / "landing", tmp_path / "c" / "truth", **dict(SMALL, seed=12))
    assert _digest(tmp_path / "c" / "landing") != _digest(tmp_path / "a" / "landing")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The small demo MSP the publish and browser tests read too, built and published once per
    session; with the counts its generator reports (generated again: the generator is
    deterministic, as the test above shows)."""
    built = published_demo(tmp_path_factory)
    again = tmp_path_factory.mktemp("demo-counts")
    counts = generate(again / "landing", again / "truth", **DEMO)
    return {"root": built["root"], "counts": counts, "months": built["months"]}


def _query(root: Path, sql: str) -> pd.DataFrame:
    import duckdb

    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).df()


def test_every_generated_ticket_reaches_the_facts(demo):
    root = demo["root"]
    facts = _query(root, "SELECT count(*) AS n FROM marts.ticket_facts")["n"][0]
    quarantined = _query(root, "SELECT count(*) AS n FROM quality.quarantine")["n"][0]
    assert (facts, quarantined) == (demo["counts"]["tickets"], 0)
    superseded = _query(root, "SELECT sum(versions_delivered - 1) AS n FROM staging.tickets")["n"][0]
    assert superseded == demo["counts"]["redelivered_tickets"]
    rows = _query(root, "SELECT count(*) AS n FROM marts.client_month")["n"][0]
    assert rows == DEMO["clients"] * DEMO["months"]


def test_ticket_units_agree_with_ground_truth(demo):
    root = demo["root"]
    truth = pd.read_csv(root / "truth" / "tickets_truth.csv")
    facts = _query(root, "SELECT ticket_id, client_id, month, unit_id, is_standard"
                         " FROM marts.ticket_facts")
    merged = facts.merge(truth, on=["ticket_id", "client_id"])
    assert len(merged) == len(facts)
    assert not merged.loc[merged["provider_initiated"], "is_standard"].any()
    # Units are compared over all client-raised tickets: scope exclusions are a separate question.
    std = merged[~merged["provider_initiated"]]
    ours = std.groupby(["client_id", "month"])["unit_id"].nunique()
    true = std.groupby(["client_id", "month"])["true_unit_id"].nunique()
    error = (ours - true).abs().sum() / true.sum()
    # The rules read text and timing; the generator's own wording sometimes omits the cue.
    assert error < 0.03, f"unit count error {error:.2%}"
    # Pairwise: tickets the truth puts in one multi-ticket unit are grouped by us, mostly.
    multi = std[std.duplicated("true_unit_id", keep=False)]
    same = multi.groupby("true_unit_id")["unit_id"].nunique().eq(1).mean()
    assert same > 0.8, f"only {same:.0%} of true multi-ticket units grouped whole"
    print(f"unit count error {error:.2%}; multi-ticket units grouped whole {same:.0%}")


def test_reports_hold_one_clients_data_only(demo):
    root = demo["root"]
    clients = _query(root, "SELECT DISTINCT client_id, name FROM staging.clients")
    month_dir = root / "published" / demo["months"][-1][:7]
    reports = sorted(month_dir.glob("client-*.html"))
    assert len(reports) == DEMO["clients"]
    tickets = _query(root, "SELECT ticket_id, client_id FROM marts.ticket_facts")
    ids_shown = 0
    for report in reports:
        own = report.stem.removeprefix("client-")
        html = report.read_text()
        for _, other in clients[clients["client_id"] != own].iterrows():
            assert other["name"] not in html, (report.name, other["name"])
            assert re.search(rf"\b{other['client_id']}\b", html) is None
            assert f"@{other['client_id'].lower()}." not in html
        foreign = set(tickets[tickets["client_id"] != own]["ticket_id"])
        shown = set(re.findall(r"\bT\d{7}\b", html))
        assert not (shown & foreign)
        ids_shown += len(shown)
    assert ids_shown > 0


def test_index_lists_every_clients_report(demo):
    month_dir = demo["root"] / "published" / demo["months"][-1][:7]
    index = (month_dir / "index.html").read_text()
    links = re.findall(r'href="(client-[^"]+\.html)"', index)
    assert sorted(links) == sorted(p.name for p in month_dir.glob("client-*.html"))
    size = sum(p.stat().st_size for p in month_dir.iterdir() if p.suffix != ".pdf")
    assert size < 6_000_000  # plotly.js once per folder, not once per page


@pytest.fixture
def hostile(tmp_path_factory):
    """The known MSP with markup in a ticket subject and an alert, run for January and published
    (shared with test_browser, which renders the same pages)."""
    return hostile_known(tmp_path_factory)


def test_ticket_text_is_escaped(hostile):
    html = (hostile["published"] / "2026-01" / "client-ACME.html").read_text()
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt; &#34;quoted" in html
