"""Dagster plumbing the assets share: monthly partitions, the per-month runner, resources."""
