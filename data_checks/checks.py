"""Every great-expectations asset check, per layer: the list the Definitions load and the docs table."""

from data_checks import marts, raw, staging
from data_checks.validation import CheckSpec, build_checks

SPECS: list[CheckSpec] = [*raw.SPECS, *staging.SPECS, *marts.SPECS]

# One step per asset runs its suites (each suite still its own asset check).
expectation_checks = [
    build_checks([spec for spec in SPECS if spec.asset is asset])
    for asset in dict.fromkeys(spec.asset for spec in SPECS)
]
