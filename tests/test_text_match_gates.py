"""The matchers' speed-ups read as the plain forms: the idioms' guard and the grouped gates."""

import re

import duckdb
import pytest

from logic.emergency import _matchers
from logic.scope_rules import scope_rules
from logic.text_match import (
    GATE_MATCHERS,
    GATE_PATTERN_CHARS,
    Compiler,
    _gate_groups,
    matched_hits,
    term_regex,
)
from policy.config import PolicyConfig, default_policy
from warehouse.sqlquote import sql_literal

TEXTS = [
    "The server is down and nobody can log in, in order to fix it we need a tech onsite.",
    "Not urgent: please work out why the printer is out of order, no one is affected.",
    "Could you give Nia access to the accounts@ shared mailbox? Our ref T00000001.",
    "URGENT!!! whole office offline, can't reach the internet. Not a training request.",
    "Please install the open-source PDF tool on every laptop and migrate the files.",
    "",
]


@pytest.fixture(scope="module")
def policy() -> PolicyConfig:
    return default_policy()


def _unguarded(policy: PolicyConfig, expr: str) -> str:
    """Compiler.normalise as it was: every idiom's rewrite applied to every text."""
    c = Compiler(policy)
    out = f"lower(replace(replace(coalesce({expr}, ''), '\u2019', ''''), '\u2018', ''''))"
    for idiom, replacement in policy.text_matching.rewrites.items():
        pattern = term_regex(idiom, c.gap, plural=False)
        out = f"regexp_replace({out}, {sql_literal(pattern)}, {sql_literal(replacement)}, 'g')"
    words = policy.text_matching.clause_words
    pattern = r"\b(" + "|".join(re.escape(w) for w in words) + r")\b"
    return f"regexp_replace({out}, {sql_literal(pattern)}, '~\\1', 'g')"


def _texts(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE TABLE t AS SELECT unnest(?) AS raw_txt", [TEXTS])


def test_normalise_guard_reads_as_every_rewrite(policy: PolicyConfig) -> None:
    assert policy.text_matching.rewrites and policy.text_matching.clause_words
    con = duckdb.connect()
    _texts(con)
    c = Compiler(policy)
    rows = con.execute(f"SELECT {c.normalise('raw_txt')}, {_unguarded(policy, 'raw_txt')} FROM t").fetchall()
    assert all(a == b for a, b in rows)
    assert any("figure out" in a for a, _ in rows)  # an idiom was rewritten


def test_gate_groups_bounded(policy: PolicyConfig) -> None:
    items = list(enumerate(m for _, m in _matchers(policy)))
    groups = _gate_groups(items)
    assert [i for g in groups for i, _ in g] == [i for i, _ in items]
    for g in groups:
        assert len(g) <= GATE_MATCHERS
        assert len(g) == 1 or sum(len(m.core) for _, m in g) <= GATE_PATTERN_CHARS


@pytest.mark.parametrize("family", ["emergency", "scope"])
def test_gated_hits_equal_each_matchers_own(policy: PolicyConfig, family: str) -> None:
    """matched_hits (gated) gives each matcher's Matcher.hits list, for every text and matcher."""
    if family == "emergency":
        items = list(enumerate(m for _, m in _matchers(policy)))
    else:
        items = scope_rules(policy).text
    con = duckdb.connect()
    _texts(con)
    con.execute(f"CREATE TABLE n AS SELECT raw_txt, {Compiler(policy).normalise('raw_txt')} AS txt FROM t")
    got = {(r[0], r[1]): r[2] for r in con.execute(matched_hits("n", "raw_txt", items)).fetchall()}
    want = {}
    for i, m in items:
        for raw, hits in con.execute(f"SELECT raw_txt, {m.hits('txt')} FROM n").fetchall():
            if hits:
                want[(raw, i)] = hits
    assert got == want
    assert len(want) >= 3  # the texts do match some rules
