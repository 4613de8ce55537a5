"""The policy's classifier sections: scope exclusions, text matching, the semantic vote and the scope
models (the emergency rules: policy/emergency_rules.py)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Field,
    StrictInt,
    field_validator,
    model_validator,
)

from policy.base import (
    Positive,
    ScopeIds,
    Strict,
    check_weights_per_scope_id,
    integer_weights,
    keyed_by_scope_ids,
)
from policy.terms import Term, Weight


class ScopeItem(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1)
    examples: list[str] = Field(default_factory=list)


class MatchRule(Strict):
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


class Dampener(Strict):
    """Wording that lowers confidence (a routine request, one user, a cosmetic issue, ...)."""

    label: str = Field(min_length=1)
    factor: Weight  # confidence is multiplied by this when any phrase matches
    phrases: list[Term] = Field(min_length=1)
    applies_to: list[str] = Field(default_factory=list)  # scope ids / criterion ids; empty = the owner
    whole_call: bool = False  # scope only (round 17): the factor lowers the whole call, not the rules'
    # Wording that cancels the dampener on the ticket: scope (round 22), e.g. an explicit request to
    # buy beside a price question ("which model? please order four"); emergency (round 29), e.g.
    # an act on a reported lure ("clicked", "typed my password") beside "I didn't reply".
    unless: list[Term] = Field(default_factory=list)
    # Emergency only (round 36): names of emergency.term_sets whose wording cancels the dampener as
    # `unless` does, so a vocabulary two readings share is written once (the printer dampener and
    # the no-substitute rule both read "it cannot be done another way").
    unless_sets: list[str] = Field(default_factory=list)
    # Emergency only (round 40): names of emergency.term_sets the text must also meet for the
    # dampener to count (the writer's "I am in Spain" explains a sign-in alert, not a ransom note),
    # so a dampener reads a state told about one kind of report. Empty: no such condition.
    only_with_sets: list[str] = Field(default_factory=list)
    # Emergency only (round 35): the dampener lowers the undampened rules of the criteria it
    # applies to as well (the writer's own explanation, "turned out it was me", takes back even a
    # reading that names an incident by its nature). False: those rules stand, as before.
    reaches_undampened: bool = False


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


class Negation(Strict):
    """A match preceded by a cue (within max_words, same clause) or followed by an after-cue is ignored."""

    cues: list[Term] = Field(min_length=1)
    pseudo: list[Term] = Field(default_factory=list)  # cue phrases that negate nothing ("not sure")
    after_cues: list[Term] = Field(default_factory=list)  # "... not needed"
    max_words: int = Field(ge=0, le=10)


class TextMatching(Strict):
    gap_words: int = Field(ge=1, le=10)  # what `...` in a term allows
    rewrites: dict[Term, str] = Field(default_factory=dict)  # idioms rewritten before matching
    clause_words: list[Term] = Field(default_factory=list)  # negation does not reach across these
    negation: Negation


def _one_scope_id(value: str) -> str:
    """A single scope exclusion id."""
    keyed_by_scope_ids({value: None})
    return value


class NoteSignal(Strict):
    """Wording in the provider's time-entry notes that is evidence of one exclusion by itself."""

    label: str = Field(min_length=1)
    scope_id: Annotated[str, AfterValidator(_one_scope_id)]
    weight: Weight  # as it stands (note_weight does not lower it: this is the provider's own log)
    phrases: list[Term] = Field(min_length=1)


class NoteDampener(Dampener):
    """Round 40: wording in the provider's time-entry notes saying which build was done ("wrote
    a script", "configured the sync", "staff training"): the whole call of the ids it applies_to
    (the ids that build is not) is multiplied by factor, unless the notes also say `unless`."""

    applies_to: list[Annotated[str, AfterValidator(_one_scope_id)]] = Field(min_length=1)
    whole_call: bool = True

    @field_validator("whole_call")
    @classmethod
    def _whole(cls, value: bool) -> bool:
        if not value:  # the notes say what was done: the vote and the word model yield too
            raise ValueError("a note dampener lowers the whole call (whole_call: true)")
        return value


class TimeSignals(Strict):
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
    # Round 36: a ticket read as emergency work (the emergency reading's call, or an emergency
    # priority) was not planned outside hours: its planned_after_hours call as a whole is
    # multiplied by this factor, whatever raised it (the rules read "tonight", the vote). 1: off.
    emergency_after_hours_factor: float = Field(default=1.0, gt=0, le=1)
    # Round 39: what the provider logged having done in its own time-entry notes ("ordered ...",
    # "bought ..."), read as a time signal for one exclusion: not text, so not held by the vote.
    note_signals: list[NoteSignal] = Field(default_factory=list)
    note_dampeners: list[NoteDampener] = Field(default_factory=list)

    @field_validator("onsite_work_types", "travel_work_types")
    @classmethod
    def _lower(cls, values: list[str]) -> list[str]:
        return [v.strip().lower() for v in values]


