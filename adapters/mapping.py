"""The no-code mapping: a YAML file that says how one PSA export becomes the canonical format.

A mapping is validated on load; an invalid file raises MappingError naming the file, the key and
the problem, e.g. `servicenow.yaml: clients.timezone: Value error, unknown time zone 'Brazil/Sao'`.
docs/adapters.md documents every key.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from policy.strict_yaml import read_yaml_mapping
from warehouse.contract import REQUIRED, columns

# Canonical columns a mapping may fill (the pipeline's landing contract, docs/canonical-format.md).
TICKET_COLUMNS = tuple(columns("tickets"))
# Ticket columns a mapping must fill: the contract's required ones, but for the id, which the
# adapter numbers by row when the export has none.
REQUIRED_TICKET_COLUMNS = tuple(c for c in REQUIRED["tickets"] if c != "ticket_id")
ACTOR_TYPES = ("agent", "client", "system")
PLACEHOLDER = "{value}"


class MappingError(ValueError):
    """The mapping file is missing or invalid; the message names the file, key and problem."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_zone(zone: str) -> str:
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {zone!r} (use an IANA name like Europe/London)") from exc
    return zone


Zone = Annotated[str, AfterValidator(_check_zone)]


# strptime directives that carry a time of day (hours, or a whole date-time / epoch).
_TIME_DIRECTIVES = re.compile(r"%[-#]?[HIklTRXcsr]")


def _has_time(fmt: str) -> bool:
    return bool(_TIME_DIRECTIVES.search(fmt.replace("%%", "")))


