"""The emergency reading's structured adjustments (policy `emergency`): the client's declaration on
a broad ticket, planned work, the vote's weight in security categories, breadth by the field."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from policy.base import ScopeIds, Strict
from policy.terms import Weight


class DeclaredBreadth(Strict):
    """The client's declaration on a ticket whose structured affected_users is broad."""

    weight: float = Field(default=0.0, ge=0, lt=1)  # 0: off
    min_affected_users: int = Field(default=5, ge=2)
    # Only where some emergency rule of the text matched (before its dampeners): the declaration
    # then says how broad and urgent the matched problem is, instead of being the only evidence.
    requires_signal: bool = False


class PlannedWork(Strict):
    """Planned project work is never an emergency: where the text's neighbours read a planned scope
    exclusion (the semantic scope vote), the emergency reading is multiplied by `factor`."""

    factor: float = Field(default=1.0, gt=0, le=1)  # 1: off
    min_vote: float = Field(default=0.3, gt=0, le=1)
    scope_ids: ScopeIds = Field(default_factory=list)


class BroadField(Strict):
    """Round 17: a ticket whose structured affected_users reaches `min_affected_users` is broad by
    the client's own count, so the text's dampeners (one user, a printer, a quote, maintenance)
    do not lower its reading on `criteria`; the learned signal's hold still applies."""

    min_affected_users: int | None = Field(default=None, ge=2)  # None: off
    criteria: list[str] = Field(default_factory=list)  # emergency criterion ids
    # Round 22: dampener labels the field does not undo (the text names one room's or one device's
    # problem, or one going on for months): they apply whatever the count, and they lower the
    # declared-breadth evidence by their factor too.
    firm: list[str] = Field(default_factory=list)


class SecurityReading(Strict):
    """Round 10: in the ticket categories where security incidents are reported (accounts, email,
    security), the semantic emergency vote weighs `vote_weight` instead of semantic.emergency_weight:
    such incidents are told by what one user saw, with no outage or breadth for the rules to read,
    so the neighbours' reading is most of the evidence there is."""

    # Category values, compared case-insensitively after trimming (like priority_map). Empty: off.
    categories: list[str] = Field(default_factory=list)
    vote_weight: Weight = 0.6

    @field_validator("categories")
    @classmethod
    def _normalised(cls, value: list[str]) -> list[str]:
        return sorted({v.strip().lower() for v in value if v.strip()})


class LaterAsk(Strict):
    """Round 37 (issue 19): an urgent problem told in an ask of its own after a routine one.

    A dampener listed here (a calm or routine one: a request, a cosmetic word, "not urgent") does
    not lower a criterion where the text after the sentence holding its last words (the later
    asks) meets a rule of that criterion by those words alone: every term set of an all_of rule
    there, breadth by the words, not by affected_users (the field counts the whole ticket). Words
    after the outage still lower it ("the server is down ... no rush"); a resolution is read over
    the whole ticket as before (its dampener is not listable: broad_field.firm ones are refused).
    """

    dampeners: list[str] = Field(default_factory=list)  # dampener labels; empty: off
    # Round 39 (issue 19): what a reading a later ask freed is held against no more. The vote, the
    # scope vote and the learned signal read the whole text, most of it the routine first ask's
    # words, so they say nothing of the later ask's outage: `learned_hold` (the signal's hold on a
    # call), `planned_work` (the scope vote's planned-work dampener), `vote_veto` (the neighbours'
    # veto). Empty: the whole-text readings lower it as any other (as before round 39).
    holds_against: list[Literal["learned_hold", "planned_work", "vote_veto"]] = Field(default_factory=list)
    # Round 39: listed dampeners that name a kind of thing, not a calm ask ("printer"): they give
    # way only where the later asks also name a system of the term set `system_set` by their own
    # words ("the stock system"), so a printer's trouble told on in the next sentence ("says
    # offline, patients are waiting") is still the printer's.
    system_named: list[str] = Field(default_factory=list)
    system_set: str = "core_system"
    # Round 42 (issue 19): a later part the client opens as a new ask ("PS", "also", "oh and",
    # "separately") at the start of a sentence or line. A state told of the first ask ("just for
    # your records", "all back now") says nothing of it: the dampeners in `opened_dampeners`
    # (firm or vote-dampening ones, refused in `dampeners`) do not lower a criterion where the
    # text from the first such opener after their last words meets a rule of it by those words
    # alone. Told in or after that part they still lower it (the part then starts after them).
    opened_by: list[str] = Field(default_factory=list)  # openers: lower-case words; empty: off
    opened_dampeners: list[str] = Field(default_factory=list)

    @field_validator("opened_by")
    @classmethod
    def _openers(cls, openers: list[str]) -> list[str]:
        bad = [o for o in openers if not re.fullmatch(r"[a-z']+(?:[ .][a-z']+)*\.?", o)]
        if bad:
            raise ValueError(f"later_ask.opened_by: lower-case words only: {', '.join(map(repr, bad))}")
        if len(openers) != len(set(openers)):
            raise ValueError("later_ask.opened_by: each opener once")
        return openers

    @field_validator("dampeners", "holds_against", "system_named", "opened_dampeners")
    @classmethod
    def _distinct(cls, labels: list[str], info: ValidationInfo) -> list[str]:
        if len(labels) != len(set(labels)):
            raise ValueError(f"later_ask.{info.field_name}: each label once")
        return labels

    @model_validator(mode="after")
    def _freed_by_something(self) -> LaterAsk:
        if self.holds_against and not self.dampeners:
            raise ValueError("later_ask.holds_against: no dampener is read per ask, so no reading is freed")
        unlisted = [n for n in self.system_named if n not in self.dampeners]
        if unlisted:
            raise ValueError(f"later_ask.system_named: not in later_ask.dampeners: {', '.join(unlisted)}")
        if self.opened_dampeners and not self.opened_by:
            raise ValueError("later_ask.opened_dampeners: opened_by names no opener")
        both = [n for n in self.opened_dampeners if n in self.dampeners]
        if both:
            raise ValueError(f"later_ask.opened_dampeners: also in later_ask.dampeners: {', '.join(both)}")
        return self
