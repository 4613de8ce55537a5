"""The second-reader agreement is scored with the classifier's own scoring."""

import csv
from pathlib import Path

import pytest

from evaluation.agreement import pairs, second_reader
from evaluation.evaluate import BLIND


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["ticket_id", "true_scope", "true_emergency"])
        writer.writeheader()
        writer.writerows(rows)
    return path


def _labels(batch: Path) -> list[dict[str, str]]:
    with batch.open(newline="") as f:
        return [{k: r[k] for k in ("ticket_id", "true_scope", "true_emergency")} for r in csv.DictReader(f)]


def test_a_reader_who_agrees_everywhere_scores_one(tmp_path: Path) -> None:
    batch = BLIND / "batch-10.csv"
    scores = second_reader(batch, _write(tmp_path / "same.csv", _labels(batch)))
    assert scores.scope_macro_f1 == 1.0
    assert (scores.emergency_precision, scores.emergency_recall) == (1.0, 1.0)


def test_one_differing_label_costs_its_scope_id_and_the_emergency(tmp_path: Path) -> None:
    batch = BLIND / "batch-10.csv"
    rows = _labels(batch)
    target = next(r for r in rows if r["true_scope"] == "" and r["true_emergency"] == "true")
    target["true_scope"], target["true_emergency"] = "procurement", "false"
    scores = second_reader(batch, _write(tmp_path / "other.csv", rows))
    procurement = scores.per_category.set_index("scope_id").loc["procurement"]
    assert (procurement["fp"], procurement["fn"]) == (1, 0)
    assert scores.scope_macro_f1 < 1.0
    assert scores.emergency_precision == 1.0 and scores.emergency_recall < 1.0


def test_a_reader_missing_a_ticket_is_refused(tmp_path: Path) -> None:
    batch = BLIND / "batch-10.csv"
    with pytest.raises(SystemExit, match="not one row per ticket"):
        second_reader(batch, _write(tmp_path / "short.csv", _labels(batch)[1:]))


def test_every_stored_second_reader_names_a_banked_batch() -> None:
    found = pairs()
    assert found, "evaluation/agreement holds the second readers' labels"
    assert all(batch.exists() for batch, _ in found)
