"""Data-quality guards: great-expectations suites and the Dagster asset checks that run them."""