class FieldSpec(_Strict):
    """How one output value is read from the source row; steps apply in the order listed here."""

    column: str | None = None            # source column (header name after header fixes)
    value: str | None = None             # or a constant
    # Or a generated value, for exports without an id: the data row number, or a hash of `columns`.
    generate: Literal["row_number", "hash"] | None = None
    columns: list[str] = Field(default_factory=list)  # the columns `generate: hash` reads
    extract: str | None = None           # regex; its first group replaces the value when it matches
    transform: Literal["upper", "lower", "title"] | None = None
    map: dict[str, str] | None = None    # value map, matched case-insensitively; others pass through
    # The value of an empty cell and, with a map, of a value the map does not know.
    default: str | None = None
    template: str | None = None          # e.g. "INC{value}"; applied to non-empty values
    type: Literal["text", "timestamp", "boolean", "integer"] = "text"
    format: str | None = None            # strptime format of a timestamp; none = ISO 8601
    # The local time of day a date-only value is read at ("12:00"): required beside a `format` with
    # a date only; without a `format`, it applies to the ISO dates (2026-03-14) among ISO timestamps.
    time_of_day: str | None = None
    timezone: Zone | None = None         # zone of timestamps without offset; default source.timezone
    take: Literal["first", "last"] = "first"  # event logs: the first or last non-empty update value

    @model_validator(mode="before")
    @classmethod
    def _column_shorthand(cls, data: Any) -> Any:
        # `requester: caller_id` is short for `requester: {column: caller_id}`.
        return {"column": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _one_source(self) -> FieldSpec:
        given = [k for k in ("column", "value", "generate") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of `column`, `value` or `generate`")
        if (self.generate == "hash") != bool(self.columns):
            raise ValueError("`generate: hash` needs `columns` (the columns whose values make the"
                             " id), and `columns` applies only to it")
        if self.template is not None and PLACEHOLDER not in self.template:
            raise ValueError(f"template must contain {PLACEHOLDER}")
        if self.format is not None and self.type != "timestamp":
            raise ValueError("`format` only applies to `type: timestamp`")
        if self.time_of_day is not None and (self.type != "timestamp" or (
                self.format is not None and _has_time(self.format))):
            raise ValueError("`time_of_day` applies only to a timestamp read as ISO 8601 or with a"
                             " `format` that has a date and no time")
        if self.format is not None and not _has_time(self.format) and self.time_of_day is None:
            # Read as midnight, every value would fall outside business hours: all billable work
            # would look like planned after-hours work and every response would start at opening.
            raise ValueError(
                f"format {self.format!r} has a date but no time of day: name the local time to"
                " assume with `time_of_day` (e.g. time_of_day: \"12:00\"); work dated a weekend"
                " or public holiday still counts as outside business hours")
        return self

    @field_validator("time_of_day")
    @classmethod
    def _clock_time(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
            raise ValueError(f"time_of_day {value!r} is not a time HH:MM, e.g. \"12:00\"")
        return value

    @field_validator("extract")
    @classmethod
    def _regex(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                compiled = re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from exc
            if compiled.groups < 1:
                raise ValueError("the regex needs one capture group, e.g. '(\\d+)$'")
        return pattern



class ReadSpec(_Strict):
    """How to read one export file: CSV (optionally gzipped) or an Excel workbook (.xlsx)."""

    # The file's name in the input folder; a glob (`Tickets*.xlsx`) must match exactly one file.
    file: str | None = None
    sheet: str | None = None              # .xlsx: the sheet to read; default the first
    delimiter: str = ","
    null_values: list[str] = Field(default_factory=list)   # e.g. ["?"]; empty cells are always null
    # Damaged headers: rename by name, and give the n-th occurrence of a repeated name its own name.
    header_renames: dict[str, str] = Field(default_factory=dict)
    duplicate_headers: dict[str, list[str]] = Field(default_factory=dict)


class SourceSpec(ReadSpec):
    """How to read the tickets export (the one file every mapping needs)."""

    timezone: Zone = "UTC"                # zone of local timestamps (no offset) in the export


class EventFileSpec(ReadSpec):
    """A second export with one row per action, note or event of a ticket, joined on the ticket id."""

    file: str                             # optional to deliver: no matching file means no events
    ticket_id: FieldSpec                  # must give the same ids as tickets.ticket_id
    at: FieldSpec
    event_type: FieldSpec                 # a column (with a map) or a constant `value`
    actor_type: FieldSpec                 # agent / client / system: a mapped column or a constant
    actor: FieldSpec | None = None
    is_public: FieldSpec | None = None
    new_value: FieldSpec | None = None
    event_id: FieldSpec | None = None     # default: <ticket>:<file key>:<row>


class TimeEntriesSpec(ReadSpec):
    """Time entries: from a timesheet export (`file`), or one entry per ticket row without it."""

    ticket_id: FieldSpec | None = None    # required with a file; on the ticket row, the ticket's id
    started_at: FieldSpec
    minutes: FieldSpec | None = None      # give minutes or hours: decimal numbers or h:mm
    hours: FieldSpec | None = None
    work_type: FieldSpec = FieldSpec(value="remote")   # remote / onsite / travel (map a column)
    billable: FieldSpec | None = None     # a boolean column (or map), or a constant; none = billable
    note: FieldSpec | None = None
    entry_id: FieldSpec | None = None     # default: <ticket>:time:<row>

    @model_validator(mode="after")
    def _amount(self) -> TimeEntriesSpec:
        if (self.minutes is None) == (self.hours is None):
            raise ValueError("give exactly one of `minutes` or `hours`")
        if self.file is not None and self.ticket_id is None:
            raise ValueError("a time entries `file` needs `ticket_id` (the column joining it to"
                             " the tickets)")
        if self.file is None and self.sheet is not None:
            raise ValueError("`sheet` needs `file`; without it the entries come from the ticket row")
        return self



class ContractTerms(_Strict):
    """Contract values for generated client rows (per client overrides use the same keys)."""

    name: str | None = None
    plan: str | None = None
    seats: int | None = Field(default=None, gt=0)
    timezone: Zone | None = None
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    subdivision: str | None = None
    after_hours_coverage: bool | None = None
    hourly_rate: float | None = Field(default=None, gt=0)



class ClientsSpec(_Strict):
    """A generated clients file: one contract row per distinct value of the client column."""

    missing_client: str = "unknown"       # client id for tickets whose client column is empty
    name_template: str = "{client_id}"
    plan: str = "unlimited"
    # Seats: a number, or estimated as the distinct requesters the client had over the export.
    seats: int | Literal["distinct_requesters"] = "distinct_requesters"
    min_seats: int = Field(default=1, gt=0)
    timezone: Zone
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    subdivision: str | None = None
    # Country of each client = its client id (upper-cased), when the client column is a country.
    country_from_client: bool = False
    after_hours_coverage: bool = False
    hourly_rate: float | None = Field(default=None, gt=0)
    # Contracts start on this date; none = the first day of the export's first month.
    valid_from: date | None = None
    overrides: dict[str, ContractTerms] = Field(default_factory=dict)


    @field_validator("name_template")
    @classmethod
    def _name(cls, template: str) -> str:
        if "{client_id}" not in template:
            raise ValueError("name_template must contain {client_id}")
        return template


class ChangeSpec(_Strict):
    """An event-log column whose change between consecutive updates is an event."""

    field: FieldSpec
    event_type: str
    # The value before the first update: a literal, "none" (the first update's value is a change)
    # or "first" (the first update sets the intake value, no event).
    initial: str = "none"
    is_public: bool = False


class CreatedSpec(_Strict):
    """The ticket's creation event."""

    at: FieldSpec
    actor: FieldSpec | None = None
    actor_type: Literal["agent", "client", "system"] = "client"
    # Tickets whose canonical `source` is one of these were opened by the client themselves.
    client_sources: list[str] = Field(default_factory=list)
    # A first update stamped at the creation instant by automation records what the creator
    # entered on the form (state, group): its changes are the creator's, not the system's.
    creator_owns_opening_update: bool = False


class EventLogSpec(_Strict):
    """Exports with one row per update of a ticket (an audit trail)."""

    ticket_id: FieldSpec
    event_at: FieldSpec
    actor: FieldSpec
    order_by: list[FieldSpec] = Field(default_factory=list)  # after event_at; file order breaks ties
    system_actors: list[str] = Field(default_factory=list)   # actor values that are automation
    system_actor_pattern: str | None = None                  # or a regex over the actor value
    created: CreatedSpec
    changes: list[ChangeSpec] = Field(min_length=1)
    other_updates: str | None = "update"  # event type of an update that changes no tracked column


class EventSpec(_Strict):
    """Exports with one row per ticket: an event read from a timestamp column of the row."""

    event_type: str
    at: FieldSpec
    actor: FieldSpec | None = None
    actor_type: Literal["agent", "client", "system"]
    is_public: bool = False
    new_value: str | None = None


class Mapping(_Strict):
    """One export format mapped to the canonical landing files."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str = ""
    shape: Literal["tickets", "event_log"]
    source: SourceSpec = SourceSpec()
    tickets: dict[str, FieldSpec]
    extra: dict[str, FieldSpec] = Field(default_factory=dict)  # kept in raw._extra
    clients: ClientsSpec
    event_log: EventLogSpec | None = None
    events: list[EventSpec] = Field(default_factory=list)
    # More exports of the same source, joined on the ticket id; each is optional to deliver.
    event_files: dict[str, EventFileSpec] = Field(default_factory=dict)
    time_entries: TimeEntriesSpec | None = None

    @field_validator("tickets")
    @classmethod
    def _ticket_columns(cls, fields: dict[str, FieldSpec]) -> dict[str, FieldSpec]:
        unknown = sorted(set(fields) - set(TICKET_COLUMNS))
        if unknown:
            raise ValueError(f"not canonical ticket columns: {', '.join(unknown)}"
                             " (put other columns under `extra`)")
        missing = [c for c in REQUIRED_TICKET_COLUMNS if c not in fields]
        if missing:
            raise ValueError(f"missing required ticket column(s): {', '.join(missing)}")
        return fields

    @field_validator("extra")
    @classmethod
    def _extra_names(cls, fields: dict[str, FieldSpec]) -> dict[str, FieldSpec]:
        clash = sorted(set(fields) & set(TICKET_COLUMNS))
        if clash:
            raise ValueError(f"canonical columns belong under `tickets`: {', '.join(clash)}")
        return fields

    @model_validator(mode="after")
    def _shape(self) -> Mapping:
        if self.shape == "event_log":
            if self.event_log is None:
                raise ValueError("shape event_log needs an `event_log` section")
            if "ticket_id" in self.tickets:
                raise ValueError("event logs take the ticket id from event_log.ticket_id")
        else:
            if self.event_log is not None:
                raise ValueError("`event_log` only applies to shape event_log")
            if "ticket_id" not in self.tickets:
                raise ValueError("missing required ticket column: ticket_id (an export without"
                                 " one: `ticket_id: {generate: row_number, template: 'T-{value}'}`"
                                 " or `{generate: hash, columns: [...]}`)")
        if self.time_entries and self.time_entries.file is None and self.shape == "event_log":
            raise ValueError("time_entries without `file` read the ticket row; an event log has"
                             " one row per update, so give the timesheet `file`")
        for key in self.event_files:
            if not re.fullmatch(r"[a-z][a-z0-9_]*", key):
                raise ValueError(f"event_files key {key!r}: use lower-case letters, digits and _")
        return self

    def ticket_id_spec(self) -> FieldSpec:
        return self.event_log.ticket_id if self.event_log else self.tickets["ticket_id"]


def _location(error: dict) -> str:
    return ".".join(str(p) for p in error["loc"] if not str(p).startswith("function-"))


def load_mapping(path: Path | str) -> Mapping:
    """Read and validate a mapping file; raise MappingError naming file, key and problem."""
    path = Path(path)
    data = read_yaml_mapping(path, MappingError, "mapping file")
    try:
        return Mapping.model_validate(data)
    except ValidationError as exc:
        lines = [f"{path}: {_location(e) or '(top)'}: {e['msg']}" for e in exc.errors()]
        raise MappingError("\n".join(lines)) from exc
