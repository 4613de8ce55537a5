"""The fitted classifier chain (logic/scope_chain.py; its settings: policy.classifiers.ScopeChain)."""

from __future__ import annotations

from pydantic import Field, model_validator

from policy.base import SCOPE_EXCLUSION_IDS, Strict
from policy.classifiers import FileDigest


class StoredChainModel(Strict):
    """The fitted classifier chain (config/chain_model.json), validated on load."""

    penalty: float = Field(gt=0)
    trained_on: list[FileDigest] = Field(min_length=1)
    training_tickets: int = Field(ge=1)
    features: list[str] = Field(min_length=1)  # logic/scope_chain.FEATURES when fitted
    weights: dict[str, list[float]]  # scope id -> the intercept, then one weight per feature

    @model_validator(mode="after")
    def _shape(self) -> StoredChainModel:
        for sid, w in self.weights.items():
            if sid not in SCOPE_EXCLUSION_IDS:
                raise ValueError(f"weights.{sid}: not a scope exclusion id")
            if len(w) != len(self.features) + 1:
                raise ValueError(f"weights.{sid}: {len(self.features) + 1} numbers expected, got {len(w)}")
        return self