class FileDigest(Strict):
    file: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class TextModel(Strict):
    """Round 7 (docs/classification.md): per scope id, a logistic regression on the text's embedding,
    fitted on the labelled files by `python -m evaluation.fit_model` into `model_file`; its
    probability is the id's semantic vote where it is higher than the neighbours' vote."""

    enabled: bool = False
    model_file: str = "config/text_model.json"  # relative to the project
    scope_ids: ScopeIds = Field(default_factory=list)
    penalty: float = Field(default=0.1, gt=0)  # ridge penalty on every weight but the intercept


class StoredTextModel(Strict):
    """The fitted text model (config/text_model.json), validated on load."""

    model: str
    dim: int = Field(ge=1)
    penalty: float = Field(gt=0)
    trained_on: list[FileDigest] = Field(min_length=1)
    training_texts: int = Field(ge=1)
    # scope id -> one weight per embedding dimension, then the intercept
    weights: dict[str, list[float]]

    @model_validator(mode="after")
    def _shape(self) -> StoredTextModel:
        check_weights_per_scope_id(self.weights, self.dim + 1)
        return self


class SemanticVote(Strict):
    """The second vote beside the rules: similarity to concepts and labelled exemplars (semantic.py)."""

    enabled: bool = True
    # Labelled tickets (the CSV format of evaluation/labelled_tickets.csv), relative to the project.
    exemplar_files: list[str] = Field(default_factory=lambda: ["evaluation/labelled_tickets.csv"])
    model: str = "l2_supercat"  # a wordllama model whose weights ship inside the installed wheel
    # The wheel ships 256 dimensions; wordllama truncates them to 64 or 128 (matryoshka), no other.
    dim: Literal[64, 128, 256] = 256
    neighbours: int = Field(default=7, ge=1, le=50)  # exemplars that vote per category
    min_similarity: float = Field(default=0.3, ge=0, lt=1)  # a neighbour below this has no vote
    full_similarity: float = Field(default=0.8, gt=0, le=1)  # a neighbour at this votes fully
    scope_weight: Weight = 0.6  # the vote's weight as evidence for an exclusion (all neighbours agree)
    scope_veto: float = Field(default=0.8, gt=0, le=1)  # rule confidence x this when neighbours disagree
    # The disagreeing vote sends the call to review instead of lowering its confidence (round 6).
    veto_to_review: bool = False
    emergency_weight: Weight = 0.6
    emergency_veto: float = Field(default=0.8, gt=0, le=1)
    veto_below: Weight = 0.15  # the neighbours' share under which they disagree
    # Round 9: a scope call whose rules' confidence is at or above this is not held (nor vetoed)
    # by a disagreeing vote: several strong rules agree, and such calls were right as often as the
    # confident ones leave-one-batch-out. 1.0: every disagreed call is held (rounds 6-8).
    hold_below: float = Field(default=1.0, gt=0, le=1)
    # Round 14: a held scope call (veto_to_review) whose vote - the higher of the neighbours' and,
    # with word_model.as_vote, the word model's - is below this is no call at all instead of a call
    # for review: on text nobody had seen such calls were mostly wrong. 0: off (every one is held).
    drop_below: float = Field(default=0.0, ge=0, le=1)
    # Round 8: an emergency call the client did not declare, on an embedded text whose neighbours'
    # emergency vote is below this, stays `needs review` (the rules alone are not billed). 0: off.
    emergency_review_below: float = Field(default=0.0, ge=0, le=1)
    concept_weight: float = Field(default=1.0, gt=0)  # a policy concept sentence as an exemplar
    provider_weight: float = Field(default=2.0, gt=0)  # a provider's own review decision
    # Above this many distinct texts in one run, only texts the rules leave uncertain are embedded
    # (the 1M benchmark's speed budget: docs/classification.md).
    max_texts_all: int = Field(default=200_000, ge=0)
    # Texts where any rule fired below this confidence are "uncertain".
    uncertain_below: Weight = 0.85
    text_model: TextModel = Field(default_factory=TextModel)


Probability = Annotated[float, Field(ge=0, le=1)]


