"""The policy config: business rules loaded from one versioned YAML file and validated on load."""

from __future__ import annotations

import re
from datetime import date
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from policy.paths import policy_file
from policy.strict_yaml import DuplicateKeyError, load_unique

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
WEEKDAYS: tuple[str, ...] = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")

Positive = Annotated[float, Field(gt=0)]


class PolicyConfigError(ValueError):
    """The policy config file is missing or invalid; the message names the file, key and problem."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TicketUnitRules(_Strict):
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


class ScopeItem(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1)
    examples: list[str] = Field(default_factory=list)


# --- Term syntax of the classifiers (assets/classify.py turns each term into an RE2 pattern) ---
# Lower-case words matched as whole words; `a|b` alternatives for one word; `(a b|c)` alternatives
# that are phrases; `word*` any ending (migrat* = migrate, migrating, migration); `#` a number;
# `word?` an optional word; `...` up to text_matching.gap_words other words; a hyphen inside a word
# also matches a space or nothing. See the comment at the top of config/policy.yaml.
_TERM_CHARS = re.compile(r"^[a-z0-9 '\-*#|.?&+/:@()]+$")


def term_tokens(term: str) -> list[str]:
    """Split a term into word slots, `...` gaps and `(a b|c)` groups; raise ValueError if unbalanced."""
    tokens: list[str] = []
    current = ""
    depth = 0
    for ch in term:
        if ch == "(":
            if depth:
                raise ValueError(f"'{term}': groups cannot be nested")
            depth = 1
        elif ch == ")":
            if not depth:
                raise ValueError(f"'{term}': ')' without '('")
            depth = 0
        if ch == " " and not depth:
            if current:
                tokens.append(current)
            current = ""
        else:
            current += ch
    if depth:
        raise ValueError(f"'{term}': '(' without ')'")
    if current:
        tokens.append(current)
    return tokens


def slot_alternatives(token: str) -> list[str]:
    """The alternatives of one word slot: `a|b|(c d|e)` -> ['a', 'b', 'c d', 'e'] (raises if malformed)."""
    parts: list[str] = []
    current = ""
    depth = 0
    for ch in token:
        depth += (ch == "(") - (ch == ")")
        if ch == "|" and not depth:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    alternatives: list[str] = []
    for part in parts:
        if part.startswith("(") and part.endswith(")"):
            alternatives.extend(part[1:-1].split("|"))
        elif "(" in part or ")" in part:
            raise ValueError(f"'{token}': a group must be a whole alternative, e.g. open|(log in)")
        else:
            alternatives.append(part)
    if any(not a.strip() or "..." in a or "?" in a for a in alternatives):
        raise ValueError(f"'{token}': empty alternative, or '...' or '?' inside one")
    return [" ".join(a.split()) for a in alternatives]


def check_term(term: str) -> str:
    """Normalise one classifier term and raise ValueError naming the term if its syntax is invalid."""
    cleaned = " ".join(str(term).lower().split())
    if not cleaned:
        raise ValueError("empty term")
    if not _TERM_CHARS.match(cleaned):
        raise ValueError(f"'{term}': only letters, digits, spaces and ' - * # | . ? & + / : @ ( ) allowed")
    tokens = term_tokens(cleaned)
    if tokens[0] == "..." or tokens[-1] == "...":
        raise ValueError(f"'{term}': '...' must stand between two words")
    if tokens[0].endswith("?") or tokens[-1].endswith("?"):
        raise ValueError(f"'{term}': the first and last words cannot be optional")
    for a, b in zip(tokens, tokens[1:], strict=False):
        if a == "..." and b == "...":
            raise ValueError(f"'{term}': two '...' in a row")
    for token in tokens:
        if token != "...":
            slot_alternatives(token[:-1] if token.endswith("?") else token)
    return cleaned


Term = Annotated[str, AfterValidator(check_term)]
Weight = Annotated[float, Field(gt=0, lt=1)]


class MatchRule(_Strict):
    """One piece of text evidence: phrases, a verb family near an object family, or term sets together."""

    label: str = Field(min_length=1)
    weight: Weight
    phrases: list[Term] | None = Field(default=None, min_length=1)
    verbs: list[Term] | None = Field(default=None, min_length=1)
    objects: list[Term] | None = Field(default=None, min_length=1)
    max_gap: int = Field(default=5, ge=0, le=20)  # words allowed between a verb and an object
    order: Literal["any", "verb_first"] = "any"
    all_of: list[str] | None = Field(default=None, min_length=2)  # names of emergency.term_sets
    # Weak evidence that only counts when no other scope exclusion was found for the ticket.
    only_alone: bool = False
    # Emergency rules: evidence that something already happened (a rule nobody set, prompts nobody
    # started), which the criterion's dampeners ("reported, not acted on" ...) do not lower.
    undampened: bool = False

    @model_validator(mode="after")
    def _one_kind(self) -> MatchRule:
        kinds = [self.phrases is not None, self.verbs is not None or self.objects is not None,
                 self.all_of is not None]
        if sum(kinds) != 1:
            raise ValueError("give exactly one of: phrases, verbs + objects, all_of")
        if (self.verbs is None) != (self.objects is None):
            raise ValueError("verbs and objects go together")
        return self


class Dampener(_Strict):
    """Wording that lowers confidence (a routine request, one user, a cosmetic issue, ...)."""

    label: str = Field(min_length=1)
    factor: Weight  # confidence is multiplied by this when any phrase matches
    phrases: list[Term] = Field(min_length=1)
    applies_to: list[str] = Field(default_factory=list)  # scope ids / criterion ids; empty = the owner


class ScopeExclusion(ScopeItem):
    """A policy section 3 exclusion and the evidence that points to it."""

    project_work: bool = False  # project-sized hours corroborate it (and suppress the hours fallback)
    # What the exclusion means, in plain sentences: the semantic vote compares ticket text with them.
    concepts: list[str] = Field(default_factory=list)
    rules: list[MatchRule] = Field(default_factory=list)
    category_hints: list[MatchRule] = Field(default_factory=list)
    dampeners: list[Dampener] = Field(default_factory=list)

    @field_validator("rules", "category_hints")
    @classmethod
    def _no_term_sets(cls, rules: list[MatchRule]) -> list[MatchRule]:
        if any(r.all_of for r in rules):
            raise ValueError("all_of is only available in emergency rules")
        return rules


class Negation(_Strict):
    """A match preceded by a cue (within max_words, same clause) or followed by an after-cue is ignored."""

    cues: list[Term] = Field(min_length=1)
    pseudo: list[Term] = Field(default_factory=list)  # cue phrases that negate nothing ("not sure")
    after_cues: list[Term] = Field(default_factory=list)  # "... not needed"
    max_words: int = Field(ge=0, le=10)


class TextMatching(_Strict):
    gap_words: int = Field(ge=1, le=10)  # what `...` in a term allows
    rewrites: dict[Term, str] = Field(default_factory=dict)  # idioms rewritten before matching
    clause_words: list[Term] = Field(default_factory=list)  # negation does not reach across these
    negation: Negation


class TimeSignals(_Strict):
    onsite_work_types: list[str] = Field(min_length=1)
    onsite_weight: Weight
    travel_work_types: list[str] = Field(min_length=1)
    travel_weight: Weight
    after_hours_min_minutes: float = Field(ge=0)
    after_hours_min_share: float = Field(gt=0, le=1)
    after_hours_weight: Weight
    after_hours_project_factor: float = Field(gt=0, le=1)
    project_hours: Positive
    project_weight: Weight
    project_support_weight: Weight
    # Text asking for a visit, on a ticket whose logged work was all remote (no onsite or travel
    # entry): nobody went, so the onsite reading is multiplied by this factor (1: off).
    remote_only_onsite_factor: float = Field(default=1.0, gt=0, le=1)

    @field_validator("onsite_work_types", "travel_work_types")
    @classmethod
    def _lower(cls, values: list[str]) -> list[str]:
        return [v.strip().lower() for v in values]


class SemanticVote(_Strict):
    """The second vote beside the rules: similarity to concepts and labelled exemplars (semantic.py)."""

    enabled: bool = True
    # Labelled tickets (the CSV format of evaluation/labelled_tickets.csv), relative to the project.
    exemplar_files: list[str] = Field(default_factory=lambda: ["evaluation/labelled_tickets.csv"])
    model: str = "l2_supercat"  # a wordllama model whose weights ship inside the installed wheel
    dim: int = Field(default=256, ge=64)
    neighbours: int = Field(default=7, ge=1, le=50)  # exemplars that vote per category
    min_similarity: float = Field(default=0.3, ge=0, lt=1)  # a neighbour below this has no vote
    full_similarity: float = Field(default=0.8, gt=0, le=1)  # a neighbour at this votes fully
    scope_weight: Weight = 0.6  # the vote's weight as evidence for an exclusion (all neighbours agree)
    scope_veto: float = Field(default=0.8, gt=0, le=1)  # rule confidence x this when neighbours disagree
    emergency_weight: Weight = 0.6
    emergency_veto: float = Field(default=0.8, gt=0, le=1)
    veto_below: Weight = 0.15  # the neighbours' share under which they disagree
    concept_weight: float = Field(default=1.0, gt=0)  # a policy concept sentence as an exemplar
    provider_weight: float = Field(default=2.0, gt=0)  # a provider's own review decision
    # Above this many distinct texts in one run, only texts the rules leave uncertain are embedded
    # (the 1M benchmark's speed budget: docs/classification.md).
    max_texts_all: int = Field(default=200_000, ge=0)
    # Texts where any rule fired below this confidence are "uncertain".
    uncertain_below: Weight = 0.85


class CallStates(_Strict):
    """Abstention: a call is `confident` at or above confident_at, `needs review` between the
    classifier's min_confidence and confident_at, and `none` below (no call)."""

    scope_confident_at: Weight = 0.8
    emergency_confident_at: Weight = 0.8


