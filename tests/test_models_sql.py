"""The SQL models (models/<layer>/<name>.sql): each file parses as one SELECT and binds against an
empty warehouse, so a syntax error or a misspelt column fails here, before any pipeline run."""

from datetime import UTC, date, datetime

import duckdb
import pytest

from assets.classification import classify_scope
from logic.business_time import Calendar, build_open_intervals
from logic.sla import build_ticket_response
from orchestration.monthly import RunInputs
from policy.config import default_policy
from policy.sql import register_policy
from warehouse.models import MODELS_DIR, model_names, model_sql
from warehouse.schema import ensure_warehouse

# A value of the right type for every parameter a model reads (a new parameter must be added here).
SAMPLE_PARAMS = {
    "month": "2026-01-01", "as_of": datetime(2026, 2, 1, tzinfo=UTC), "pattern": r"\b(outage)\b",
    "gap": 30, "min_requesters": 2, "link_by_parent": True, "policy_version": "test",
    "default_rate": 100.0, "after_hours_rate": 150.0, "currency": "USD", "rolling": 3,
    "watch_ratio": 0.8, "top": 5, "provider_review": True,
}

MODELS = model_names()


def test_the_monthly_marts_are_models():
    assert {"marts/ticket_facts", "marts/out_of_scope", "marts/client_month",
            "marts/client_month_drivers", "marts/client_month_sla", "marts/scope_hits"} <= set(MODELS)


@pytest.fixture(scope="module")
def empty_warehouse():
    """A warehouse with every table and no rows, and the temp tables the models read."""
    con = duckdb.connect()
    ensure_warehouse(con)
    # The calendars' coverage rows are written by business_calendars.
    build_open_intervals(con, [Calendar.always_open("24x7")], date(2026, 1, 1), date(2026, 1, 2))
    con.execute("INSERT INTO staging.calendar_intervals_coverage BY NAME"
                " SELECT * FROM open_intervals_coverage")
    policy = default_policy()
    register_policy(con, policy)
    build_ticket_response(con, policy, SAMPLE_PARAMS["month"], SAMPLE_PARAMS["as_of"])
    classify_scope(con, SAMPLE_PARAMS["month"], RunInputs(policy, SAMPLE_PARAMS["as_of"]))
    yield con
    con.close()


@pytest.mark.parametrize("name", MODELS)
def test_model_parses_as_one_select(name):
    statements = duckdb.connect().extract_statements(model_sql(name))
    assert [s.type for s in statements] == [duckdb.StatementType.SELECT], name


@pytest.mark.parametrize("name", MODELS)
def test_model_binds_and_fits_its_table(empty_warehouse, name):
    """Every table and column the model names exists, and every column it yields is one of its
    table's (the asset inserts BY NAME into `<layer>.<name>`)."""
    sql = model_sql(name)
    parameters = empty_warehouse.extract_statements(sql)[0].named_parameters
    assert parameters <= SAMPLE_PARAMS.keys(), f"{name}: no sample for {parameters - SAMPLE_PARAMS.keys()}"
    produced = [row[0] for row in empty_warehouse.execute(
        f"DESCRIBE {sql}", {p: SAMPLE_PARAMS[p] for p in parameters}).fetchall()]
    schema, table = name.split("/")
    columns = {row[0] for row in empty_warehouse.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
        [schema, table]).fetchall()}
    assert columns, f"{name}: no table {schema}.{table}"
    assert not set(produced) - columns, f"{name}: columns not in {schema}.{table}: {set(produced) - columns}"


def test_a_syntax_error_is_caught_by_the_parser():
    with pytest.raises(duckdb.ParserException):
        duckdb.connect().extract_statements("SELEC client_id FROM marts.client_month")


def test_a_missing_model_names_its_file():
    with pytest.raises(FileNotFoundError, match=str(MODELS_DIR / "marts" / "nope.sql")):
        model_sql("marts/nope")
