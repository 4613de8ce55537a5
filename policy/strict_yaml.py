"""YAML for hand-edited config files: a key repeated in one mapping is an error, not "last one wins".

PyYAML keeps the last of two equal keys silently, so a pasted second `onsite: 16.5` under
`rate_card.by_scope_exclusion` would replace the rate without a word. The policy config and the
adapter mappings are read with ``load_unique`` instead, which names the key's full path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

_MERGE_TAG = "tag:yaml.org,2002:merge"


class DuplicateKeyError(yaml.YAMLError):
    """A mapping holds the same key twice; ``path`` is its dotted path from the document's top."""

    def __init__(self, path: str, line: int, first_line: int) -> None:
        self.path, self.line, self.first_line = path, line, first_line
        super().__init__(f"{path}: duplicate key (line {line}, first at line {first_line});"
                         " each key may appear once in its mapping")


def _check_mapping(loader: yaml.SafeLoader, node: MappingNode, path: list[str]) -> None:
    """Raise DuplicateKeyError if the mapping `node` (at `path`) holds a key twice."""
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        if not isinstance(key_node, ScalarNode) or key_node.tag == _MERGE_TAG:
            continue
        # Keys compare as YAML values: `1` and `"1"` differ, `on` and `true` are one key.
        try:
            key = loader.construct_object(key_node, deep=True)
            hash(key)
        except (yaml.YAMLError, TypeError):
            key = (key_node.tag, key_node.value)
        line = key_node.start_mark.line + 1
        if key in seen:
            raise DuplicateKeyError(".".join([*path, str(key_node.value)]), line, seen[key])
        seen[key] = line


def _check_tree(loader: yaml.SafeLoader, node: Node, path: list[str], checked: set[int]) -> None:
    """`_check_mapping` over a composed document, a mapping after its keys and values, in document
    order (the first duplicate in the text is the one named). An anchored node is checked once,
    where it is defined."""
    if id(node) in checked:
        return
    checked.add(id(node))
    if isinstance(node, MappingNode):
        for key_node, value_node in node.value:
            _check_tree(loader, key_node, path, checked)
            step = key_node.value if isinstance(key_node, ScalarNode) else "?"
            _check_tree(loader, value_node, [*path, str(step)], checked)
        _check_mapping(loader, node, path)
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            _check_tree(loader, item, [*path, str(index)], checked)


def _load_checked(text: str, loader_class: type) -> Any:
    """Compose `text` with `loader_class`, check every mapping's keys, then construct the data."""
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_tree(loader, node, [], set())
        return loader.construct_document(node)
    finally:
        loader.dispose()


def load_unique(text: str, loader_class: type | None = None) -> Any:
    """Parse one YAML document like ``yaml.safe_load``; raise DuplicateKeyError on a repeated key.

    Composed by libyaml when PyYAML has it (0.04 s of CPU for the policy file against 0.29 s with
    PyYAML's own composer, and every run's start reads it), then checked; a text libyaml refuses is
    composed again by PyYAML's SafeLoader, so the error raised is PyYAML's own (message, marks,
    snippet). `loader_class` forces one loader (the tests read with both).
    """
    if loader_class is not None:
        return _load_checked(text, loader_class)
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None:
        try:
            return _load_checked(text, fast)
        except DuplicateKeyError:
            raise
        except yaml.YAMLError:
            pass
    return _load_checked(text, yaml.SafeLoader)


def read_yaml_mapping(path: Path, error: type[Exception], what: str) -> dict:
    """Read the hand-edited YAML file `path` (a `what`, e.g. "mapping file") with ``load_unique``
    as a mapping of keys; raise `error` naming the file and the problem."""
    try:
        data = load_unique(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise error(f"{what} not found: {path}") from exc
    except DuplicateKeyError as exc:
        raise error(f"{path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise error(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise error(f"{path}: a {what} must be a YAML mapping of keys")
    return data
