"""Every asset check, per asset: the great-expectations suites of each layer and the SQL checks
declared beside the assets (`@sql_check`); the list the Definitions load and the docs table."""

from assets import billing, facts, raw, staging  # noqa: F401  (their @sql_check declarations)
from data_checks import marts
from data_checks import raw as raw_suites
from data_checks import staging as staging_suites
from data_checks.validation import CheckSpec, build_checks
from orchestration.sql_checks import SQL_CHECKS

SPECS: list[CheckSpec] = [*raw_suites.SPECS, *staging_suites.SPECS, *marts.SPECS]

# One step per asset runs its SQL checks and its suites (each still its own asset check).
expectation_checks = [
    build_checks([spec for spec in SPECS if spec.asset is asset],
                 [check for check in SQL_CHECKS if check.asset is asset])
    for asset in dict.fromkeys([*(c.asset for c in SQL_CHECKS), *(spec.asset for spec in SPECS)])
]
