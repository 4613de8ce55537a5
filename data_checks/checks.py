"""Every great-expectations asset check, per layer: the list the Definitions load and the docs table."""

from data_checks import marts, raw, staging
from data_checks.validation import CheckSpec, build_check

SPECS: list[CheckSpec] = [*raw.SPECS, *staging.SPECS, *marts.SPECS]

expectation_checks = [build_check(spec) for spec in SPECS]
