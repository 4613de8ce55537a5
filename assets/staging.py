"""Staging assets: typed, normalised, latest version per record; bad rows to quarantine with a reason.

The SQL and the rules are in staging_sql/; here are the assets, their months and their checks.
"""

import contextlib
from collections.abc import Callable

import dagster as dg
import duckdb
import holidays
from dagster_duckdb import DuckDBResource
from duckdb import DuckDBPyConnection, TransactionException

from assets.raw import raw_clients, raw_review_decisions, raw_ticket_events, raw_tickets, raw_time_entries
from orchestration.partitions import (
    MonthResult,
    check_each_month,
    for_each_month,
    for_the_range,
    month_span,
    monthly_partitions,
    run_metadata,
    single_run,
)
from orchestration.resources import PipelineSettings
from orchestration.sql_checks import sql_check
from policy import hours as policy_hours
from policy import sql as policy_sql
from staging_sql import clients as clients_sql
from staging_sql import rules as rules_sql
from staging_sql.children import judge_children, stage_events, stage_time_entries
from staging_sql.clients import stage_clients
from staging_sql.decisions import stage_review_decisions
from staging_sql.rules import child_rules, ticket_rules
from staging_sql.tickets import delete_stale_copies, latest_partitions, stage_ticket_month
from warehouse import digests, writes
from warehouse.reconcile import CHILD_ENTITIES, file_reconciliation_sql, recorded_files
from warehouse.schema import ensure_warehouse, prepare_session


@dg.asset(group_name="staging", kinds={"duckdb"}, deps=[raw_clients])
def staging_clients(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource, settings: PipelineSettings
) -> dg.MaterializeResult:
    """Typed, effective-dated client contracts: one row per client and valid_from.

    Re-staged only when the delivered contract rows, the policy or the staging code changed
    (`warehouse.digests`); otherwise the step reports the contracts it staged before.
    """
    policy = settings.policy()
    with duckdb.get_connection() as con:
        ensure_warehouse(con)
        inputs = digests.digest(
            digests.tables_digest(con, "SELECT * FROM raw.clients"), policy.model_dump_json(),
            holidays.__version__, digests.code_digest(*_CLIENT_CODE))
        restaged = not digests.unchanged(con, "staging_clients", inputs, lambda: _clients_out(con))
        if restaged:
            rows, clients, quarantined = stage_clients(con, policy)
            digests.remember(con, "staging_clients", inputs, _clients_out(con))
        else:
            rows, clients, quarantined = con.execute(
                "SELECT (SELECT count(*) FROM staging.clients),"
                " (SELECT count(DISTINCT client_id) FROM staging.clients),"
                " (SELECT count(*) FROM quality.quarantine WHERE stage = 'staging_clients')"
            ).fetchall()[0]
    context.log.info(f"staging.clients: {rows} contract row(s) of {clients} client(s),"
                     f" {quarantined} quarantined"
                     f"{'' if restaged else ' (unchanged since the last run: not re-staged)'}")
    return dg.MaterializeResult(metadata={
        "row_count": rows, "clients": clients, "quarantined": quarantined, "restaged": restaged})


# What staging.clients is made by: a change to any of it re-stages the contracts.
_CLIENT_CODE = (clients_sql, rules_sql, writes, policy_sql, policy_hours)


def _clients_out(con: DuckDBPyConnection) -> str:
    """What staging_clients wrote: the contracts and their quarantined rows."""
    return digests.tables_digest(
        con, "SELECT * FROM staging.clients",
        "SELECT * FROM quality.quarantine WHERE stage = 'staging_clients'")


@dg.asset(
    group_name="staging",
    kinds={"duckdb"},
    partitions_def=monthly_partitions,
    backfill_policy=single_run,
    # After the review decisions' ingest step: this step judges them again (see below), and two
    # steps writing staging.review_decisions at once would conflict.
    deps=[raw_tickets, staging_clients, dg.AssetKey("staging_review_decisions")],
)
def staging_tickets(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource, settings: PipelineSettings
) -> dg.MaterializeResult:
    """Typed tickets, priorities normalised, the latest delivered version of each ticket."""
    policy = settings.policy()
    rules = ticket_rules()
    failed: dict[str, Exception] = {}

    def stage_or_roll_back(con: DuckDBPyConnection, month: str, latest: str) -> MonthResult:
        """The month staged, or rolled back (its error is raised once the other months are done)."""
        try:
            return stage_ticket_month(con, month, policy, rules, latest)
        except Exception as exc:
            with contextlib.suppress(TransactionException):  # failed outside the transaction
                con.execute("ROLLBACK")
            exc.add_note(f"while computing month {month[:7]}")
            failed[month] = exc
            return MonthResult(summary=f"staging.tickets {month[:7]}: failed, rolled back ({exc})")

    # Months side by side: each stages only the tickets whose latest version is its own, so no
    # two months of the run stage the same ticket (one whose latest version is quarantined is
    # staged in none). Copies staged under another month by an earlier delivery are then deleted
    # for the months that committed, all at once (a month deleting them itself could conflict
    # with the month that holds them), also when another month failed: a committed month's
    # ticket must not count twice until that month is run again.
    with duckdb.get_connection() as con:
        ensure_warehouse(con)
        # Where tickets delivered under several months were delivered last: once for the run.
        with latest_partitions(con, list(context.partition_keys)) as latest:
            outcomes = for_each_month(
                context, duckdb, lambda con, month: stage_or_roll_back(con, month, latest))
    results = {month: result for month, result in outcomes.items() if month not in failed}
    stale, stale_months = delete_stale_copies(duckdb, sorted(results)) if results else (0, [])
    # Whether a review decision's ticket exists, and its client, is known now that the
    # months' tickets are loaded (on a first run the ingest step saw none).
    with duckdb.get_connection() as con:
        prepare_session(con)
        stage_review_decisions(con)
    if failed:
        raise failed[min(failed)]
    context.log.info(f"staging.tickets: {stale} stale row(s) of moved tickets deleted in other months")
    named = ", ".join(m[:7] for m in stale_months)
    if stale_months:
        context.log.warning(
            f"staging.tickets: tickets moved here were counted under {named}; those months'"
            " marts and reports are stale until they are run again (python -m pipelines.run"
            " does; see quality.stale_months)")
    return dg.MaterializeResult(metadata=run_metadata(
        results, stale_rows_deleted=stale, stale_months=named or "none"))


