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
emergency rules of a single ticket, for the tests of one rule or dampener: from one statement over
all of a module's such tickets when the module read them ahead (`read_ahead`), else alone.
"""

import hashlib
from collections.abc import Callable

import duckdb
import pytest

from logic.emergency import emergency_rules_sql
from logic.message import CLF_TEXTS, READ_TEXTS, changed_messages_sql
from logic.text_match import TICKET_TEXT
from policy.config import PolicyConfig, default_policy

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


def held(con: duckdb.DuckDBPyConnection, sql: str) -> bool:
    """Whether `create_shared` would read `sql`'s rows on the inputs of `con` back (held)."""
    return _digest(con, sql) in _HELD


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


def shared_messages(con: duckdb.DuckDBPyConnection) -> None:
    """`write_messages(con, None)` (the texts' messages, READ_TEXTS, whichever policy reads them),
    from the rows the same statement gave on the same clf_tickets earlier in this process: its
    statement costs 0.07 s of CPU however few the tickets, and the tests classify the same tickets
    again under other policies."""
    create_shared(con, READ_TEXTS, changed_messages_sql(CLF_TEXTS))


# A one-ticket case: (subject, description, affected users, declared an emergency).
Case = tuple[str, str, int, bool]
# (digest of DuckDB's version and the rules' statement, case) -> (confidence, dampeners, rules_met):
# per process, for the session.
_READ: dict[tuple[str, Case], tuple[float, list[str], list[str]]] = {}
# One ticket's row of clf_tickets, as one_ticket_rules has always written it (the same column types
# in the statement over many tickets: the first row's CREATE sets them, the others are inserted).
_ONE_TICKET = ("SELECT ? AS ticket_id, ? AS subject, ? AS description, 'Other' AS category,"
               " ? AS declared_emergency, ? AS affected_users")


def _statement(sql: str) -> str:
    return hashlib.sha256(f"{duckdb.__version__}\n{sql}".encode()).hexdigest()


def _one_ticket_table(con: duckdb.DuckDBPyConnection, cases: list[Case]) -> None:
    """clf_tickets holding `cases`, ticket i as 't<i+1>'."""
    for i, (subject, description, affected, declared) in enumerate(cases):
        verb = "CREATE TEMP TABLE clf_tickets AS " if i == 0 else "INSERT INTO clf_tickets "
        con.execute(verb + _ONE_TICKET, [f"t{i + 1}", subject, description, declared, affected])
    shared_messages(con)


def read_ahead(policy: PolicyConfig, cases: list[Case]) -> None:
    """Read the emergency rules of many one-ticket cases in one statement, for `one_ticket_rules`
    to give back: the statement costs about the same for one ticket or fifty (0.4-1 s of CPU),
    and the rules read each ticket on its own (its row depends on its fields alone)."""
    sql = emergency_rules_sql(policy)
    statement = _statement(sql)
    todo = sorted({case for case in cases if (statement, case) not in _READ})
    if not todo:
        return
    con = duckdb.connect()
    _one_ticket_table(con, todo)
    rows = con.execute(f"SELECT ticket_id, confidence, dampeners, rules_met FROM ({sql})").fetchall()
    # One row a ticket, or nothing is kept (each test then reads its ticket alone, as before).
    if sorted(row[0] for row in rows) == sorted(f"t{i + 1}" for i in range(len(todo))):
        for ticket_id, *reading in rows:
            _READ[(statement, todo[int(ticket_id[1:]) - 1])] = tuple(reading)


def read_ahead_fixture(cases: list[Case], autouse: bool = True) -> Callable:
    """A module-scoped fixture `rules_read_ahead`: every one-ticket case the module reads, in one
    statement under the shipped policy (`read_ahead`); each test still asserts on its own ticket's
    row, and a ticket left out is read alone. Autouse unless the module's tests ask for it."""
    cases = list(cases)

    @pytest.fixture(scope="module", autouse=autouse, name="rules_read_ahead")
    def _rules_read_ahead() -> None:
        """The module's one-ticket cases read through the rules in one statement
        (tests/rule_matches.py's `read_ahead_fixture`)."""
        read_ahead(default_policy(), cases)

    return _rules_read_ahead


def one_ticket_rules(policy: PolicyConfig, subject: str, description: str, affected: int = 1,
                     declared: bool = False) -> tuple[float, list[str], list[str]]:
    """(confidence, dampeners, rules_met) of the emergency rules' reading of one ticket: read ahead
    with the module's other cases under the same statement, else alone."""
    sql = emergency_rules_sql(policy)
    case = (subject, description, affected, declared)
    held = _READ.get((_statement(sql), case))
    if held is not None:
        return held[0], list(held[1]), list(held[2])  # lists of the test's own
    return read_alone(policy, case)