class ConfidenceMap(Strict):
    """A monotone map from a call's raw confidence and its semantic vote to the share of such calls
    that were right when first seen (docs/classification.md, round 11). The map's input is
    1 - (1 - raw) x (1 - vote_weight x vote); `raw` holds the knots of that input, `calibrated` the
    share right at each: linear between the knots, flat outside them."""

    vote_weight: Probability = 0.0
    raw: list[Probability] = Field(min_length=2)
    calibrated: list[Probability]
    # Round 15: the share of *held* calls (the vote disagrees: `needs review` whatever their
    # confidence) that were right, shown as every held call's calibrated confidence; the knots are
    # then fitted on the other calls. None: held calls go through the knots like the others.
    held: Probability | None = None
    # Round 18 (docs/classification.md, "Calibration of the 0.8-0.9 emergency band"): the `held`
    # share for every call whose vote disagrees (below emergency_review_below), declared or not;
    # the call state is unchanged (only undeclared ones are held for review by the vote).
    held_declared: bool = False

    @model_validator(mode="after")
    def _monotone(self) -> ConfidenceMap:
        if len(self.calibrated) != len(self.raw):
            raise ValueError(f"calibrated: {len(self.raw)} knots expected (one per raw knot),"
                             f" got {len(self.calibrated)}")
        if any(b <= a for a, b in zip(self.raw, self.raw[1:], strict=False)):
            raise ValueError("raw: knots must be strictly increasing")
        if any(b < a for a, b in zip(self.calibrated, self.calibrated[1:], strict=False)):
            raise ValueError("calibrated: knots must not decrease (a higher raw confidence is never"
                             " a lower calibrated one)")
        return self


class Calibration(Strict):
    """Round 11: the maps fitted by `python -m evaluation.calibrate` on the first-seen calls of every
    blind batch (`fitted_on`, rebuilt by `python -m evaluation.first_seen`); not hand-edited."""

    fitted_on: FileDigest
    calls: int = Field(ge=1)  # first-seen calls the maps were fitted on
    scope: ConfidenceMap
    emergency: ConfidenceMap


class CallStates(Strict):
    """Abstention: a call is `confident` at or above confident_at, `needs review` between the
    classifier's min_confidence and confident_at, and `none` below (no call). With `calibration`,
    confident_at applies to the calibrated confidence (the call itself - which ids, emergency or
    not - still comes from the raw confidence and the classifier's threshold)."""

    scope_confident_at: Weight = 0.8
    emergency_confident_at: Weight = 0.8
    calibration: Calibration | None = None
    # A ticket the provider opened itself (ticket_unit.provider_initiated_sources: its own
    # monitoring) was not asked for by the client: an automated scope call on it is billed only
    # once a reviewer approves it (marts.scope_hits).
    provider_initiated_needs_review: bool = True
    # Round 38: scope ids whose calls below scope_confident_at are no call instead of `needs review`
    # (their review calls were almost never right first seen; docs/classification.md, round 38).
    confident_only: ScopeIds = Field(default_factory=list)


# The learned combination's inputs, in the order of each id's weights (logic/learned.py computes
# them in SQL): the rules' confidence without the vote, the semantic vote, the hours logged
# (log(1 + h)), onsite / travel work logged, the share of billable minutes outside business hours,
# and rules x vote.
LEARNED_FEATURES = ("rule", "vote", "log_hours", "onsite", "travel", "after_share", "rule_x_vote")


class LearnedScope(Strict):
    """Round 5 (docs/classification.md): per scope id, a logistic regression over LEARNED_FEATURES
    replaces the hand-set combination of rules and vote. Its weights are fitted by
    `python -m evaluation.fit_model` into `model_file` (not hand-edited); the bands below are
    business choices read off the pooled out-of-fold calibration table."""

    enabled: bool = False
    model_file: str = "config/scope_model.json"  # relative to the project
    call_at: Weight = 0.5  # a probability at or above this is a call (below: none)
    confident_at: Weight = 0.7  # ... and at or above this a `confident` one


class ScopeModel(Strict):
    """The fitted weights (config/scope_model.json), validated on load."""

    features: list[str]
    l2: float = Field(gt=0)
    trained_on: list[FileDigest] = Field(min_length=1)
    training_rows: int = Field(ge=1)
    # scope id -> one weight per feature, then the intercept
    weights: dict[str, list[float]]

    @model_validator(mode="after")
    def _shape(self) -> ScopeModel:
        if tuple(self.features) != LEARNED_FEATURES:
            raise ValueError(f"features must be {list(LEARNED_FEATURES)} (refit the model)")
        check_weights_per_scope_id(self.weights, len(LEARNED_FEATURES) + 1)
        return self


