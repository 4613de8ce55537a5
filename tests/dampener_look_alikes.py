"""The one shape of the "dampener look-alike" test modules (rounds 37, 38, 40): emergency false
alarms a dampener must take away, each beside a near ticket that must still be called.

A module of this kind is its tickets and a few lines: NOT_CALLED, the look-alikes (subject,
description, category, affected users, declared, the dampener the rules must read it by); CALLED,
the near tickets (the same fields, no dampener); LIMITS, look-alikes still called (subject ->
why), held as strict xfails; and the dampener names its near tickets must cancel. `LookAlikes`
gives its case set for the module's own `shipped_cases()` (the session design,
tests/shipped_calls.py: a module declares its cases itself), the rules' one-ticket cases for
`read_ahead_fixture` (tests/rule_matches.py), and the four tests, which the module assigns to its
own names (so node ids and `-k` are as if it defined them):

- a look-alike is not called by the whole classifier (the session's one shipped classification,
  read through the module's `emergency` fixture: `calls_fixture(..., part="emergency")`);
- a near ticket is called by it;
- the rules alone read each look-alike by its dampener, and do not call it;
- the rules alone call each near ticket, and none of the module's dampeners stands on it.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from policy.config import PolicyConfig, default_policy
from tests.rule_matches import Case, shipped_reading
from tests.test_classify import _t

# (subject, description, category, affected users, declared, the dampener the rules must meet)
LookAlike = tuple[str, str, str, int, bool, str]
# (subject, description, category, affected users, declared)
Near = tuple[str, str, str, int, bool]


@dataclass(frozen=True)
class LookAlikes:
    """A module's look-alikes and near tickets, declared as the case set `case` of its
    `shipped_cases()`; `numbered` adds each ticket's index to its test id (round 40's ids)."""

    case: str
    not_called: list[LookAlike]
    called: list[Near]
    cancels: frozenset[str]
    limits: dict[str, str] = field(default_factory=dict)
    numbered: bool = False

    def cases(self) -> dict[str, list[tuple]]:
        """The case set for the module's `shipped_cases()`: look-alikes n00.., near tickets r00.."""
        return {self.case: [_t(f"n{i:02d}", s, d, c, a, dec)
                            for i, (s, d, c, a, dec, _) in enumerate(self.not_called)]
                + [_t(f"r{i:02d}", s, d, c, a, dec) for i, (s, d, c, a, dec) in enumerate(self.called)]}

    def rule_cases(self) -> list[Case]:
        """Every ticket as the rules alone read it (subject, description, affected, declared)."""
        return [(s, d, a, dec) for s, d, _, a, dec, *_ in [*self.not_called, *self.called]]

    def _ids(self, rows: list) -> list[str]:
        return [row[0] + f" {i}" if self.numbered else row[0] for i, row in enumerate(rows)]

    def tests(self) -> tuple[Callable, Callable, Callable, Callable]:
        """(look-alike not called, near ticket called, the rules read the look-alike by its
        dampener, the near ticket cancels the dampeners): for the module to name as its tests."""
        not_called, called, cancels = self.not_called, self.called, self.cancels
        ids_not, ids_called = self._ids(not_called), self._ids(called)
        # A look-alike the policy still calls is a limit: strict, so a change that fixes it says so.
        held = [pytest.param(i, id=name, marks=[pytest.mark.xfail(strict=True, reason=self.limits[row[0]])]
                             if row[0] in self.limits else [])
                for i, (name, row) in enumerate(zip(ids_not, not_called, strict=True))]

        @pytest.mark.parametrize("i", held)
        def look_alike_not_called(emergency: dict, i: int) -> None:
            qualifies, confidence, evidence, _state = emergency[f"n{i:02d}"]
            assert not qualifies, (not_called[i][1], confidence, evidence)

        @pytest.mark.parametrize("i", range(len(called)), ids=ids_called)
        def near_ticket_called(emergency: dict, i: int) -> None:
            qualifies, confidence, evidence, _state = emergency[f"r{i:02d}"]
            assert qualifies, (called[i][1], confidence, evidence)

        @pytest.mark.usefixtures("rules_read_ahead")
        @pytest.mark.parametrize("i", range(len(not_called)), ids=ids_not)
        def rules_read_the_look_alike_by_its_dampener(i: int) -> None:
            subject, description, _category, affected, declared, damper = not_called[i]
            is_called, confidence, dampeners, rules = shipped_reading(subject, description, affected,
                                                                      declared)
            assert damper in dampeners and not is_called, (confidence, dampeners, rules)

        @pytest.mark.usefixtures("rules_read_ahead")
        @pytest.mark.parametrize("i", range(len(called)), ids=ids_called)
        def near_ticket_cancels_the_dampener(i: int) -> None:
            subject, description, _category, affected, declared = called[i]
            is_called, confidence, dampeners, rules = shipped_reading(subject, description, affected,
                                                                      declared)
            assert is_called and not cancels & set(dampeners), (confidence, dampeners, rules)

        return (look_alike_not_called, near_ticket_called, rules_read_the_look_alike_by_its_dampener,
                near_ticket_cancels_the_dampener)