def shipped_reading(subject: str, description: str, affected: int = 1,
                    declared: bool = False) -> tuple[bool, float, list[str], list[str]]:
    """(called, confidence, dampeners, rules_met) of one ticket under the shipped policy's rules:
    called when the confidence reaches the policy's emergency bar."""
    policy = default_policy()
    confidence, dampeners, rules = one_ticket_rules(policy, subject, description, affected, declared)
    return confidence >= policy.emergency.min_confidence, confidence, dampeners, rules


def read_alone(policy: PolicyConfig, case: Case) -> tuple[float, list[str], list[str]]:
    """(confidence, dampeners, rules_met) of one case read in a statement of its own, never held."""
    con = duckdb.connect()
    _one_ticket_table(con, [case])
    sql = emergency_rules_sql(policy)
    return con.execute(f"SELECT confidence, dampeners, rules_met FROM ({sql})").fetchone()


# One test's input tables: a function writing clf_tickets (and clf_time, if any) on a connection.
Inputs = Callable[[duckdb.DuckDBPyConnection], None]
# A separator no ticket id of the tests holds: a combined statement's ticket ids are
# "<input set>\x1f<its own id>", split back into each set's rows.
_SEP = "\x1f"


def _definition(described: list[tuple]) -> str:
    """A table's column definitions from its DESCRIBE rows."""
    return ", ".join(f'"{column}" {kind}' for column, kind, *_ in described)


def hold_ahead(sql: str, inputs: list[Inputs]) -> None:
    """Run the rules' statement `sql` (over clf_tickets and the texts' messages) once over every
    input set's tickets together and hold each set's rows as `create_shared` would have held them
    run alone: under the digest of that set's own inputs, with its own ticket ids and the columns'
    types. For the tests that read one ticket's whole rules relation under several policies whose
    rules are the same (tests/test_emergency_model.py's `_reading`): the statement costs about the
    same for one ticket or twenty. Both the rules and the messages are read per ticket (a ticket's
    row depends on its own fields); where that cannot be checked (a ticket id in another column, a
    set with time entries, sets of other column types) nothing is held, and each test runs its
    statement alone as before."""
    keys: list[tuple[str, str, list[str]]] = []  # (rules digest, messages digest, ticket ids)
    described = None
    union = duckdb.connect()
    for i, write in enumerate(inputs):
        con = duckdb.connect()
        write(con)
        if con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'clf_time'").fetchone()[0]:
            return
        kinds = con.execute("DESCRIBE clf_tickets").fetchall()
        if described is None:
            described = kinds
            union.execute(f"CREATE TEMP TABLE clf_tickets ({_definition(kinds)})")
        elif kinds != described:
            return
        ids = [tid for (tid,) in con.execute("SELECT ticket_id FROM clf_tickets").fetchall()]
        if any(_SEP in tid for tid in ids):
            return
        keys.append((_digest(con, sql), _digest(con, changed_messages_sql(CLF_TEXTS)), ids))
        tickets = con.execute(f"SELECT * REPLACE ('{i}{_SEP}' || ticket_id AS ticket_id)"
                              " FROM clf_tickets").fetchall()
        union.executemany(f"INSERT INTO clf_tickets VALUES ({', '.join('?' * len(kinds))})", tickets)
        con.close()
    todo = [k for k in keys if k[0] not in _HELD]
    if not todo:
        return
    union.execute(f"CREATE TEMP TABLE {READ_TEXTS} AS {changed_messages_sql(CLF_TEXTS)}")
    union.execute(f"CREATE TEMP TABLE held AS {sql}")
    columns = union.execute("DESCRIBE held").fetchall()
    names = [c for c, *_ in columns]
    if names[0] != "ticket_id":
        return
    rows = union.execute("SELECT * FROM held").fetchall()
    if any(isinstance(v, str) and _SEP in v for row in rows for v in row[1:]):
        return
    definition = _definition(columns)
    texts = dict(union.execute(f"SELECT ticket_id, {TICKET_TEXT} FROM clf_tickets").fetchall())
    messages = union.execute(f"SELECT * FROM {READ_TEXTS}").fetchall()
    message_columns = _definition(union.execute(f"DESCRIBE {READ_TEXTS}").fetchall())
    for i, (rules_key, messages_key, ids) in enumerate(keys):
        prefix = f"{i}{_SEP}"
        own = [(tid[len(prefix):], *rest) for tid, *rest in rows if tid.startswith(prefix)]
        if sorted(tid for tid, *_ in own) != sorted(ids):
            continue
        _HELD.setdefault(rules_key, (definition, own))
        own_texts = {texts[f"{prefix}{tid}"] for tid in ids}
        _HELD.setdefault(messages_key, (message_columns, [m for m in messages if m[0] in own_texts]))
