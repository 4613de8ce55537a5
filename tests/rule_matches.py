"""The rules' matches a test's classification reads, run once per process for each statement and
set of input rows, and shared by the tests that classify the same tickets again.

The classifier tests compare policies that differ in a threshold, a vote weight, a calibration map
or the learned signal's settings: none of those is in the rules' matching SQL, so each of those
classifications ran the same rules (about 1 MB of SQL, 0.4 to 0.7 s of CPU a statement whatever
the number of tickets) over the same tickets again. A result is held under a digest of DuckDB's
version, the statement's whole text and the rows and column types of the inputs it reads
(`INPUTS`): a changed term, pattern, rule order or ticket is another key, so what is read back is
what DuckDB gives for that statement on those rows. Only the rules' relations go through here
(`emergency_rules_sql`, `scope_text_hits_sql`, `scope_category_hits_sql`); the statements under
test (the reading, the scope calls, the votes) still run every time. `one_ticket_rules` reads the
emergency rules of a single ticket, uncached, for the tests of one rule or dampener.
"""

import hashlib

import duckdb

from logic.emergency import emergency_rules_sql
from policy.config import PolicyConfig

# The relations the rules' statements read (logic/classify.py's input contract).
INPUTS = ("clf_tickets", "clf_time")

# digest -> (the column definitions, the rows): per process, for the session.
_HELD: dict[str, tuple[str, list[tuple]]] = {}


def _digest(con: duckdb.DuckDBPyConnection, sql: str) -> str:
    """The key of `sql` over the inputs as they are on `con` now."""
    key = hashlib.sha256(f"{duckdb.__version__}\n{sql}".encode())
    present = {name for (name,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE list_contains($names, table_name)",
        {"names": list(INPUTS)}).fetchall()}
    for table in INPUTS:
        if table not in present:
            key.update(f"\n{table}: absent".encode())
            continue
        key.update(repr(con.execute(f"DESCRIBE {table}").fetchall()).encode())
        key.update(repr(con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()).encode())
    return key.hexdigest()


def create_shared(con: duckdb.DuckDBPyConnection, name: str, sql: str) -> str:
    """`CREATE TEMP TABLE name AS sql`, from the rows the same statement gave on the same inputs
    earlier in this process when it ran there (with its column types). Returns `name`."""
    digest = _digest(con, sql)
    held = _HELD.get(digest)
    if held is None:
        con.execute(f"CREATE TEMP TABLE {name} AS {sql}")
        columns = ", ".join(f'"{column}" {kind}' for column, kind, *_ in
                            con.execute(f"DESCRIBE {name}").fetchall())
        # As Python values, owned by this process (not buffers of the connection, which closes).
        _HELD[digest] = (columns, con.execute(f"SELECT * FROM {name}").fetchall())
        return name
    columns, rows = held
    con.execute(f"CREATE TEMP TABLE {name} ({columns})")
    if rows:
        con.executemany(f"INSERT INTO {name} VALUES ({', '.join('?' * len(rows[0]))})", rows)
    return name


def one_ticket_rules(policy: PolicyConfig, subject: str, description: str, affected: int = 1,
                     declared: bool = False) -> tuple[float, list[str], list[str]]:
    """(confidence, dampeners, rules_met) of the emergency rules' reading of one ticket."""
    con = duckdb.connect()
    con.execute("CREATE TEMP TABLE clf_tickets AS SELECT 't1' AS ticket_id, ? AS subject, ? AS description,"
                " 'Other' AS category, ? AS declared_emergency, ? AS affected_users",
                [subject, description, declared, affected])
    sql = f"SELECT confidence, dampeners, rules_met FROM ({emergency_rules_sql(policy)})"
    return con.execute(sql).fetchone()