class WordModel(Strict):
    """Round 12 (docs/classification.md): per scope id, an L2 logistic regression over the ticket
    text's word unigrams and bigrams (lower-cased, stop words and numbers dropped, in at least
    `min_df` training tickets; binary) and the call's structured signals (category, on-site work,
    work outside hours, hours logged), fitted on semantic.exemplar_files by
    `python -m evaluation.fit_model` into `model_file`. Scored in SQL (logic/word_model.py): its
    probability p is evidence of weight `weight` x p in the noisy-or, and, with `as_vote`, the
    vote a rule call is held against is the higher of the neighbours' vote and p."""

    enabled: bool = False
    model_file: str = "config/word_model.json"  # relative to the project
    scope_ids: ScopeIds = Field(default_factory=list)
    penalty: float = Field(default=1.0, gt=0)  # ridge penalty on every weight but the intercept
    min_df: int = Field(default=2, ge=1)  # a term must appear in this many training tickets
    weight: float = Field(default=0.5, ge=0, le=1)  # 0: a vote only (as_vote), never evidence
    # Round 18: an id's own weight, where the policy sets one (the others take `weight`).
    weight_by_id: Annotated[dict[str, Weight], AfterValidator(keyed_by_scope_ids)] = Field(
        default_factory=dict)
    as_vote: bool = True
    # True: a call is `confident` only when its confidence without the word model's evidence is
    # (the model finds calls and raises them for a reviewer; it never bills one on its own).
    review_only: bool = False


class StoredWordModel(Strict):
    """The fitted word model (config/word_model.json), validated on load."""

    tokenizer: str = Field(pattern=r"^[0-9a-f]{64}$")  # digest of the tokenisation (logic/word_model.py)
    penalty: float = Field(gt=0)
    min_df: int = Field(ge=1)
    trained_on: list[FileDigest] = Field(min_length=1)
    training_texts: int = Field(ge=1)
    message_only: bool = False  # fitted on the texts' messages (scope_classification.message_only)
    # Features: text terms ("vpn", "new laptop") and structured ones (starting with "="); scope id
    # -> the intercept, then one weight per feature, each an integer in units of 10^-decimals
    # (round 42: 43% of the float text; logic/word_model.weight_array reads them).
    features: list[str] = Field(min_length=1)
    decimals: StrictInt = Field(ge=0, le=9)
    weights: dict[str, list[StrictInt]]

    @model_validator(mode="before")
    @classmethod
    def _integers(cls, data: Any) -> Any:
        return integer_weights(data)

    @model_validator(mode="after")
    def _shape(self) -> StoredWordModel:
        if len(set(self.features)) != len(self.features):
            raise ValueError("features: repeated")
        check_weights_per_scope_id(self.weights, len(self.features) + 1)
        return self


class ScopeChain(Strict):
    """Round 15 (docs/classification.md): a classifier chain for ids that are the whole of several
    parts (structured_project: multi-step planned work). Per id of `scope_ids`, an L2 logistic
    regression over the other ids (fitted on their true labels, applied to the first stage's
    confidences), how many other ids there are, and the ticket's shape (affected users, hours
    logged, several entries, several work types, several visits), fitted on semantic.exemplar_files by
    `python -m evaluation.fit_model` into `model_file`. Its probability p lifts a candidate below
    the id's call threshold: 1 - (1 - confidence) x (1 - `weight` x p); a call so made is held for
    review (never confident, never billed unreviewed)."""

    enabled: bool = False
    model_file: str = "config/chain_model.json"  # relative to the project
    scope_ids: ScopeIds = Field(default_factory=list)
    penalty: float = Field(default=1.0, gt=0)  # ridge penalty on every weight but the intercept
    weight: float = Field(default=1.0, ge=0, le=1)


class ScopeClassification(Strict):
    min_confidence: Weight
    # Round 14: the confidence a call on this id needs (instead of min_confidence), chosen
    # leave-one-batch-out; min_confidence still decides which ids were found for only_alone signals.
    call_at_by_id: Annotated[dict[str, Weight], AfterValidator(keyed_by_scope_ids)] = Field(
        default_factory=dict)
    note_weight: float = Field(gt=0, le=1)  # matches in time-entry notes count this much
    # Round 30: an id found beside one of its listed ids counts only its own rules' evidence there
    # (structured project beside the migration or rollout that is the project: docs/decisions.md).
    own_evidence_beside: Annotated[dict[str, ScopeIds], AfterValidator(keyed_by_scope_ids)] = Field(
        default_factory=dict)
    dampeners: list[Dampener] = Field(default_factory=list)  # applies_to names scope ids
    time_signals: TimeSignals
    semantic: SemanticVote = SemanticVote()
    call_states: CallStates = CallStates()
    learned: LearnedScope = LearnedScope()
    word_model: WordModel = WordModel()
    chain: ScopeChain = ScopeChain()
    # What standard (included) support looks like, as plain sentences: exemplars of "no exclusion".
    standard_concepts: list[str] = Field(default_factory=list)
    message_only: bool = False  # round 29: rules, vote, word model read the message (logic/message.py)
