"""Round 42: the word model's file (config/word_model.json) stores its weights as integers in units
of 10^-decimals, is refused when malformed with one clear message, and reads back the fitted model."""

import json
from pathlib import Path

import numpy as np
import pytest

from evaluation.datasets import fit_word_model_on_files
from logic.stored_models import read_stored_model
from logic.word_model import DECIMALS, weight_array, word_model, word_model_json
from policy.classifiers import StoredWordModel
from policy.paths import PROJECT_ROOT
from tests.test_classify_round12 import _policy, _sql_probabilities, _write

# The tracked file's ceiling (repository hygiene): past it the file is a defect to fix, not to bank.
MAX_BYTES = 5_000_000


@pytest.fixture()
def labelled(tmp_path) -> Path:
    return _write(tmp_path / "labelled.csv")


@pytest.fixture()
def stored(labelled) -> dict:
    """A fitted model's file, parsed."""
    return json.loads(word_model_json(fit_word_model_on_files(_policy(labelled), [labelled])))


TICKETS = [("a", "Zorblax docks, please come in and install them", "Hardware", 150.0, 120.0, 0.0),
           ("b", "Printer jamming again on page two", "Printing", 20.0, 0.0, 20.0),
           ("c", "", "", 0.0, 0.0, 0.0)]


def test_fit_write_load_gives_the_fitted_model_and_its_scores(labelled, tmp_path):
    model_file = tmp_path / "word_model.json"
    policy = _policy(labelled, model_file)
    fitted = fit_word_model_on_files(policy, [labelled])
    text = word_model_json(fitted)
    model_file.write_text(text)
    assert f'"decimals": {DECIMALS}' in text
    # integers in the text: no decimal point or exponent in any weight
    for w in json.loads(text)["weights"].values():
        assert all(type(v) is int for v in w)
    loaded = word_model(policy)
    assert loaded == fitted
    # DuckDB sums a ticket's weights in whatever order its threads meet them: the last bit may differ
    assert _sql_probabilities(policy, loaded, TICKETS) == pytest.approx(
        _sql_probabilities(policy, fitted, TICKETS), rel=1e-12, abs=1e-15)
    assert word_model_json(loaded) == text  # written again, the same bytes


def test_weights_read_as_the_decimal_they_stand_for_to_the_last_bit():
    ints = [-67182, -9, 0, 1, 5, 93, 449, 93550, -1, 10**9]
    model = StoredWordModel.model_validate({
        "tokenizer": "0" * 64, "penalty": 1.0, "min_df": 1, "training_texts": 3,
        "trained_on": [{"file": "bank.csv", "sha256": "0" * 64}],
        "features": [f"f{i}" for i in range(len(ints) - 1)], "decimals": 4,
        "weights": {"procurement": ints}})
    got = weight_array(model, "procurement")
    assert got.tolist() == [float(f"{k}e-4") for k in ints]  # as the float text "-6.7182" parses
    assert got.dtype == np.float64


@pytest.mark.parametrize(("change", "message"), [
    # the float file of rounds 12-41: one message naming the cause, not one error per number
    (lambda d: (d.pop("decimals"), d.update(weights={k: [v / 10**4 for v in w]
                                                     for k, w in d["weights"].items()})),
     "decimals missing: weights stored as floats"),
    (lambda d: d["weights"]["procurement"].__setitem__(3, 0.5),
     r"weights\.procurement\[3\]: 0\.5 is not an integer"),
    (lambda d: d["weights"]["onsite"].__setitem__(0, "12"), r"weights\.onsite\[0\]: '12' is not an integer"),
    (lambda d: d["weights"]["onsite"].__setitem__(1, True), r"weights\.onsite\[1\]: True is not an integer"),
    (lambda d: d["weights"]["procurement"].pop(), "numbers expected"),
    (lambda d: d["weights"].update(procurment=d["weights"]["procurement"]), "not a scope exclusion id"),
    (lambda d: d.update(decimals=-1), "decimals"),
    (lambda d: d.update(decimals=4.0), "decimals"),
    (lambda d: d.update(features=d["features"] + d["features"][:1]), "features: repeated"),
])
def test_a_malformed_file_is_refused_with_one_clear_message(stored, tmp_path, change, message):
    change(stored)
    path = tmp_path / "word_model.json"
    path.write_text(json.dumps(stored))
    with pytest.raises(ValueError, match=message) as refused:
        read_stored_model(path, "scope_classification.word_model.model_file", StoredWordModel)
    assert len(str(refused.value)) < 1000, str(refused.value)[:2000]


def test_the_shipped_file_is_integer_weights_and_under_the_ceiling():
    path = PROJECT_ROOT / "config" / "word_model.json"
    assert path.stat().st_size < MAX_BYTES, f"{path}: {path.stat().st_size:,} bytes"
    head = path.read_text(encoding="utf-8")[:20_000]
    assert f'"decimals": {DECIMALS}' in head
