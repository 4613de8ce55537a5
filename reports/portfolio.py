"""Read-only queries for the leadership dashboard: every client's figures by month.

None of them selects a requester: the dashboard shows no requester identities.
"""

import duckdb
import pandas as pd


def months(con: duckdb.DuckDBPyConnection, month: str, span: int = 24) -> list[str]:
    """Months with client rows, up to `month`, the latest `span` of them (YYYY-MM-01)."""
    rows = con.execute(
        """SELECT DISTINCT month FROM marts.client_month
           WHERE month <= CAST(? AS DATE) ORDER BY month DESC LIMIT ?""",
        [month, span],
    ).fetchall()
    return sorted(r[0].isoformat() for r in rows)


def client_months(con: duckdb.DuckDBPyConnection, months: list[str]) -> pd.DataFrame:
    """Every client's figures for the given months."""
    return con.execute(
        """SELECT strftime(month, '%Y-%m') AS m, client_id AS c, client_name AS name, plan,
                  tickets, standard_units AS units, seats, units_per_seat AS ups,
                  fair_use_limit_per_seat AS lim, fair_use_ratio AS ratio, fair_use_status AS status,
                  rolling_units_per_seat / fair_use_limit_per_seat AS rratio,
                  coalesce(sla_tickets, 0) AS sla_n, coalesce(sla_met, 0) AS sla_met,
                  coalesce(emergencies_declared, 0) AS em_declared,
                  coalesce(emergencies_confirmed, 0) AS em_confirmed,
                  CAST(round(coalesce(emergencies_declared * emergency_declaration_precision, 0))
                       AS INTEGER) AS em_declared_confirmed,
                  coalesce(out_of_scope_tickets, 0) AS oos_n,
                  coalesce(out_of_scope_amount, 0) AS oos_amount,
                  coalesce(o.approved, 0) AS oos_approved, coalesce(o.pending, 0) AS oos_pending,
                  coalesce(o.pending_n, 0) AS oos_pending_n, coalesce(r.rejected_n, 0) AS oos_rejected_n,
                  k.currency AS cur
           FROM marts.client_month cm
           LEFT JOIN (SELECT month, client_id,
                             sum(amount) FILTER (WHERE review_status = 'approved') AS approved,
                             sum(amount) FILTER (WHERE review_status <> 'approved') AS pending,
                             count(*) FILTER (WHERE review_status <> 'approved') AS pending_n
                      FROM marts.out_of_scope GROUP BY ALL) o USING (month, client_id)
           LEFT JOIN (SELECT month, client_id, count(DISTINCT ticket_id) AS rejected_n
                      FROM marts.scope_hits
                      WHERE review_status = 'rejected' AND NOT included_in_contract
                      GROUP BY ALL) r USING (month, client_id)
           -- the currency of the client's contract in force at the end of the month
           LEFT JOIN (SELECT m.month, c.client_id, arg_max(c.currency, c.valid_from) AS currency
                      FROM staging.clients c
                      JOIN (SELECT DISTINCT month FROM marts.client_month) m
                        ON c.valid_from < m.month + INTERVAL 1 MONTH
                      GROUP BY ALL) k USING (month, client_id)
           WHERE list_contains(CAST(? AS DATE[]), month)
           ORDER BY month, client_name, client_id""",
        [months],
    ).df()


def sla(con: duckdb.DuckDBPyConnection, months: list[str]) -> pd.DataFrame:
    """Response-time tickets and met counts per month, client and target priority."""
    return con.execute(
        """SELECT strftime(month, '%Y-%m') AS m, client_id AS c, priority AS p,
                  sla_tickets AS n, sla_met AS met
           FROM marts.client_month_sla
           WHERE list_contains(CAST(? AS DATE[]), month) AND sla_tickets > 0
           ORDER BY month, client_id, priority""",
        [months],
    ).df()


def out_of_scope(con: duckdb.DuckDBPyConnection, months: list[str]) -> pd.DataFrame:
    """Out-of-scope amounts per month, client, primary scope category and review state
    (approved, or pending: not yet reviewed)."""
    return con.execute(
        """SELECT strftime(month, '%Y-%m') AS m, client_id AS c, primary_category AS cat,
                  CASE WHEN review_status = 'approved' THEN 'approved' ELSE 'pending' END AS state,
                  currency AS cur,
                  count(*) AS n, sum(billable_hours) AS hours, sum(amount) AS amount
           FROM marts.out_of_scope WHERE list_contains(CAST(? AS DATE[]), month)
           GROUP BY ALL ORDER BY m, c, cat, state, cur""",
        [months],
    ).df()


def quarantine(con: duckdb.DuckDBPyConnection, months: list[str]) -> pd.DataFrame:
    """Quarantined rows per month (NULL for unpartitioned entities), client, stage and reason."""
    return con.execute(
        """SELECT strftime(partition_month, '%Y-%m') AS m, client_id AS c, stage, entity,
                  reason_code AS reason, count(*) AS rows
           FROM quality.quarantine
           WHERE partition_month IS NULL OR list_contains(CAST(? AS DATE[]), partition_month)
           GROUP BY ALL ORDER BY m NULLS FIRST, c NULLS FIRST, stage, entity, reason""",
        [months],
    ).df()