@sql_check(staging_tickets)
def staging_tickets_reconcile(
    context: dg.AssetCheckExecutionContext, duckdb: DuckDBResource
) -> dg.AssetCheckResult:
    """Every raw row of the month is staged, superseded, moved to another month, or quarantined."""
    return check_each_month(context, duckdb, _tickets_reconcile_month)


def _tickets_reconcile_month(con: DuckDBPyConnection, month: str) -> dg.AssetCheckResult:
    """staging_tickets_reconcile for one month; a failure names a raw row found nowhere."""
    raw_rows, staged, superseded, quarantined, moved = con.execute(
        """SELECT (SELECT count(*) FROM raw.tickets WHERE _partition_month = $m),
                  (SELECT count(*) FROM staging.tickets WHERE month = $m),
                  (SELECT coalesce(sum(versions_delivered - 1), 0) FROM staging.tickets
                   WHERE month = $m),
                  (SELECT count(*) FROM quality.quarantine
                   WHERE stage = 'staging_tickets' AND partition_month = $m),
                  (SELECT coalesce(sum(raw_rows), 0) FROM quality.moved_tickets WHERE month = $m)""",
        {"m": month},
    ).fetchone()
    passed = raw_rows == staged + superseded + quarantined + moved
    description = None
    if not passed:
        # Name a raw row that is nowhere: neither its ticket staged here or moved, nor the
        # row quarantined (looked up only when the check fails).
        lost = con.execute(
            """SELECT r._source_file, r._source_row, r.ticket_id FROM raw.tickets r
               WHERE r._partition_month = $m
                 AND trim(r.ticket_id) NOT IN (SELECT ticket_id FROM staging.tickets
                                               WHERE month = $m)
                 AND trim(r.ticket_id) NOT IN (SELECT ticket_id FROM quality.moved_tickets
                                               WHERE month = $m)
                 AND (r._source_file, r._source_row) NOT IN (
                     SELECT (source_file, source_row) FROM quality.quarantine
                     WHERE stage = 'staging_tickets' AND partition_month = $m)
               ORDER BY 1, 2 LIMIT 1""",
            {"m": month},
        ).fetchone()
        description = (f"{raw_rows} raw row(s) but {staged} staged + {int(superseded)}"
                       f" superseded + {quarantined} quarantined + {int(moved)} moved"
                       + (f"; e.g. {lost[0]}: row {lost[1]} (ticket {lost[2]}) is in none"
                          if lost else ""))
    return dg.AssetCheckResult(
        passed=passed, description=description,
        metadata={"raw_rows": raw_rows, "staged": staged, "superseded": int(superseded),
                  "quarantined": quarantined, "moved_to_other_month": int(moved)},
    )


def _staging_child(
    entity: str,
    description: str,
    deps: list[dg.AssetsDefinition | dg.AssetKey],
    stage_months: Callable[[DuckDBPyConnection, list[str], list[tuple[str, str, str, str]]],
                           dict[str, MonthResult]],
) -> dg.AssetsDefinition:
    """The monthly asset `staging_<entity>` of a ticket's child rows, staged by `stage_months`."""

    @dg.asset(name=f"staging_{entity}", description=description, group_name="staging",
              kinds={"duckdb"}, partitions_def=monthly_partitions, backfill_policy=single_run,
              deps=deps)
    def _staging(
        context: dg.AssetExecutionContext, duckdb: DuckDBResource, settings: PipelineSettings
    ) -> dg.MaterializeResult:
        rules = child_rules(entity, settings.policy())
        # The run's months in one pass (a month may take over quarantine rows judged in another
        # month, so they are not staged side by side): first which month judges each raw row,
        # then every statement over all the months at once.
        def stage(con: DuckDBPyConnection, months: list[str]) -> dict[str, MonthResult]:
            judge_children(entity)(con, months)
            return stage_months(con, months, rules)

        return dg.MaterializeResult(metadata=run_metadata(for_the_range(context, duckdb, stage)))

    return _staging


