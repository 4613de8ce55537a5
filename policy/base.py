"""What every policy section shares: the value sets, the strict model base and the config error."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
)

PRIORITIES: tuple[str, ...] = ("emergency", "high", "normal", "low")


SCOPE_EXCLUSION_IDS: tuple[str, ...] = (
    "major_migration",
    "custom_implementation",
    "custom_software",
    "major_remediation",
    "compliance_documentation",
    "platform_implementation",
    "procurement",
    "onsite",
    "structured_project",
    "planned_after_hours",
)


# Value sets of the canonical input format (docs/canonical-format.md); adapters map a PSA's values
# onto these, and the data-quality suites check them.
TICKET_SOURCES: tuple[str, ...] = ("email", "phone", "portal", "chat", "monitoring")


ACTOR_TYPES: tuple[str, ...] = ("agent", "client", "system")


WORK_TYPES: tuple[str, ...] = ("remote", "onsite", "travel")


RESPONSE_STATUSES: tuple[str, ...] = ("met", "breached", "pending")


FAIR_USE_STATUSES: tuple[str, ...] = ("within", "watch", "over")


Positive = Annotated[float, Field(gt=0)]


def _known_scope_ids(ids: list[str]) -> list[str]:
    unknown = [i for i in ids if i not in SCOPE_EXCLUSION_IDS]
    if unknown:
        raise ValueError(f"unknown scope exclusion id(s): {', '.join(unknown)}")
    return ids


# A list of the policy's scope exclusion ids (config sections that name some of them).
ScopeIds = Annotated[list[str], AfterValidator(_known_scope_ids)]


def keyed_by_scope_ids(value: dict[str, Any]) -> dict[str, Any]:
    """A mapping whose keys must all be scope exclusion ids (a rate or threshold per exclusion)."""
    _known_scope_ids(list(value))
    return value


def check_weights_per_scope_id(weights: dict[str, list[float]], numbers: int) -> None:
    """A stored model's weights: keyed by scope exclusion ids, each with `numbers` numbers."""
    for sid, w in weights.items():
        if sid not in SCOPE_EXCLUSION_IDS:
            raise ValueError(f"weights.{sid}: not a scope exclusion id")
        if len(w) != numbers:
            raise ValueError(f"weights.{sid}: {numbers} numbers expected, got {len(w)}")


def integer_weights(data: Any) -> Any:
    """A stored model whose weights are integers in units of 10^-decimals (round 42: the word
    model): `decimals` given and every weight an integer, else refused naming the first offender
    (one message, not one error per number of half a million)."""
    if not isinstance(data, dict):
        return data
    if "decimals" not in data:
        raise ValueError("decimals missing: weights stored as floats (a file older than round 42);"
                         " refit with python -m evaluation.fit_model")
    weights = data.get("weights")
    for sid, w in (weights.items() if isinstance(weights, dict) else []):
        bad = next((i for i, v in enumerate(w) if type(v) is not int), None) if isinstance(w, list) else None
        if bad is not None:
            raise ValueError(f"weights.{sid}[{bad}]: {w[bad]!r} is not an integer"
                             " (weights are stored in units of 10^-decimals)")
    return data


class PolicyConfigError(ValueError):
    """The policy config file is missing or invalid; the message names the file, key and problem."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
