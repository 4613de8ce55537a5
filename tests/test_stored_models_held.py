"""What a process holds between the months of a run: the training files' digests (checked against a
stored model's `trained_on` every month) and the emergency weights table (written every month)."""

import hashlib
import os
from pathlib import Path

import duckdb

from logic.emergency_model import INTERCEPT, WEIGHTS, write_weights
from logic.stored_models import file_digests, trained_elsewhere
from policy.emergency_model import StoredEmergencyModel


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_training_file_rewritten_in_place_is_hashed_again(tmp_path):
    bank = tmp_path / "bank.csv"
    bank.write_text("ticket_id,subject\nT1,printer jammed again\n")
    fitted_on = file_digests([bank])
    assert fitted_on[0]["sha256"] == _sha(bank)
    assert file_digests([bank]) == fitted_on  # held: the same answer
    assert trained_elsewhere(fitted_on, [bank]) is None
    # The same size and the old modification time put back: the change is still seen (ctime).
    stamp = bank.stat()
    bank.write_text("ticket_id,subject\nT1,servers down everywhere\n"[:stamp.st_size])
    os.utime(bank, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    assert bank.stat().st_size == stamp.st_size
    assert file_digests([bank])[0]["sha256"] == _sha(bank) != fitted_on[0]["sha256"]
    assert trained_elsewhere(fitted_on, [bank]) is not None


def test_a_file_replaced_by_another_is_hashed_again(tmp_path):
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text("x\n1\n")
    second.write_text("x\n2\n")
    before = file_digests([first])[0]["sha256"]
    second.replace(first)  # another inode under the same name
    assert file_digests([first])[0]["sha256"] == _sha(first) != before


def _model(weights: list[float]) -> StoredEmergencyModel:
    return StoredEmergencyModel.model_validate({
        "tokenizer": "0" * 64, "penalty": 1.0, "min_df": 1, "training_texts": 3,
        "trained_on": [{"file": "bank.csv", "sha256": "0" * 64}],
        "features": ["down", "printer", "outage"], "weights": weights})


def _written(model: StoredEmergencyModel) -> list[tuple[str, float]]:
    con = duckdb.connect()
    write_weights(con, model)
    return con.execute(f"SELECT term, w FROM {WEIGHTS} ORDER BY term").fetchall()


def test_the_weights_table_is_the_models_on_every_write():
    model = _model([-2.0, 1.5, 0.0, 0.75])
    first = _written(model)
    assert first == sorted([(INTERCEPT, -2.0), ("down", 1.5), ("outage", 0.75)])  # zeros left out
    assert _written(model) == first  # held for the same model: the same rows
    # Another model (other weights, the intercept kept at zero) writes its own rows.
    other = _model([0.0, 0.0, 2.0, 0.0])
    assert _written(other) == sorted([(INTERCEPT, 0.0), ("printer", 2.0)])
    assert _written(model) == first
