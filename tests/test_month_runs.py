"""Runs of consecutive months under a row budget (orchestration.partitions.month_runs), as the
staging passes and the range's scope statements cut a run's months."""

from orchestration.partitions import month_runs


def test_months_are_cut_into_consecutive_runs_under_the_budget_and_never_split() -> None:
    months = ["2026-01-01", "2026-02-01", "2026-03-01", "2026-04-01", "2026-05-01"]
    counts = {"2026-01-01": 60, "2026-02-01": 30, "2026-03-01": 250, "2026-04-01": 10}
    assert month_runs(counts, months, 100) == [
        ["2026-01-01", "2026-02-01"],  # 90 rows; the next would pass 100
        ["2026-03-01"],  # over the budget alone: a run of its own, never split
        ["2026-04-01", "2026-05-01"],  # a month without rows costs nothing
    ]
    assert month_runs(counts, months, 10_000) == [months]
    assert month_runs({}, [], 100) == []
