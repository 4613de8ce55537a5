"""The code location the UI loads: every asset grouped, described and in data-flow order."""

import dagster as dg


def test_definitions_load_and_describe_every_asset(defs):
    dg.Definitions.validate_loadable(defs)
    specs = {spec.key.to_user_string(): spec for spec in defs.resolve_all_asset_specs()}
    assert set(specs) >= {
        "landing_files", "raw_clients", "raw_tickets", "raw_ticket_events", "raw_time_entries",
        "raw_review_decisions", "staging_clients", "staging_tickets", "staging_ticket_events",
        "staging_time_entries", "ticket_facts", "client_month", "client_month_drivers",
        "monthly_reports",
    }
    for key, spec in specs.items():
        assert spec.description, key
        assert spec.group_name in {"api", "raw", "staging", "marts", "quality", "reports"}, key
        assert "duckdb" in spec.kinds, key


def test_data_flow_order(defs):
    graph = defs.resolve_asset_graph()

    def upstream(name: str) -> set[str]:
        return {k.to_user_string() for k in graph.get(dg.AssetKey(name)).parent_keys}

    assert upstream("raw_tickets") == {"landing_files", "raw_clients"}
    assert "raw_tickets" in upstream("staging_tickets")
    assert "staging_tickets" in upstream("ticket_facts")
    assert "ticket_facts" in upstream("client_month")
    assert {"client_month", "client_month_drivers"} <= upstream("monthly_reports")


def test_jobs_and_blocking_checks(defs):
    assert defs.resolve_job_def("ingest_job") is not None
    assert defs.resolve_job_def("monthly_job").partitions_def is not None
    checks = {key.name: key for key in defs.resolve_asset_graph().asset_check_keys}
    assert {"staging_tickets_reconcile", "client_month_invariants",
            "ticket_facts_ids", "raw_tickets_rows_unique"} <= set(checks)