class ScopeClassification(_Strict):
    min_confidence: Weight
    note_weight: float = Field(gt=0, le=1)  # matches in time-entry notes count this much
    dampeners: list[Dampener] = Field(default_factory=list)  # applies_to names scope ids
    time_signals: TimeSignals
    semantic: SemanticVote = SemanticVote()
    call_states: CallStates = CallStates()
    # What standard (included) support looks like, as plain sentences: exemplars of "no exclusion".
    standard_concepts: list[str] = Field(default_factory=list)


class EmergencyCriterion(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1)
    examples: list[str] = Field(default_factory=list)
    rules: list[MatchRule] = Field(default_factory=list)
    concepts: list[str] = Field(default_factory=list)  # plain sentences for the semantic vote


class EmergencyRules(_Strict):
    criteria: list[EmergencyCriterion] = Field(min_length=1)
    not_emergency: list[str] = Field(min_length=1)
    min_affected_users: int = Field(ge=2)
    min_confidence: Weight = 0.5
    # Named vocabularies for all_of rules; `several_users` is also met by affected_users.
    term_sets: dict[str, list[Term]] = Field(default_factory=dict)
    dampeners: list[Dampener] = Field(default_factory=list)  # applies_to names criterion ids
    # Situations that are not emergencies (over-declared single-user problems ...), as sentences.
    non_emergency_concepts: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references(self) -> EmergencyRules:
        ids = [c.id for c in self.criteria]
        if len(ids) != len(set(ids)):
            raise ValueError("criteria ids must be unique")
        for c in self.criteria:
            for rule in c.rules:
                unknown = [n for n in rule.all_of or [] if n not in self.term_sets]
                if unknown:
                    raise ValueError(f"criteria {c.id}: rule '{rule.label}' names unknown term set(s)"
                                     f" {', '.join(unknown)}")
        for d in self.dampeners:
            unknown = [a for a in d.applies_to if a not in ids]
            if unknown or not d.applies_to:
                raise ValueError(f"dampener '{d.label}': applies_to must name criteria ids"
                                 f" (unknown: {', '.join(unknown) or 'none given'})")
        return self


