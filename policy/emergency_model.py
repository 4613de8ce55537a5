"""Round 13 (docs/classification.md): the learned emergency signal's settings and its stored file."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from policy.base import Strict


class EmergencyModel(Strict):
    """An L2 logistic regression over the ticket text's word unigrams and bigrams (the word model's
    tokenisation, logic/word_model.py) and the reading's structured signals (declared emergency,
    log(1 + affected users), the category, the rules' confidence, the semantic emergency vote),
    fitted on semantic.exemplar_files by `python -m evaluation.fit_model` into `model_file` (each
    file's vote taken with that file out of the bank, as a new batch's is). Scored in SQL
    (logic/emergency_model.py). Its probability p is a vote on the reading (logic/emergency.py): a
    reading below emergency.min_confidence is raised to p where p reaches `raise_at`, a call is
    multiplied by `hold_factor` where p is below `hold_below` (with `hold_full`, by a factor growing
    from hold_factor to 1 as p runs from hold_below to hold_full); a reading the rules dampened on a
    ticket of few affected users (a dampener of `dampened_by`) is raised only where p reaches
    `raise_at_dampened`."""

    enabled: bool = False
    model_file: str = "config/emergency_model.json"  # relative to the project
    penalty: float = Field(default=1.0, gt=0)  # ridge penalty on every weight but the intercept
    min_df: int = Field(default=2, ge=1)  # a term must appear in this many training tickets
    raise_at: float | None = Field(default=None, gt=0, le=1)  # None: never raises a reading
    # Round 16 (issue 19): a reading one of the emergency.dampeners labelled in `dampened_by` matched
    # (a single-user issue), on a ticket counting fewer than emergency.min_affected_users, is raised
    # only where p reaches `raise_at_dampened` (or raise_at, the higher); None: raise_at alone.
    raise_at_dampened: float | None = Field(default=None, gt=0, le=1)
    dampened_by: list[str] = Field(default_factory=list)
    # Round 36 (e36b): the higher bar is not applied where a rule of `by_nature` was met (a payment
    # diversion whose writer "hasn't paid yet" is still the incident by its nature). False: the bar
    # applies whatever rule was met (as before).
    bar_spares_by_nature: bool = False
    # Round 39 (issue 19): where a dampener of emergency.vote_dampened_by lowered the rules' outage
    # or disruption reading (a state the words cannot read: over, someone else's, the work still
    # done another way; the neighbours' vote is lowered for it already), the signal raises it only
    # from raise_at_dampened ("higher") or not at all ("off"), whatever the field counts. "none":
    # raise_at (as before).
    state_bar: Literal["none", "higher", "off"] = "none"
    # Round 17: a reading left below the call threshold and not raised takes p as evidence of this
    # weight (noisy-or, 1 - (1 - reading) x (1 - weight x p)); not where the single-user bar
    # applies. 0: off.
    weight_below: float = Field(default=0.0, ge=0, lt=1)
    # Round 35 (issue 19): the lift needs p of at least lift_from: a p low enough to hold a call
    # (below hold_full) is not evidence for one, so it does not lift a reading over the bar either.
    # None: every p lifts (as before).
    lift_from: float | None = Field(default=None, ge=0, le=1)
    hold_below: float = Field(default=0.0, ge=0, lt=1)  # 0 (and no hold_full): never holds a call
    # Round 28 (issue 19): the hold without a cliff in p. A call whose p is below hold_full is
    # multiplied by hold_factor + (1 - hold_factor) x (p - hold_below) / (hold_full - hold_below),
    # hold_factor itself below hold_below: a refit that moves p a little moves the reading a little.
    # None: the step (hold_factor below hold_below, no hold above).
    hold_full: float | None = Field(default=None, gt=0, le=1)
    # Round 18: emergency rules (labels, read from the rules' rules_met column; round 19: any rule,
    # not only all_of ones) that name an incident by its nature: a call on a text that met one is not
    # held by a low p. Empty: off.
    by_nature: list[str] = Field(default_factory=list)
    hold_factor: float = Field(default=0.5, gt=0, le=1)
    # Round 14: signal groups beside the words (logic/emergency_model.text_rows_sql): the subject's
    # words as terms of their own, the text's form (a machine-written alert), its length, the rules'
    # vocabularies met one by one, nobody counted, a forwarded notice, its field values, run-on speech.
    signals: list[Literal["subject", "form", "length", "term_sets", "no_users", "forwarded", "fields",
                              "speech"]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _dampened_bar(self) -> EmergencyModel:
        if self.raise_at_dampened is not None and not self.dampened_by:
            raise ValueError("raise_at_dampened: dampened_by names no dampener")
        if self.state_bar == "higher" and self.raise_at_dampened is None:
            raise ValueError("state_bar: 'higher' needs raise_at_dampened (the bar it holds a raise to)")
        if self.bar_spares_by_nature and not self.by_nature:
            raise ValueError("bar_spares_by_nature: by_nature names no rule")
        if self.hold_full is not None and self.hold_full <= self.hold_below:
            raise ValueError("hold_full: must be above hold_below (the ramp runs from one to the other)")
        return self


class StoredEmergencyModel(Strict):
    """The fitted emergency model (config/emergency_model.json), validated on load."""

    tokenizer: str = Field(pattern=r"^[0-9a-f]{64}$")  # digest of the tokenisation (logic/word_model.py)
    penalty: float = Field(gt=0)
    min_df: int = Field(ge=1)
    trained_on: list[dict[str, str]] = Field(min_length=1)  # file, sha256
    training_texts: int = Field(ge=1)
    signals: list[str] = Field(default_factory=list)  # emergency.learned_model.signals it was fitted with
    # Text terms ("outage", "all users") and structured ones (starting with "="); the weights are
    # the intercept, then one per feature.
    features: list[str] = Field(min_length=1)
    weights: list[float]

    @model_validator(mode="after")
    def _shape(self) -> StoredEmergencyModel:
        if len(set(self.features)) != len(self.features):
            raise ValueError("features: repeated")
        if len(self.weights) != len(self.features) + 1:
            raise ValueError(f"weights: {len(self.features) + 1} numbers expected, got {len(self.weights)}")
        return self
