"""A text's tokens from its pieces' tokens (logic/embeddings.py, `_token_ids`): the tokenizer's own
ids for every text, so every vector and vote is the one the whole-text tokenizer gives."""

import dataclasses
import itertools
import json

import numpy as np
import pandas as pd
import pytest

from logic import embeddings
from policy.paths import PROJECT_ROOT

_TEXTS = [
    "", " ", "  ", "a  b", "a   b  ", "\tx\ny", "<s> hello </s>", "x<s>y",
    "héllo wörld ñ 中文 😀 \u00a0 nbsp",
    "\u2581already\u2581split", "\u2581", "\u2581\u2581 x", "x \u2581", "ı i̇ ß ﬁ", "\x00\x01 ctrl", ".  .  .",
    "  leading", "trailing  ", "server down!!! . exchange 2013 retirement, ref #00123-ab",
    "word" * 600,  # one piece longer than the 512 tokens kept
    " ".join(["the mail server is down and nobody can send mail"] * 60),  # truncated after many pieces
]


@pytest.fixture(scope="module")
def model() -> embeddings._Model:
    return embeddings.load_model("l2_supercat", 256)


def _whole(model: embeddings._Model, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The tokenizer's own ids, each text one call's item (the path before pieces)."""
    encoded = [e.ids for e in model.tokenizer.encode_batch_fast(texts)]
    lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
    return lengths, np.fromiter(itertools.chain.from_iterable(encoded), dtype=np.int64)


def _labelled() -> list[str]:
    frame = pd.read_csv(PROJECT_ROOT / "evaluation" / "labelled_tickets.csv", dtype=str,
                        keep_default_na=False)
    return (frame["subject"] + " . " + frame["description"]).str.lower().tolist()


def test_the_shipped_tokenizer_is_taken_by_pieces(model):
    assert model.pieces is not None
    assert set(model.special) == {"<unk>", "<s>", "</s>"}


@pytest.mark.parametrize("held", [False, True], ids=["pieces new", "pieces held"])
def test_ids_are_the_tokenizers_own(model, held):
    texts = [t.lower() for t in _TEXTS] + _labelled()
    if not held:
        model.held.clear()
    lengths, ids = embeddings._token_ids(model, texts)
    expected_lengths, expected_ids = _whole(model, texts)
    assert np.array_equal(lengths, expected_lengths)
    assert np.array_equal(ids, expected_ids)
    assert lengths.max() == 512  # the long texts are cut where the tokenizer cuts them


def test_vectors_equal_the_whole_text_path(model):
    texts = [t.lower() for t in _TEXTS] + _labelled()[:500]
    whole = dataclasses.replace(model, pieces=None, held={})
    assert np.array_equal(embeddings._embed_lowered(model, texts), embeddings._embed_lowered(whole, texts))


def test_a_split_at_every_space_would_differ(model):
    """The pieces keep a run of spaces with the word after it ("▁▁" is a token): the test above
    fails for a split before every "▁" (so it can tell a wrong split)."""
    texts = ["a    b", "if x:\n        return y"]
    bos = model.tokenizer.token_to_id("<s>")
    every = [[bos, *itertools.chain.from_iterable(
        e.ids for e in model.pieces.encode_batch_fast(["\u2581" + w for w in t.split(" ")]))] for t in texts]
    assert every != [e.ids for e in model.tokenizer.encode_batch_fast(texts)]
    lengths, ids = embeddings._token_ids(model, texts)
    assert np.array_equal(ids, _whole(model, texts)[1])


def test_a_tokenizer_whose_tokens_join_pieces_is_taken_whole(model):
    spec = json.loads(model.tokenizer.to_str())
    vocab = spec["model"]["vocab"]
    vocab["s\u2581"] = len(vocab) + len(spec["added_tokens"])  # a token across a piece's end
    from tokenizers import Tokenizer

    assert embeddings._piecewise(Tokenizer.from_str(json.dumps(spec))) is None
    assert embeddings._piecewise(model.tokenizer) is not None