class Plan(_Strict):
    name: str = Field(min_length=1)
    units_per_seat_month: Positive


class FairUseRules(_Strict):
    rolling_months: int = Field(ge=1, le=12)
    watch_ratio: float = Field(gt=0, le=1)
    plans: dict[str, Plan] = Field(min_length=1)


class RateCard(_Strict):
    default_hourly_rate: Positive
    by_scope_exclusion: dict[str, Positive] = Field(default_factory=dict)
    # Emergency work outside business hours for a client without after-hours cover.
    after_hours_emergency: Positive | None = None

    @field_validator("by_scope_exclusion")
    @classmethod
    def _known_ids(cls, rates: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(rates) - set(SCOPE_EXCLUSION_IDS))
        if unknown:
            raise ValueError(f"unknown scope exclusion id(s): {', '.join(unknown)}")
        return rates


Interval = tuple[str, str]


class CountingEvent(_Strict):
    """An agent event that counts as the response (acknowledge, review, classify, begin triage)."""

    event_type: str = Field(min_length=1)
    public_only: bool = False
    new_values: list[str] | None = None  # for change events: only these new values count

    @field_validator("event_type")
    @classmethod
    def _lower_type(cls, value: str) -> str:
        return value.strip().lower()

    @field_validator("new_values")
    @classmethod
    def _lower_values(cls, values: list[str] | None) -> list[str] | None:
        return None if values is None else [v.strip().lower() for v in values]


