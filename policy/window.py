"""The time window a delivered timestamp may take: from the first monthly partition to the as-of
instant plus the policy's future margin."""

from datetime import UTC, datetime, timedelta

from policy import paths
from policy.config import default_policy
from policy.paths import partitions_start


def time_window() -> tuple[str, str]:
    """The first and last instant (UTC, ISO text) a delivered timestamp may take.

    From the start of the first monthly partition (MSP_PARTITIONS_START) to the as-of instant
    (MSP_AS_OF), or the time of the run when that is later, plus
    data_quality.input_limits.future_margin_days. A pinned MSP_AS_OF in the past says when the
    SLA clock is read; it does not make tickets delivered since impossible. A row outside the
    window cannot be placed in a month that exists: staging quarantines it. Read from the same
    variables and policy file as the run's resources.
    """
    margin = default_policy().data_quality.input_limits.future_margin_days
    now = datetime.now(UTC)
    as_of = datetime.fromisoformat(paths.as_of()) if paths.as_of() else now
    as_of = as_of if as_of.tzinfo else as_of.replace(tzinfo=UTC)
    last = (max(as_of, now) + timedelta(days=margin)).astimezone(UTC)
    return f"{partitions_start()} 00:00:00+00", last.strftime("%Y-%m-%d %H:%M:%S+00")


def in_window_sql(ts: str) -> str:
    """SQL: the TIMESTAMPTZ expression `ts` lies inside `time_window()` (NULL when `ts` is)."""
    first, last = time_window()
    return f"({ts} BETWEEN TIMESTAMPTZ '{first}' AND TIMESTAMPTZ '{last}')"
