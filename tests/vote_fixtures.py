"""Shared pieces of the semantic vote's tests: a recorder of the texts actually embedded, and an
exemplar bank with review-like exemplars near its texts."""

import numpy as np
import pytest

from logic import embeddings
from logic.semantic import ExemplarBank, builtin_bank
from policy.config import PolicyConfig


def record_embeddings(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Empty the process's embedding cache (a new run process) and record each call's texts that
    the model really embeds; the caller clears the cache again at its end."""
    embeddings._cache.clear()
    calls: list[list[str]] = []
    original = embeddings._embed_lowered

    def counting(model, texts):  # type: ignore[no-untyped-def]
        calls.append(list(texts))
        return original(model, texts)

    monkeypatch.setattr(embeddings, "_embed_lowered", counting)
    return calls


def bank_and_texts(policy: PolicyConfig, reviews: int, queries: int) -> tuple[ExemplarBank, list[str]]:
    """The built-in bank and review-like exemplars whose texts are near bank texts (a few words
    added), some repeating a wording; queries made the same way."""
    bank = builtin_bank(policy)
    rng = np.random.default_rng(5)
    words = " ".join(bank.texts).split()

    def near(count: int) -> list[str]:
        return [bank.texts[i] + " " + " ".join(rng.choice(words, rng.integers(0, 4)))
                for i in rng.integers(0, len(bank), count)]

    texts = near(reviews)
    labels = bank.labels[rng.integers(0, len(bank), reviews)].copy()
    flip = rng.random(labels.shape) < 0.3
    labels[flip] = 1 - np.nan_to_num(labels[flip], nan=0.0)
    review = ExemplarBank([f"R{i}" for i in range(reviews)], texts, [f"review {i}" for i in range(reviews)],
                          ["review"] * reviews, labels, np.full(reviews, 2.0))
    return ExemplarBank.concat([bank, review]), [*texts[:200], *near(queries)]
