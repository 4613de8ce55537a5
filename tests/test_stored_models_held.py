"""What a process holds between the months of a run: the training files' digests (checked against a
stored model's `trained_on` every month) and the emergency weights table (written every month)."""

import hashlib
import os
from pathlib import Path

import duckdb

from logic import stored_models
from logic.emergency_model import INTERCEPT, WEIGHTS, write_weights
from logic.stored_models import file_digests, read_stored_model, trained_elsewhere
from policy.emergency_model import StoredEmergencyModel
from policy.paths import PROJECT_ROOT


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_shipped_training_file_is_hashed_once_per_process():
    bank = PROJECT_ROOT / "evaluation" / "labelled_tickets.csv"
    first = file_digests([bank])
    assert first == [{"file": "evaluation/labelled_tickets.csv", "sha256": _sha(bank)}]
    assert stored_models._digests.get(stored_models._stamp(bank)) == (first[0]["file"], _sha(bank))
    assert file_digests([bank]) == first


def test_a_file_written_seconds_ago_is_not_held(tmp_path):
    bank = tmp_path / "bank.csv"
    bank.write_text("ticket_id,subject\nT1,printer jammed again\n")
    assert file_digests([bank])[0]["sha256"] == _sha(bank)
    assert stored_models._stamp(bank) not in stored_models._digests  # racy: read again next time


def test_a_training_file_rewritten_in_place_is_hashed_again(tmp_path, monkeypatch):
    # Held however new (as a file written long ago is): its rewrite must still be seen.
    monkeypatch.setattr(stored_models, "_RACY_NS", -1)
    bank = tmp_path / "bank.csv"
    bank.write_text("ticket_id,subject\nT1,printer jammed again\n")
    fitted_on = file_digests([bank])
    assert stored_models._stamp(bank) in stored_models._digests
    assert trained_elsewhere(fitted_on, [bank]) is None
    # The same size and the old modification time put back: the change is still seen (ctime).
    stamp = bank.stat()
    bank.write_text("ticket_id,subject\nT1,servers down everywhere\n"[:stamp.st_size])
    os.utime(bank, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    assert bank.stat().st_size == stamp.st_size
    assert file_digests([bank])[0]["sha256"] == _sha(bank) != fitted_on[0]["sha256"]
    assert trained_elsewhere(fitted_on, [bank]) is not None
    # Another file under the same name (a new inode): hashed again too.
    other = tmp_path / "other.csv"
    other.write_text("x\n2\n")
    other.replace(bank)
    assert file_digests([bank])[0]["sha256"] == _sha(bank)


def test_a_stored_model_rewritten_is_read_again(tmp_path, monkeypatch):
    monkeypatch.setattr(stored_models, "_RACY_NS", -1)
    path = tmp_path / "emergency_model.json"
    path.write_text(_model([-2.0, 1.5, 0.0, 0.75]).model_dump_json())
    first = read_stored_model(path, "setting", StoredEmergencyModel)
    assert read_stored_model(path, "setting", StoredEmergencyModel) is first  # held
    path.write_text(_model([-2.0, 1.5, 0.0, 0.25]).model_dump_json())  # the same size
    assert read_stored_model(path, "setting", StoredEmergencyModel).weights[-1] == 0.25


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
