"""The time window a delivered timestamp may take: from the first monthly partition to the as-of
instant plus the policy's future margin."""

from datetime import UTC, datetime, timedelta
from functools import lru_cache

from policy import paths
from policy.config import load_policy
from policy.paths import partitions_start


@lru_cache(maxsize=4)
def _margin_days(policy_file: str, mtime_ns: int) -> int:
    return load_policy(policy_file).data_quality.input_limits.future_margin_days


def time_window() -> tuple[str, str]:
    """The first and last instant (UTC, ISO text) a delivered timestamp may take.

    From the start of the first monthly partition (MSP_PARTITIONS_START) to the as-of instant
    (MSP_AS_OF), or the time of the run when that is later, plus
    data_quality.input_limits.future_margin_days. A pinned MSP_AS_OF in the past says when the
    SLA clock is read; it does not make tickets delivered since impossible. A row outside the
    window cannot be placed in a month that exists: staging quarantines it. Read from the same
    variables and policy file as the run's resources.
    """
    policy_file = paths.policy_file()
    margin = _margin_days(str(policy_file), policy_file.stat().st_mtime_ns)
    now = datetime.now(UTC)
    as_of = datetime.fromisoformat(paths.as_of()) if paths.as_of() else now
    as_of = as_of if as_of.tzinfo else as_of.replace(tzinfo=UTC)
    last = (max(as_of, now) + timedelta(days=margin)).astimezone(UTC)
    return f"{partitions_start()} 00:00:00+00", last.strftime("%Y-%m-%d %H:%M:%S+00")


def in_window_sql(ts: str) -> str:
    """SQL: the TIMESTAMPTZ expression `ts` lies inside `time_window()` (NULL when `ts` is)."""
    first, last = time_window()
    return f"({ts} BETWEEN TIMESTAMPTZ '{first}' AND TIMESTAMPTZ '{last}')"
