"""The DuckDB warehouse: input contract, schema (DDL), shared writes and the file reconciliation."""
