"""The policy config: business rules loaded from one versioned YAML file and validated on load.

The sections are modelled in policy/base.py, terms.py, classifiers.py and hours.py; here the whole.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from policy.base import (
    PRIORITIES,
    SCOPE_EXCLUSION_IDS,
    PolicyConfigError,
    Positive,
    Strict,
    keyed_by_scope_ids,
)
from policy.classifiers import (
    ScopeClassification,
    ScopeExclusion,
    ScopeItem,
    TextMatching,
)
from policy.emergency_rules import EmergencyRules
from policy.hours import (
    WEEKDAYS,
    Interval,
    ResponseRules,
    check_intervals,
)
from policy.paths import policy_file
from policy.strict_yaml import read_yaml_mapping


class TicketUnitRules(Strict):
    provider_initiated_sources: list[str] = Field(min_length=1)
    link_by_parent: bool = True
    interruption_gap_minutes: int = Field(gt=0, le=24 * 60)
    interruption_min_requesters: int = Field(ge=2)
    interruption_terms: list[str] = Field(min_length=1)

    @field_validator("provider_initiated_sources", "interruption_terms")
    @classmethod
    def _lower(cls, values: list[str]) -> list[str]:
        cleaned = [v.strip().lower() for v in values]
        if any(not v for v in cleaned):
            raise ValueError("empty term")
        return cleaned


class Plan(Strict):
    name: str = Field(min_length=1)
    units_per_seat_month: Positive


class FairUseRules(Strict):
    rolling_months: int = Field(ge=1, le=12)
    watch_ratio: float = Field(gt=0, le=1)
    plans: dict[str, Plan] = Field(min_length=1)


class RateCard(Strict):
    default_hourly_rate: Positive
    by_scope_exclusion: Annotated[dict[str, Positive], AfterValidator(keyed_by_scope_ids)] = Field(
        default_factory=dict)
    # Emergency work outside business hours for a client without after-hours cover.
    after_hours_emergency: Positive | None = None


class VolumeAnomaly(Strict):
    """A client-month's ticket count far from the client's own history is flagged (a warning)."""

    history_months: int = Field(default=12, ge=2, le=36)
    min_history_months: int = Field(default=3, ge=2)
    # |tickets - mean| / max(stddev, sqrt(mean), 1) above this is an anomaly; sqrt(mean) is the
    # Poisson noise of a count, so small clients are not flagged for a handful of tickets.
    max_score: Positive = 4.0


class InputLimits(Strict):
    """Bounds of a plausible delivered value: a row outside them is quarantined at staging."""

    # A timestamp later than the as-of instant (MSP_AS_OF, or the time of the run when later) plus
    # this many days is in the future (a typed year, a clock far off); earlier than
    # MSP_PARTITIONS_START is before the first month the pipeline covers.
    future_margin_days: int = Field(default=31, ge=0, le=366)
    # One time entry longer than this is a unit error (seconds or hours typed as minutes).
    max_entry_minutes: Positive = 1440.0


class DataQuality(Strict):
    """Thresholds of the data-quality checks (data_checks/); not policy terms."""

    volume_anomaly: VolumeAnomaly = VolumeAnomaly()
    input_limits: InputLimits = InputLimits()


class ReportSettings(Strict):
    """How the published reports present the numbers (the provider's voice; not policy terms)."""

    provider_name: str = "Your IT provider"
    provider_contact: str = ""
    # A logo image beside the provider's name (a data: URI keeps the report self-contained).
    provider_logo: str = ""
    footer: str = ""
    # The response-time compliance the provider commits to, stated in every client report.
    sla_goal: float = Field(default=0.95, gt=0, le=1)
    # Out-of-scope lines nobody has reviewed yet: listed apart in the client edition as "under
    # review, not billed", or left out of it. They are never in its total.
    client_edition_pending: Literal["list", "omit"] = "list"
    # What the client edition says happens when a client is over fair use.
    over_fair_use_next_steps: str = (
        "Your account manager will review your plan with you, starting from the drivers of the"
        " volume shown in this report.")


class PolicyConfig(Strict):
    """Every business rule the policy implies."""

    version: str = Field(min_length=1)
    policy_name: str
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    ticket_unit: TicketUnitRules
    standard_scope: list[ScopeItem] = Field(min_length=1)
    scope_exclusions: list[ScopeExclusion]
    emergency: EmergencyRules
    text_matching: TextMatching
    scope_classification: ScopeClassification
    priority_map: dict[Literal["emergency", "high", "normal", "low"], list[str]]
    response_targets_minutes: dict[Literal["emergency", "high", "normal", "low"], Positive]
    response: ResponseRules
    business_hours: dict[str, list[Interval]]
    fair_use: FairUseRules
    rate_card: RateCard
    data_quality: DataQuality = DataQuality()
    reports: ReportSettings = ReportSettings()

    @field_validator("scope_exclusions")
    @classmethod
    def _ten_exclusions(cls, items: list[ScopeItem]) -> list[ScopeItem]:
        ids = [i.id for i in items]
        missing = [i for i in SCOPE_EXCLUSION_IDS if i not in ids]
        extra = [i for i in ids if i not in SCOPE_EXCLUSION_IDS]
        if missing or extra or len(ids) != len(set(ids)):
            raise ValueError(
                "must list each of the ten scope exclusion ids exactly once"
                f" (missing: {missing or 'none'}; unknown: {extra or 'none'})"
            )
        return items

    @field_validator("priority_map")
    @classmethod
    def _priority_map(cls, mapping: dict[str, list[str]]) -> dict[str, list[str]]:
        missing = [p for p in PRIORITIES if p not in mapping]
        if missing:
            raise ValueError(f"missing priorities: {', '.join(missing)}")
        seen: dict[str, str] = {}
        cleaned: dict[str, list[str]] = {}
        for priority, values in mapping.items():
            cleaned[priority] = []
            for value in values:
                key = str(value).strip().lower()
                if key in seen:
                    raise ValueError(f"value '{key}' maps to both {seen[key]} and {priority}")
                seen[key] = priority
                cleaned[priority].append(key)
        return cleaned

    @field_validator("response_targets_minutes")
    @classmethod
    def _all_targets(cls, targets: dict[str, float]) -> dict[str, float]:
        missing = [p for p in PRIORITIES if p not in targets]
        if missing:
            raise ValueError(f"missing targets for: {', '.join(missing)}")
        return targets

    @field_validator("business_hours")
    @classmethod
    def _hours(cls, hours: dict[str, list[Interval]]) -> dict[str, list[Interval]]:
        unknown = sorted(set(hours) - set(WEEKDAYS))
        if unknown:
            raise ValueError(f"unknown weekday(s): {', '.join(unknown)}")
        for day, intervals in hours.items():
            check_intervals(day, intervals)
        return hours

    @model_validator(mode="after")
    def _open_some_day(self) -> PolicyConfig:
        if not any(self.business_hours.get(d) for d in WEEKDAYS):
            raise ValueError("business_hours: no day has opening hours")
        return self

    @model_validator(mode="after")
    def _scope_dampener_targets(self) -> PolicyConfig:
        ids = {s.id for s in self.scope_exclusions}
        for d in self.scope_classification.dampeners:
            unknown = [a for a in d.applies_to if a not in ids]
            if unknown or not d.applies_to:
                raise ValueError(f"scope_classification.dampeners '{d.label}': applies_to must name scope"
                                 f" exclusion ids (unknown: {', '.join(unknown) or 'none given'})")
        # whole_call (round 17): the scope statement combines the call's signals; the emergency
        # reading combines its dampeners on its own (logic/emergency.py) and does not read the flag.
        held = [d.label for d in self.emergency.dampeners if d.whole_call]
        if held:
            raise ValueError(f"emergency.dampeners {', '.join(held)}: whole_call applies to scope"
                             " dampeners only")
        # unless_sets (round 36) names emergency.term_sets; scope text rules have no term sets.
        shared = [d.label for d in [*self.scope_classification.dampeners,
                                    *self.scope_classification.time_signals.note_dampeners,
                                    *(d for item in self.scope_exclusions for d in item.dampeners)]
                  if d.unless_sets]
        if shared:
            raise ValueError(f"scope dampeners {', '.join(shared)}: unless_sets applies to emergency"
                             " dampeners only")
        # only_with_sets (round 40) names emergency.term_sets too.
        shared = [d.label for d in [*self.scope_classification.dampeners,
                                    *(d for item in self.scope_exclusions for d in item.dampeners)]
                  if d.only_with_sets]
        if shared:
            raise ValueError(f"scope dampeners {', '.join(shared)}: only_with_sets applies to emergency"
                             " dampeners only")
        for item in self.scope_exclusions:
            for d in item.dampeners:
                if d.applies_to and d.applies_to != [item.id]:
                    raise ValueError(f"scope_exclusions {item.id}: dampener '{d.label}' applies to its own"
                                     " exclusion only; use scope_classification.dampeners to share one")
        return self

    def priority_lookup(self) -> list[tuple[str, str]]:
        """(source value, normalised priority) pairs, for a join in SQL."""
        return [(v, p) for p, values in self.priority_map.items() for v in values]

    def plan_limits(self) -> list[tuple[str, str, float]]:
        """(plan id, plan name, units per seat per month) rows, for a join in SQL."""
        return [(k, p.name, p.units_per_seat_month) for k, p in self.fair_use.plans.items()]


def _format_errors(path: Path, error: ValidationError) -> str:
    lines = [f"invalid policy config {path}:"]
    for err in error.errors():
        key = ".".join(str(part) for part in err["loc"]) or "(top level)"
        lines.append(f"  {key}: {err['msg']}")
    return "\n".join(lines)


def load_policy(path: Path | str | None = None) -> PolicyConfig:
    """Read and validate the policy config; raise PolicyConfigError naming key and problem."""
    path = Path(path) if path is not None else policy_file()
    data = read_yaml_mapping(path, PolicyConfigError, "policy config")
    try:
        return PolicyConfig.model_validate(data)
    except ValidationError as exc:
        raise PolicyConfigError(_format_errors(path, exc)) from exc


def default_policy(path: Path | str | None = None) -> PolicyConfig:
    """The policy file in force (MSP_POLICY unless `path`), parsed and validated once per content.

    The one cache of the policy: the run's resource, the checks, the partition window and the
    reports all read it through here. Keyed by the file's digest, so an edited file is read
    afresh and a broken one fails every run that reads it.
    """
    path = Path(path) if path is not None else policy_file()
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return load_policy(path)  # its own error names the missing file
    return _validated(str(path), digest)


@lru_cache(maxsize=8)
def _validated(path: str, digest: str) -> PolicyConfig:
    return load_policy(path)
