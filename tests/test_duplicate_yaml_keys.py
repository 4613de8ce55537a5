"""A key repeated in the policy config or an adapter mapping stops the load, naming file and key path.

Plain YAML keeps the last of two equal keys, so a pasted second rate replaced the first silently
(review 2026-12-03, case 42).
"""

from pathlib import Path

import pytest
import yaml

from adapters.mapping import MappingError, load_mapping
from policy.base import PolicyConfigError
from policy.config import load_policy
from policy.paths import PROJECT_ROOT
from policy.strict_yaml import DuplicateKeyError, load_unique

SHIPPED_POLICY = PROJECT_ROOT / "config" / "policy.yaml"
EXAMPLE_MAPPING = PROJECT_ROOT / "config" / "mappings" / "example_helpdesk.yaml"


def _edited(source: Path, tmp_path: Path, after: str, insert: str) -> Path:
    """A copy of ``source`` with ``insert`` added after the only line equal to ``after``."""
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    at = [i for i, line in enumerate(lines) if line.rstrip("\n") == after]
    assert len(at) == 1, f"{after!r} is not one line of {source}"
    lines.insert(at[0] + 1, insert)
    path = tmp_path / source.name
    path.write_text("".join(lines), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("after", "insert", "key"),
    [
        # The review's cases: a second onsite rate, and a second unlimited plan.
        ("    planned_after_hours: 225.0", "    onsite: 16.5\n", "rate_card.by_scope_exclusion.onsite"),
        ("      units_per_seat_month: 1.5",
         "    unlimited:\n      name: Unlimited\n      units_per_seat_month: 0.1\n",
         "fair_use.plans.unlimited"),
    ],
)
def test_policy_with_a_duplicate_key_is_refused(tmp_path, after, insert, key):
    path = _edited(SHIPPED_POLICY, tmp_path, after, insert)
    with pytest.raises(PolicyConfigError) as err:
        load_policy(path)
    message = str(err.value)
    assert str(path) in message
    assert f"{key}: duplicate key (line " in message


def test_mapping_with_a_duplicate_key_is_refused(tmp_path):
    path = _edited(EXAMPLE_MAPPING, tmp_path, "  category: {column: Category}",
                   "  category: {column: Channel}\n")
    with pytest.raises(MappingError) as err:
        load_mapping(path)
    assert f"{path}: tickets.category: duplicate key (line " in str(err.value)


def test_shipped_files_have_no_duplicate_keys():
    load_policy(SHIPPED_POLICY)
    for mapping in sorted((PROJECT_ROOT / "config" / "mappings").glob("*.yaml")):
        load_mapping(mapping)


# libyaml's composer (the default where PyYAML has it) and PyYAML's own (where it does not, and for
# a text libyaml refuses) read alike.
LOADERS = [None, yaml.SafeLoader] + ([yaml.CSafeLoader] if hasattr(yaml, "CSafeLoader") else [])


@pytest.mark.parametrize("loader", LOADERS)
def test_unique_keys_loader_reads_like_safe_load_and_names_lines(loader):
    # Keys compare as YAML values; merge keys may be overridden; list items are numbered in the path.
    text = "a: {1: x, '1': y}\nb: &b {k: 1}\nc:\n  <<: *b\n  k: 2\n"
    assert load_unique(text, loader) == yaml.safe_load(text) == {
        "a": {1: "x", "1": "y"}, "b": {"k": 1}, "c": {"k": 2}}
    with pytest.raises(DuplicateKeyError) as err:
        load_unique("items:\n- id: a\n  id: b\n", loader)
    assert (err.value.path, err.value.line, err.value.first_line) == ("items.0.id", 3, 2)
    with pytest.raises(DuplicateKeyError, match=r"^x\.true: duplicate key"):
        load_unique("x: {on: 1, true: 2}\n", loader)
    # The first duplicate in the text is named, however deep; an empty document is None.
    with pytest.raises(DuplicateKeyError, match=r"^a\.b\.c: duplicate key \(line 4, first at line 3\)"):
        load_unique("a:\n  b:\n    c: 1\n    c: 2\nz: 1\nz: 2\n", loader)
    assert load_unique("", loader) is None


def test_a_text_yaml_refuses_raises_pyyamls_own_error():
    with pytest.raises(yaml.YAMLError, match="mapping values are not allowed here") as err:
        load_unique("a: b: c\n")
    assert not isinstance(err.value, DuplicateKeyError) and err.value.problem_mark.line == 0
