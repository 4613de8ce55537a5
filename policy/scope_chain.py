"""The fitted classifier chain (logic/scope_chain.py; its settings: policy.classifiers.ScopeChain)."""

from __future__ import annotations

from pydantic import Field, model_validator

from policy.base import Strict, check_weights_per_scope_id
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
        check_weights_per_scope_id(self.weights, len(self.features) + 1)
        return self
