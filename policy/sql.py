"""The policy's lookup tables as temp tables, for the SQL of every stage."""

import duckdb

from policy.config import PolicyConfig


def register_policy(con: duckdb.DuckDBPyConnection, policy: PolicyConfig) -> None:
    """Expose the policy's lookup tables to this connection's SQL as temp tables."""
    con.execute("CREATE OR REPLACE TEMP TABLE policy_priority (value VARCHAR, priority VARCHAR)")
    con.executemany("INSERT INTO policy_priority VALUES (?, ?)", policy.priority_lookup())
    con.execute(
        "CREATE OR REPLACE TEMP TABLE policy_plan (plan VARCHAR, plan_name VARCHAR, limit_per_seat DOUBLE)"
    )
    con.executemany("INSERT INTO policy_plan VALUES (?, ?, ?)", policy.plan_limits())
    con.execute("CREATE OR REPLACE TEMP TABLE policy_currency AS SELECT ? AS currency",
                [policy.currency])
    con.execute("CREATE OR REPLACE TEMP TABLE policy_rate (scope_id VARCHAR, rate DOUBLE)")
    con.executemany("INSERT INTO policy_rate VALUES (?, ?)",
                    list(policy.rate_card.by_scope_exclusion.items()))
    con.execute("CREATE OR REPLACE TEMP TABLE policy_target (priority VARCHAR, minutes DOUBLE)")
    con.executemany("INSERT INTO policy_target VALUES (?, ?)",
                    list(policy.response_targets_minutes.items()))
