"""The term syntax of the classifiers: a term's word slots, alternatives and the check on load."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import (
    AfterValidator,
    Field,
)

# --- Term syntax of the classifiers (logic/text_match.py turns each term into an RE2 pattern) ---
# Lower-case words matched as whole words; `a|b` alternatives for one word; `(a b|c)` alternatives
# that are phrases; `word*` any ending (migrat* = migrate, migrating, migration); `#` a number;
# `word?` an optional word; `...` up to text_matching.gap_words other words; a hyphen inside a word
# also matches a space or nothing. See the comment at the top of config/policy.yaml.
_TERM_CHARS = re.compile(r"^[a-z0-9 '\-*#|.?&+/:@()]+$")


def term_tokens(term: str) -> list[str]:
    """Split a term into word slots, `...` gaps and `(a b|c)` groups; raise ValueError if unbalanced."""
    tokens: list[str] = []
    current = ""
    depth = 0
    for ch in term:
        if ch == "(":
            if depth:
                raise ValueError(f"'{term}': groups cannot be nested")
            depth = 1
        elif ch == ")":
            if not depth:
                raise ValueError(f"'{term}': ')' without '('")
            depth = 0
        if ch == " " and not depth:
            if current:
                tokens.append(current)
            current = ""
        else:
            current += ch
    if depth:
        raise ValueError(f"'{term}': '(' without ')'")
    if current:
        tokens.append(current)
    return tokens


def slot_alternatives(token: str) -> list[str]:
    """The alternatives of one word slot: `a|b|(c d|e)` -> ['a', 'b', 'c d', 'e'] (raises if malformed)."""
    parts: list[str] = []
    current = ""
    depth = 0
    for ch in token:
        depth += (ch == "(") - (ch == ")")
        if ch == "|" and not depth:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    alternatives: list[str] = []
    for part in parts:
        if part.startswith("(") and part.endswith(")"):
            alternatives.extend(part[1:-1].split("|"))
        elif "(" in part or ")" in part:
            raise ValueError(f"'{token}': a group must be a whole alternative, e.g. open|(log in)")
        else:
            alternatives.append(part)
    if any(not a.strip() or "..." in a or "?" in a for a in alternatives):
        raise ValueError(f"'{token}': empty alternative, or '...' or '?' inside one")
    return [" ".join(a.split()) for a in alternatives]


def check_term(term: str) -> str:
    """Normalise one classifier term and raise ValueError naming the term if its syntax is invalid."""
    cleaned = " ".join(str(term).lower().split())
    if not cleaned:
        raise ValueError("empty term")
    if not _TERM_CHARS.match(cleaned):
        raise ValueError(f"'{term}': only letters, digits, spaces and ' - * # | . ? & + / : @ ( ) allowed")
    tokens = term_tokens(cleaned)
    if tokens[0] == "..." or tokens[-1] == "...":
        raise ValueError(f"'{term}': '...' must stand between two words")
    if tokens[0].endswith("?") or tokens[-1].endswith("?"):
        raise ValueError(f"'{term}': the first and last words cannot be optional")
    for a, b in zip(tokens, tokens[1:], strict=False):
        if a == "..." and b == "...":
            raise ValueError(f"'{term}': two '...' in a row")
    for token in tokens:
        if token != "...":
            slot_alternatives(token[:-1] if token.endswith("?") else token)
    return cleaned


Term = Annotated[str, AfterValidator(check_term)]


Weight = Annotated[float, Field(gt=0, lt=1)]
