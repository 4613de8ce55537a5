"""One classification, per test process, of every ticket the classifier tests classify under the
shipped policy and the built-in exemplar bank, and each module's view of its own tickets' rows.

A classification's cost is per statement, not per ticket (the bank, the cones, the rules' 1 MB of
SQL prepared and run: about 2 s of CPU for one ticket or a hundred), and a ticket's call reads its
own text, fields and time entries only (the vote is per distinct text; `max_texts_all`, the one
setting that looks at the whole input, is 200,000 texts). So the modules' ticket sets are
classified together once: a module declares them in `shipped_cases()` (name -> tickets), the
session fixture `shipped_calls` (tests/conftest.py) gathers them from the collected modules, and a
test reads its module's rows through `ShippedCalls.of(module)`. Ticket ids are prefixed
`<module>:<case>/` in the one call and given back as the module wrote them. Tests under another
policy or bank keep their own `classify` call. `calls_fixture` makes a module's fixture reading
one of its sets, so that a look-alike module is its tickets, its `shipped_cases()` and its asserts.
"""

from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Literal

import duckdb
import pytest

# The function a test module defines to declare its cases: name -> list of tickets.
CASES = "shipped_cases"


def declared_cases(modules: Iterable[ModuleType]) -> dict[str, list[tuple]]:
    """`<module>:<case>` -> tickets, from each module's own `shipped_cases()` (not an imported one)."""
    cases: dict[str, list[tuple]] = {}
    for module in sorted(set(modules), key=lambda m: m.__name__):
        declare: Callable[[], dict] | None = getattr(module, CASES, None)
        if declare is None or declare.__module__ != module.__name__:
            continue
        for name, tickets in declare().items():
            cases[f"{module.__name__}:{name}"] = list(tickets)
    return cases


class ShippedCalls:
    """The shipped policy's calls on every declared case set, from one classification."""

    def __init__(self, cases: dict[str, list[tuple]], scope: dict, emergency: dict,
                 scope_rows: list[tuple], con: duckdb.DuckDBPyConnection) -> None:
        self.cases, self.scope, self.emergency, self.scope_rows = cases, scope, emergency, scope_rows
        self.con = con

    def of(self, module: str) -> "ModuleCalls":
        """The view of one module's case sets (`module` is its `__name__`)."""
        return ModuleCalls(self, module)


class ModuleCalls:
    """A module's case sets: `(scope, emergency)` of a set by calling it, its scope rows, each scope
    call's state, and a further statement's rows over the same classification."""

    def __init__(self, calls: ShippedCalls, module: str) -> None:
        self._calls, self._module = calls, module

    def _prefix(self, name: str) -> str:
        key = f"{self._module}:{name}"
        if key not in self._calls.cases:  # a set the module did not declare: say so, not {}
            raise KeyError(f"{key} is not among the declared shipped cases")
        return key + "/"

    def __call__(self, name: str) -> tuple[dict, dict]:
        prefix = self._prefix(name)
        ids = [t[0] for t in self._calls.cases[prefix[:-1]]]
        return ({i: self._calls.scope[prefix + i] for i in ids},
                {i: self._calls.emergency[prefix + i] for i in ids})

    def rows(self, name: str, sql: str) -> list[tuple]:
        """The rows of `sql` (ticket id first) over the connection the classification left
        (RULES, READING, clf_tickets...) for the set's tickets, their ids as the set gives them."""
        prefix = self._prefix(name)
        return [(tid[len(prefix):], *rest) for tid, *rest in self._calls.con.execute(sql).fetchall()
                if tid.startswith(prefix)]

    def scope_rows(self, name: str) -> list[tuple]:
        """The scope statement's rows (ticket id, scope id, confidence, evidence, state) of the set."""
        prefix = self._prefix(name)
        return [(tid[len(prefix):], *rest) for tid, *rest in self._calls.scope_rows
                if tid.startswith(prefix)]

    def states(self, name: str) -> dict[tuple[str, str], str]:
        """(ticket id, scope id) -> call state, for the set's scope calls."""
        return {(tid, sid): state for tid, sid, _, _, state in self.scope_rows(name)}


def calls_fixture(name: str, case: str | None = None,
                  part: Literal["scope", "emergency"] = "scope") -> Callable:
    """A module-scoped fixture `name`: ticket id -> the shipped policy's calls on the module's set
    `case` (`name` by default) of its `shipped_cases()`. The scope part gives scope id ->
    (confidence, evidence) per ticket, the emergency part (qualifies, confidence, evidence, state):
    `classify`'s two results, from the session's one classification (`shipped_calls`)."""
    index = {"scope": 0, "emergency": 1}[part]

    @pytest.fixture(scope="module", name=name)
    def _calls(shipped_calls: ShippedCalls, request: pytest.FixtureRequest) -> dict:
        """Ticket id -> the shipped policy's calls on a set of the module's `shipped_cases()`
        (tests/shipped_calls.py's `calls_fixture`)."""
        return shipped_calls.of(request.module.__name__)(case or name)[index]

    return _calls