staging_ticket_events = _staging_child(
    "ticket_events",
    "Typed events of the month's tickets, one row per event id (latest delivery wins).",
    [staging_tickets, raw_ticket_events],
    stage_events,
)
staging_time_entries = _staging_child(
    "time_entries",
    "Typed time entries of the month's tickets, each marked when it started outside hours.",
    # By key: assets.calendars builds on staging_clients from this module.
    [staging_tickets, raw_time_entries, dg.AssetKey("business_calendars")],
    stage_time_entries,
)


@dg.asset(group_name="staging", kinds={"duckdb"}, deps=[raw_review_decisions])
def staging_review_decisions(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    """Human review decisions, parsed; the latest per ticket and question is the one in force."""
    with duckdb.get_connection() as con:
        ensure_warehouse(con)
        rows, current, quarantined = stage_review_decisions(con)
    context.log.info(f"staging.review_decisions: {rows} decision(s), {current} in force,"
                     f" {quarantined} quarantined")
    return dg.MaterializeResult(
        metadata={"row_count": rows, "decisions_in_force": current, "quarantined": quarantined}
    )


def _files_reconcile(
    con: duckdb.DuckDBPyConnection, entity: str, months: list[str] | None = None
) -> dg.AssetCheckResult:
    """Every delivered file of `entity`: delivered = accepted + quarantined + superseded (+ pending).

    With `months` (a partitioned check), the files holding rows judged in those months, each
    whole, when most staged months are other months: a month's check should not cost a pass
    over every year delivered before it. Otherwise every file, the cheaper way (a superset).
    For events and time entries those files are the ones staging recorded judging in those
    months (quality.judged_files), when it recorded every one of them.
    """
    scope = None
    if months:
        first, last = min(months), max(months)
        inside, outside = con.execute(
            "SELECT count(*) FILTER (WHERE partition_month BETWEEN $first AND $last),"
            " count(*) FILTER (WHERE partition_month NOT BETWEEN $first AND $last)"
            " FROM quality.stage_runs WHERE stage = $stage",
            {"first": first, "last": last, "stage": f"staging_{entity}"},
        ).fetchone()
        scope = (first, last) if outside > inside else None
    # A child's files per month as staging recorded them, when every month judged is recorded
    # (a month judged before the record existed is not): no pass over every raw row.
    files = recorded_files(con, (entity,), scope) if scope and entity in CHILD_ENTITIES else None
    rows = con.execute(
        "SELECT path, status, delivered, accepted, quarantined, superseded, pending, unaccounted"
        f" FROM ({file_reconciliation_sql((entity,), scope, files=files)}) ORDER BY path"
    ).fetchall()
    broken = {r[0]: dict(zip(("status", "delivered", "accepted", "quarantined", "superseded",
                               "pending", "unaccounted"), r[1:], strict=True))
              for r in rows if r[7] != 0}
    totals = {name: int(sum(r[i] for r in rows)) for i, name in
              enumerate(("delivered", "accepted", "quarantined", "superseded", "pending"), start=2)}
    description = None
    if broken:
        description = "; ".join(
            f"{path}: {v['delivered']} delivered but {v['accepted']} accepted + {v['quarantined']}"
            f" quarantined + {v['superseded']} superseded + {v['pending']} pending"
            for path, v in list(broken.items())[:5]
        )
    return dg.AssetCheckResult(
        passed=not broken,
        description=description,
        metadata={
            "files": len(rows),
            "files_of": "every delivered file" if scope is None
            else f"files staging judged in {month_span(*scope)}" if files is not None
            else f"files with rows judged in {month_span(*scope)}",
            "files_pending": sum(1 for r in rows if r[6]),
            "files_not_reconciling": dg.MetadataValue.json(broken),
            **totals,
        },
    )


def _files_reconcile_check(asset: dg.AssetsDefinition, entity: str, description: str) -> None:
    """The blocking check `<entity>_files_reconcile` of `asset` (a monthly asset's checks its months)."""
    partitioned = asset.partitions_def is not None

    @sql_check(asset, name=f"{entity}_files_reconcile", description=description)
    def _check(context: dg.AssetCheckExecutionContext, duckdb: DuckDBResource) -> dg.AssetCheckResult:
        with duckdb.get_connection() as con:
            return _files_reconcile(con, entity, context.partition_keys if partitioned else None)


_files_reconcile_check(
    staging_clients, "clients",
    "Every clients file reconciles: delivered = accepted + quarantined + superseded.")
_files_reconcile_check(
    staging_review_decisions, "review_decisions",
    "Every review decisions file reconciles: delivered = accepted + quarantined.")
_files_reconcile_check(
    staging_tickets, "tickets",
    "Every tickets file reconciles, counting rows of months not staged yet as pending.")
_files_reconcile_check(
    staging_ticket_events, "ticket_events",
    "Every ticket events file reconciles, counting rows of months not staged yet as pending.")
_files_reconcile_check(
    staging_time_entries, "time_entries",
    "Every time entries file reconciles, counting rows of months not staged yet as pending.")
