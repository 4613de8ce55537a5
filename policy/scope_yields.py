"""Round 25: a scope id that gives way to another id called on the same ticket
(`scope_classification.yields`; the SQL: logic/scope_rules.py `yielded_cte`)."""

from __future__ import annotations

from pydantic import Field, TypeAdapter, model_validator

from policy.base import ScopeIds, Strict
from policy.terms import Term

_SCOPE_IDS: TypeAdapter[list[str]] = TypeAdapter(ScopeIds)


class Yield(Strict):
    """Round 25: two ids the labels rarely give together; called together, `scope_id` gives way."""

    label: str = Field(min_length=1)
    scope_id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")  # the call dropped
    to: str = Field(pattern=r"^[a-z][a-z0-9_]*$")  # when this id is called on the same ticket too
    unless: list[Term] = Field(min_length=1)  # the ticket's own wording for `scope_id`: both stay

    @model_validator(mode="after")
    def _two_ids(self) -> Yield:
        ids = _SCOPE_IDS.validate_python([self.scope_id, self.to])
        if ids[0] == ids[1]:
            raise ValueError(f"yields '{self.label}': scope_id and to must differ")
        return self


def one_way(yields: list[Yield]) -> list[Yield]:
    """Refuse two yields on one pair of ids, either way: each would drop the other's call."""
    pairs = [(y.scope_id, y.to) for y in yields]
    if len(set(pairs)) != len(pairs) or any((b, a) in pairs for a, b in pairs):
        raise ValueError("two yields on one pair of ids (either way) would drop both calls")
    return yields