# (the rule's label, subject, description, affected users)
RuleCase = tuple[str, str, str, int]


@dataclass(frozen=True)
class RuleLookAlikes:
    """A recall module's tickets (rounds 40, 41): each of `called` must be called on the rule it
    names, none of `not_called` (its near tickets, the rule's limits) may be; ids `<prefix>00..`,
    the near tickets after the called ones, all as "Other", not declared."""

    prefix: str
    called: list[RuleCase]
    not_called: list[RuleCase]

    def tickets(self) -> list[tuple]:
        """The tickets for the module's `shipped_cases()` (more may follow them)."""
        return [_t(f"{self.prefix}{i:02d}", s, d, "Other", a, False)
                for i, (_rule, s, d, a) in enumerate([*self.called, *self.not_called])]

    def near_id(self, i: int) -> str:
        """The ticket id of near ticket `i`."""
        return f"{self.prefix}{len(self.called) + i:02d}"

    def tests(self) -> tuple[Callable, Callable]:
        """(called on its rule, near ticket not called): for the module to name as its tests."""
        called, not_called, prefix, near_id = self.called, self.not_called, self.prefix, self.near_id

        @pytest.mark.parametrize("i", range(len(called)))
        def called_on_its_rule(emergency: dict, i: int) -> None:
            qualifies, confidence, evidence, _state = emergency[f"{prefix}{i:02d}"]
            assert qualifies and called[i][0] in evidence, (called[i], confidence, evidence)

        @pytest.mark.parametrize("i", range(len(not_called)))
        def near_ticket_not_called(emergency: dict, i: int) -> None:
            qualifies, confidence, evidence, _state = emergency[near_id(i)]
            assert not qualifies, (not_called[i], confidence, evidence)

        return called_on_its_rule, near_ticket_not_called

    def limits_test(self, limits: list[tuple[int, str]]) -> Callable:
        """A test that each near ticket `i` of `limits` meets its rule and is lowered by the
        dampener named beside it (the rule's limit), not missed by the rule."""
        near_id, not_called = self.near_id, self.not_called

        def lowered_by_its_limit(emergency: dict) -> None:
            for i, label in limits:
                evidence = emergency[near_id(i)][2]
                assert not_called[i][0] in evidence and label in evidence, (not_called[i], evidence)

        return lowered_by_its_limit


def missing_term_set_refused(names: list[str]) -> Callable:
    """A test that the shipped policy with any one of `names` deleted from emergency.term_sets is
    refused, naming it (a rule or dampener must not read a set that is not there)."""

    @pytest.mark.parametrize("name", names)
    def rule_naming_a_missing_term_set_refused(name: str) -> None:
        data = default_policy().model_dump()
        del data["emergency"]["term_sets"][name]
        with pytest.raises(Exception, match=name):
            PolicyConfig.model_validate(data)

    return rule_naming_a_missing_term_set_refused