class Closure(_Strict):
    date: date
    name: str = Field(min_length=1)


class ResponseRules(_Strict):
    """Policy section 5: what starts and stops the response clock, and which priority sets the target."""

    target_priority: Literal["intake", "triage", "final"]
    counting_events: list[CountingEvent] = Field(min_length=1)
    extra_closures: list[Closure] = Field(default_factory=list)


_DAY_ALIASES = {d[:3]: d for d in WEEKDAYS}


def check_intervals(day: str, intervals: list[Interval]) -> None:
    """Raise ValueError unless the day's intervals are HH:MM times, each ending after it starts, in order."""
    previous_end = "00:00"
    for start, end in intervals:
        for t in (start, end):
            if not _HHMM.match(t):
                raise ValueError(f"{day}: '{t}' is not a time HH:MM")
        if not start < end:
            raise ValueError(f"{day}: interval {start}-{end} ends before it starts")
        if start < previous_end:
            raise ValueError(f"{day}: interval {start}-{end} overlaps the one before")
        previous_end = end


def parse_hours_spec(spec: str) -> dict[str, list[Interval]]:
    """Parse contract hours like 'mon-fri 08:00-12:00,13:00-17:00; sat 09:00-12:00'.

    Days not named are closed. Raises ValueError with the offending part.
    """
    hours: dict[str, list[Interval]] = {d: [] for d in WEEKDAYS}
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        days_part, _, times_part = part.partition(" ")
        days = days_part.lower().split("-")
        if any(d[:3] not in _DAY_ALIASES for d in days) or len(days) > 2:
            raise ValueError(f"'{part}': days must look like mon, mon-fri or sat")
        first = WEEKDAYS.index(_DAY_ALIASES[days[0][:3]])
        last = WEEKDAYS.index(_DAY_ALIASES[days[-1][:3]])
        if last < first:
            raise ValueError(f"'{part}': day range runs backwards")
        intervals: list[Interval] = []
        for chunk in filter(None, (c.strip() for c in times_part.split(","))):
            start, sep, end = chunk.partition("-")
            if not sep:
                raise ValueError(f"'{part}': '{chunk}' must look like 08:00-17:00")
            intervals.append((start.strip(), end.strip()))
        for day in WEEKDAYS[first : last + 1]:
            check_intervals(day, intervals)
            hours[day] = intervals
    if not any(hours.values()):
        raise ValueError(f"'{spec}': no opening hours")
    return hours


class VolumeAnomaly(_Strict):
    """A client-month's ticket count far from the client's own history is flagged (a warning)."""

    history_months: int = Field(default=12, ge=2, le=36)
    min_history_months: int = Field(default=3, ge=2)
    # |tickets - mean| / max(stddev, sqrt(mean), 1) above this is an anomaly; sqrt(mean) is the
    # Poisson noise of a count, so small clients are not flagged for a handful of tickets.
    max_score: Positive = 4.0


class InputLimits(_Strict):
    """Bounds of a plausible delivered value: a row outside them is quarantined at staging."""

    # A timestamp later than the as-of instant (MSP_AS_OF, or the time of the run when later) plus
    # this many days is in the future (a typed year, a clock far off); earlier than
    # MSP_PARTITIONS_START is before the first month the pipeline covers.
    future_margin_days: int = Field(default=31, ge=0, le=366)
    # One time entry longer than this is a unit error (seconds or hours typed as minutes).
    max_entry_minutes: Positive = 1440.0


class DataQuality(_Strict):
    """Thresholds of the data-quality checks (data_checks/); not policy terms."""

    volume_anomaly: VolumeAnomaly = VolumeAnomaly()
    input_limits: InputLimits = InputLimits()


class ReportSettings(_Strict):
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


class PolicyConfig(_Strict):
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
    try:
        data = load_unique(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PolicyConfigError(f"policy config not found: {path}") from exc
    except DuplicateKeyError as exc:
        raise PolicyConfigError(f"invalid policy config {path}:\n  {exc}") from exc
    except yaml.YAMLError as exc:
        raise PolicyConfigError(f"policy config {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise PolicyConfigError(f"policy config {path} must be a mapping of keys")
    try:
        return PolicyConfig.model_validate(data)
    except ValidationError as exc:
        raise PolicyConfigError(_format_errors(path, exc)) from exc


@cache
def default_policy() -> PolicyConfig:
    """The policy at the configured path, loaded once per process."""
    return load_policy()
