"""What a process holds between classifications: the labelled bank by its files' content, the
cones by their vectors (round 28). Held results must be what building them again gives."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from logic import nearest, semantic
from logic.semantic import labelled_bank

HEADER = ("ticket_id,subject,description,category,affected_users,declared_emergency,time_entries,"
          "true_scope,true_emergency\n")
TICKETS = ['T1,Printer down,"It jams",Hardware,1,false,,,false',
           'T2,New laptop,"Please order one",Hardware,1,false,,procurement,false']


def _write(path: Path, rows: list[str]) -> Path:
    path.write_text(HEADER + "".join(f"{row}\n" for row in rows))
    return path


def _same(a, b) -> bool:
    return (a.ids, a.texts, a.described, a.sources) == (b.ids, b.texts, b.described, b.sources) and \
        np.array_equal(a.labels, b.labels, equal_nan=True) and np.array_equal(a.weights, b.weights)


def test_a_changed_file_is_read_again(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.csv", TICKETS[:1])
    first = labelled_bank([path])
    _write(path, ['T1,Printer down,"It jams",Hardware,1,false,,,true', TICKETS[1]])
    second = labelled_bank([path])
    assert first.ids == ["T1"] and second.ids == ["T1", "T2"]
    assert first.labels[0, -1] == 0.0 and second.labels[0, -1] == 1.0


def test_a_held_bank_is_a_copy_and_equals_a_fresh_read(tmp_path: Path) -> None:
    path = _write(tmp_path / "b.csv", TICKETS)
    first = labelled_bank([path])
    first.labels[:] = 7.0  # a caller's change stays the caller's
    first.ids.append("X")
    again = labelled_bank([path])
    fresh = semantic._labelled_bank([pd.read_csv(path, dtype=str, keep_default_na=False)])  # as before
    assert again.ids == ["T1", "T2"] and _same(again, fresh)


def test_held_cones_are_the_cones_of_the_vectors() -> None:
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(nearest._CONE * nearest._MIN_CONES * 2, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    held = nearest.cones(vectors)
    fresh = nearest._cones(vectors.copy())
    assert held is nearest.cones(vectors.copy())  # the same vectors: held
    for field in ("centres", "cone", "angle", "members", "starts", "counts"):
        assert np.array_equal(getattr(held, field), getattr(fresh, field))
    with pytest.raises(ValueError):
        held.centres[0, 0] = 0.0  # shared: read-only
    other = vectors.copy()
    other[0] = -other[0]
    assert nearest.cones(other) is not held
