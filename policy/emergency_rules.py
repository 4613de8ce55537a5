"""The policy's emergency section: the criteria, their rules and dampeners, and what reads them."""

from __future__ import annotations

from pydantic import Field, model_validator

from policy.base import Strict
from policy.classifiers import Dampener, MatchRule
from policy.emergency_model import EmergencyModel
from policy.emergency_reading import BroadField, DeclaredBreadth, LaterAsk, PlannedWork, SecurityReading
from policy.terms import Term, Weight


class EmergencyCriterion(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1)
    examples: list[str] = Field(default_factory=list)
    rules: list[MatchRule] = Field(default_factory=list)
    concepts: list[str] = Field(default_factory=list)  # plain sentences for the semantic vote


class EmergencyRules(Strict):
    criteria: list[EmergencyCriterion] = Field(min_length=1)
    not_emergency: list[str] = Field(min_length=1)
    min_affected_users: int = Field(ge=2)
    min_confidence: Weight = 0.5
    # Named vocabularies for all_of rules; `several_users` is also met by affected_users.
    term_sets: dict[str, list[Term]] = Field(default_factory=dict)
    dampeners: list[Dampener] = Field(default_factory=list)  # applies_to names criterion ids
    # Situations that are not emergencies (over-declared single-user problems ...), as sentences.
    non_emergency_concepts: list[str] = Field(default_factory=list)
    # Independent, undampened evidence (docs/decisions.md): declared AND affected_users >= N.
    declared_breadth: DeclaredBreadth = Field(default_factory=DeclaredBreadth)
    # Planned project work read by the semantic scope vote dampens the reading (round 7).
    planned_work: PlannedWork = Field(default_factory=PlannedWork)
    # The vote's weight in the categories where security incidents are reported (round 10).
    security_reading: SecurityReading = Field(default_factory=SecurityReading)
    # Broad by the structured field: the text's dampeners do not apply (round 17).
    broad_field: BroadField = Field(default_factory=BroadField)
    # A learned emergency signal as a vote on the reading (round 13; policy/emergency_model.py).
    learned_model: EmergencyModel = Field(default_factory=EmergencyModel)
    # Round 28: the rules, vote and learned signal read the client's message (logic/message.py).
    message_only: bool = False
    # Round 34: dampeners that lower the neighbours' vote on an outage reading too (_vote_state).
    vote_dampened_by: list[str] = Field(default_factory=list)
    # Round 37: calm or routine dampeners that give way to a later ask read on its own (LaterAsk).
    later_ask: LaterAsk = Field(default_factory=LaterAsk)

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
            unknown = [n for n in d.unless_sets if n not in self.term_sets]
            if unknown:
                raise ValueError(f"dampener '{d.label}': unless_sets names unknown term set(s)"
                                 f" {', '.join(unknown)}")
            unknown = [n for n in d.only_with_sets if n not in self.term_sets]
            if unknown:
                raise ValueError(f"dampener '{d.label}': only_with_sets names unknown term set(s)"
                                 f" {', '.join(unknown)}")
            unknown = [a for a in d.applies_to if a not in ids]
            if unknown or not d.applies_to:
                raise ValueError(f"dampener '{d.label}': applies_to must name criteria ids"
                                 f" (unknown: {', '.join(unknown) or 'none given'})")
        bf = self.broad_field
        unknown = [c for c in bf.criteria if c not in ids]
        if unknown or (bf.min_affected_users is not None and not bf.criteria):
            raise ValueError("broad_field.criteria must name criteria ids"
                             f" (unknown: {', '.join(unknown) or 'none given'})")
        labels = {d.label for d in self.dampeners}
        for name, named in (("broad_field.firm", bf.firm), ("vote_dampened_by", self.vote_dampened_by),
                            ("learned_model.dampened_by", self.learned_model.dampened_by)):
            unknown = [n for n in named if n not in labels]
            if unknown:
                raise ValueError(f"{name}: not a dampener's label: {', '.join(unknown)}")
        if self.learned_model.state_bar != "none" and not self.vote_dampened_by:
            raise ValueError("learned_model.state_bar: vote_dampened_by names no dampener"
                             " (the told states it reads)")
        listed = self.later_ask.dampeners
        unknown = [n for n in listed if n not in labels]
        if unknown:
            raise ValueError(f"later_ask.dampeners: not a dampener's label: {', '.join(unknown)}")
        # A state of the problem (over, someone else's, one room's) is read over the whole ticket:
        # a resolution told in the next sentence must still lower the outage of the first.
        stated = [n for n in listed if n in bf.firm or n in self.vote_dampened_by]
        if stated:
            raise ValueError(f"later_ask.dampeners: a firm or vote-dampening dampener is read over the"
                             f" whole ticket: {', '.join(stated)}")
        unknown = [n for n in self.later_ask.opened_dampeners if n not in labels]
        if unknown:
            raise ValueError(f"later_ask.opened_dampeners: not a dampener's label: {', '.join(unknown)}")
        if self.later_ask.system_named and self.later_ask.system_set not in self.term_sets:
            raise ValueError(f"later_ask.system_set: not a term set: {self.later_ask.system_set}")
        rules = {r.label for c in self.criteria for r in c.rules}
        unknown = [n for n in self.learned_model.by_nature if n not in rules]
        if unknown:
            raise ValueError(f"learned_model.by_nature: not a rule's label: {', '.join(unknown)}")
        return self
