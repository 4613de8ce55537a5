"""One contract per table (warehouse.contract for delivered files, warehouse.schema.TABLES for the
warehouse): the DDL, the docs and the files the demo writes all follow it."""

import csv
from pathlib import Path

import duckdb

from demo.generate import generate
from scripts.contract_doc import DOC, rendered
from warehouse.contract import CANONICAL, DELIVERED, REQUIRED
from warehouse.schema import TABLES

# Tables of a built warehouse that have no contract, and why.
NOT_CONTRACTED = {
    "quality.schema_version": "the fingerprint of the schema itself (warehouse.schema)",
}

_COLUMNS = """
    SELECT c.schema_name || '.' || c.table_name, c.column_name, c.data_type, c.is_nullable
    FROM duckdb_columns() c JOIN duckdb_tables() t
      ON t.database_name = c.database_name AND t.schema_name = c.schema_name
     AND t.table_name = c.table_name
    WHERE c.database_name = current_database()
    ORDER BY c.schema_name, c.table_name, c.column_index"""
_KEYS = """
    SELECT schema_name || '.' || table_name, constraint_type, constraint_column_names
    FROM duckdb_constraints() WHERE database_name = current_database()
      AND constraint_type IN ('PRIMARY KEY', 'UNIQUE') ORDER BY ALL"""


def _schema(con: duckdb.DuckDBPyConnection) -> tuple[dict[str, list[tuple]], list[tuple]]:
    tables: dict[str, list[tuple]] = {}
    for table, *column in con.execute(_COLUMNS).fetchall():
        tables.setdefault(table, []).append(tuple(column))
    return tables, con.execute(_KEYS).fetchall()


def test_the_ddl_derived_from_the_contracts_is_the_schema_of_a_built_warehouse(known_built):
    """Same tables, column order, types, nullability and keys as the warehouse the pipeline built,
    and no table of it without a contract."""
    derived = duckdb.connect()
    for schema in ("raw", "staging", "marts", "quality"):
        derived.execute(f"CREATE SCHEMA {schema}")
    for table in TABLES.values():
        for statement in table.ddl():
            derived.execute(statement)
    with duckdb.connect(str(known_built["warehouse"]), read_only=True) as built:
        live, live_keys = _schema(built)
    declared, declared_keys = _schema(derived)
    assert set(live) - set(NOT_CONTRACTED) == set(declared)
    for table, columns in declared.items():
        assert live[table] == columns, table
    assert live_keys == declared_keys


def test_quarantine_and_warnings_have_one_column_list():
    assert TABLES["quality.quarantine"].columns == TABLES["quality.warnings"].columns


def test_the_canonical_format_doc_is_generated_from_the_contract():
    """docs/canonical-format.md shows each entity's contract; `python -m scripts.contract_doc`
    rewrites it after a change to warehouse/contract.py."""
    text = DOC.read_text(encoding="utf-8")
    assert rendered(text) == text, "run python -m scripts.contract_doc"
    for entity, columns in DELIVERED.items():
        for column in columns:
            assert f"\n| {column.name} |" in text, (entity, column.name)


def test_the_demo_writes_contract_columns_in_contract_order(tmp_path: Path):
    generate(tmp_path / "landing", tmp_path / "truth", seed=3, clients=1, months=1,
             end_month="2026-01")
    headers = {}
    for path in sorted((tmp_path / "landing").rglob("*.csv")):
        with path.open(encoding="utf-8", newline="") as fh:
            headers[path.parent.name] = next(csv.reader(fh))
    assert set(headers) == {"clients", "tickets", "ticket_events", "review_decisions"}
    for entity, header in headers.items():
        assert header == [c for c in CANONICAL[entity] if c in header], entity
        assert set(REQUIRED[entity]) <= set(header), entity
