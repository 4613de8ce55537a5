"""The report's queries give the same text on every build (no order left to DuckDB's threads)."""

import duckdb

from reports import queries


def test_a_grouped_units_rules_are_listed_in_one_order():
    # string_agg(DISTINCT ...) joins in whatever order its hash table meets the values: two builds
    # of the same warehouse listed one unit's rules in two orders (helper p9's table digests).
    con = duckdb.connect()
    con.execute("CREATE SCHEMA marts")
    con.execute("""CREATE TABLE marts.ticket_facts AS
        SELECT 'u1' AS unit_id, 't' || lpad(i::VARCHAR, 2, '0') AS ticket_id,
               'requester ' || (i % 3) AS requester,
               TIMESTAMP '2026-03-02 09:00' + to_minutes(i) AS created_at, 'Printer' AS subject,
               'rule_' || lpad((19 - i % 20)::VARCHAR, 2, '0') AS unit_rule,
               'c1' AS client_id, '2026-03' AS month, true AS is_standard
        FROM range(40) r(i)""")
    units = queries.grouped_units(con, "c1", "2026-03")
    assert len(units) == 1 and units.loc[0, "tickets"] == 40 and units.loc[0, "requesters"] == 3
    assert units.loc[0, "ticket_ids"] == ", ".join(f"t{i:02d}" for i in range(40))
    assert units.loc[0, "rules"] == ", ".join(f"rule_{i:02d}" for i in range(20))
