"""Dagster asset definitions, one module per stage of the data flow."""
