"""Static text embeddings for the semantic vote: wordllama's weights from the installed wheel.

A text's vector is the mean of its tokens' vectors (what wordllama's own embed computes), done as
one sparse token-count matrix times the token table per chunk of texts, and kept in a bounded
cache of the process so that a run's months embed a repeated text, and the exemplar bank, once.
The tokens are the tokenizer's own, taken piece by piece (`_token_ids`: each word met once).
Nothing is downloaded: the weights ship inside the installed package.
"""

from __future__ import annotations

import functools
import itertools
import json
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from policy.config import PolicyConfig

# Memory bounds, none of which changes a vector (each text is embedded on its own;
# tests/test_semantic_blocks.py checks it):
_ENCODE_CHUNK = 8192  # texts per tokenizer call: its per-token Python objects stay small
_SHIPPED_DIM = 256  # the weights inside the installed wheel
_CACHE_TEXTS = 131_072  # embeddings kept per model (1 KB each at dim 256): about 130 MB at most


@dataclass(frozen=True)
class _Model:
    tokenizer: object  # tokenizers.Tokenizer, without padding
    table: np.ndarray  # vocabulary x dim token vectors
    # The same tokenizer for one piece of a text (see _piecewise); None: whole texts only.
    pieces: object | None = None
    special: tuple[str, ...] = ()  # the tokenizer's added tokens (a text holding one: whole)
    held: dict[str, tuple[int, ...]] = field(default_factory=dict)  # pieces' tokens, this process


@functools.lru_cache(maxsize=2)
def load_model(config: str, dim: int) -> _Model:
    """The static embedding model, from the weights inside the installed package (no download)."""
    # wordllama calls logging.basicConfig(level=INFO) when imported, which turned every library's
    # INFO records (GX's Data Docs among them) into lines of the run's output: put the process's
    # root logger back as it was.
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    import wordllama
    from wordllama import WordLlama

    root.setLevel(level)
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)

    # The wheel ships the 256-dimension weights; a smaller `dim` is their first `dim` columns
    # (wordllama's matryoshka truncation, trunc_dim).
    model = WordLlama.load(config=config, dim=_SHIPPED_DIM, trunc_dim=None if dim == _SHIPPED_DIM else dim,
                           cache_dir=Path(wordllama.__file__).parent, disable_download=True)
    # Without padding: texts are pooled from a sparse token-count matrix, so a batch's longest text
    # costs nothing for the others. The loaded model's own tokenizer (WordLlama.load reads a new
    # one from the file each time, and nothing here uses the model's own encoding); its JSON is
    # written and parsed once, for the pieces' copy and the checks (0.2 s of CPU a process less).
    tokenizer = model.tokenizer
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=_MAX_TOKENS)  # a forwarded mail thread says what it is up front
    text = tokenizer.to_str()
    spec = json.loads(text)
    return _Model(tokenizer, np.asarray(model.embedding, dtype=np.float32), _piecewise(tokenizer, text, spec),
                  tuple(t["content"] for t in spec["added_tokens"]))


# wordllama's tokenizer is Llama's SentencePiece BPE: spaces become "▁", one "▁" goes in front, and
# the whole text is one BPE word (no pre-tokenizer), so its BPE cache never hits: 3 s of CPU for
# 80,000 texts (docs/benchmark.md, round 27). No token has a character other than "▁" right before
# a "▁", so no merge joins the text's pieces (a run of "▁" and the characters up to the next "▁"):
# a text's tokens are its pieces' tokens, each piece tokenized once per process.
_MAX_TOKENS = 512  # the first 512 tokens of a text, <s> included
_PIECE = re.compile("\u2581+[^\u2581]*|[^\u2581]+")
_PIECES_HELD = 1 << 18  # pieces held per model (about 60 MB; a reference number is a piece of its own)


def _piecewise(tokenizer: object, text: str | None = None, spec: dict | None = None) -> object | None:
    """A copy of `tokenizer` that tokenizes one piece (no "▁" put in front, no <s>, no truncation),
    or None when the tokenizer is not the one whose pieces tokenize apart (then whole texts).
    `text`, `spec`: the tokenizer's JSON and its parse, when the caller has them."""
    from tokenizers import Tokenizer

    text = tokenizer.to_str() if text is None else text  # type: ignore[attr-defined]
    spec = json.loads(text) if spec is None else spec
    bpe, vocab = spec["model"], spec["model"].get("vocab", {})
    expected = {"type": "Sequence", "normalizers": [
        {"type": "Prepend", "prepend": "\u2581"},
        {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]}
    single = (spec.get("post_processor") or {}).get("single")
    bos_then_text = [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}]
    if (bpe.get("type") != "BPE" or bpe.get("dropout") or bpe.get("ignore_merges")
            or not bpe.get("byte_fallback") or spec.get("normalizer") != expected
            or spec.get("pre_tokenizer") is not None
            or single != bos_then_text
            or (spec.get("truncation") or {}).get("direction") != "Right"
            or any(f"<0x{b:02X}>" not in vocab for b in range(256))  # no <unk>: every byte a token
            or any(re.search("[^\u2581]\u2581", token) for token in vocab)):
        return None
    pieces = Tokenizer.from_str(text)
    pieces.normalizer = None
    pieces.post_processor = None
    pieces.no_truncation()
    return pieces


def _token_ids(model: _Model, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Each text's token count and all their token ids (the tokenizer's, text after text)."""
    whole = [i for i, t in enumerate(texts)
             if model.pieces is None or not t or any(s in t for s in model.special)]
    encoded: list[list[int]] = [[] for _ in texts]
    if whole:  # the tokenizer itself: special tokens written in the text, an empty text
        for i, e in zip(whole, model.tokenizer.encode_batch_fast([texts[i] for i in whole]), strict=True):
            encoded[i] = e.ids
    if len(whole) < len(texts):
        _by_pieces(model, texts, set(whole), encoded)
    lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
    ids = np.fromiter(itertools.chain.from_iterable(encoded), dtype=np.int64, count=int(lengths.sum()))
    return lengths, ids


def _by_pieces(model: _Model, texts: list[str], skip: set[int], encoded: list[list[int]]) -> None:
    """encoded[i]: text i's token ids from its pieces' (<s>, then the first 511 of theirs)."""
    held = model.held
    split = [None if i in skip else _PIECE.findall("\u2581" + t.replace(" ", "\u2581"))
             for i, t in enumerate(texts)]
    wanted = set(itertools.chain.from_iterable(p for p in split if p is not None))
    # A local copy: another thread may empty the held pieces meanwhile.
    known = {p: ids for p in wanted if (ids := held.get(p)) is not None}
    missing = [p for p in wanted if p not in known]
    if missing:
        found = model.pieces.encode_batch_fast(missing)  # type: ignore[attr-defined]
        new = {p: tuple(e.ids) for p, e in zip(missing, found, strict=True)}
        known.update(new)
        if len(held) + len(new) > _PIECES_HELD:
            held.clear()
        held.update(new)
    bos = model.tokenizer.token_to_id("<s>")  # type: ignore[attr-defined]
    for i, pieces in enumerate(split):
        if pieces is not None:
            ids = [bos, *itertools.chain.from_iterable(map(known.__getitem__, pieces))]
            encoded[i] = ids[:_MAX_TOKENS]


def _embed_lowered(model: _Model, texts: list[str]) -> np.ndarray:
    """Unit-length mean-of-token vectors of already lower-cased texts, one sparse product."""
    from scipy import sparse

    lengths, ids = _token_ids(model, texts)
    np.clip(ids, 0, model.table.shape[0] - 1, out=ids)
    rows = np.repeat(np.arange(len(texts)), lengths)
    counts = sparse.csr_matrix((np.ones(len(ids), dtype=np.float32), (rows, ids)),
                               shape=(len(texts), model.table.shape[0]))
    vectors = np.asarray(counts @ model.table, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-9)


class _EmbeddingCache:
    """Vectors of recently embedded texts, per model, within this process (a run's months share it).

    Texts repeat: across the months of a run (a 1M-ticket year has 43,931 distinct texts, each
    month about 7,100) and above all in the exemplar bank, which every month embeds whole. A
    text's vector depends on that text alone, so a cached one is the one embedding would give.
    Least recently used texts go first once `_CACHE_TEXTS` are held.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._vectors: dict[tuple[str, int], OrderedDict[str, np.ndarray]] = {}
        # Vectors held outside the least-recently-used order while a run needs them (`pinned`):
        # a 1M --unique-texts month embeds 83,000 new texts, so two months side by side pushed
        # the exemplar bank out and every month embedded its bank again.
        self._pinned: dict[tuple[str, int], list[dict[str, np.ndarray]]] = {}

    def lookup(self, key: tuple[str, int], texts: list[str]) -> dict[str, np.ndarray]:
        with self._lock:
            held = self._vectors.setdefault(key, OrderedDict())
            pins = self._pinned.get(key, [])
            found = {}
            for text in texts:
                vector = held.get(text)
                if vector is not None:
                    held.move_to_end(text)
                    found[text] = vector
                    continue
                for pin in pins:
                    vector = pin.get(text)
                    if vector is not None:
                        found[text] = vector
                        break
            return found

    def pin(self, key: tuple[str, int], vectors: dict[str, np.ndarray]) -> None:
        with self._lock:
            self._pinned.setdefault(key, []).append(vectors)

    def unpin(self, key: tuple[str, int], vectors: dict[str, np.ndarray]) -> None:
        with self._lock:
            pins = self._pinned.get(key, [])
            pins[:] = [p for p in pins if p is not vectors]

    def store(self, key: tuple[str, int], vectors: dict[str, np.ndarray]) -> None:
        with self._lock:
            held = self._vectors.setdefault(key, OrderedDict())
            held.update(vectors)
            while len(held) > _CACHE_TEXTS:
                held.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._vectors.clear()
            self._pinned.clear()


_cache = _EmbeddingCache()


def embed(policy: PolicyConfig, texts: list[str]) -> np.ndarray:
    """Unit-length embeddings of `texts` (n x dim, float32), lower-cased like the rules read them.

    The model is a static one: a text's vector is the mean of its tokens' vectors (what
    wordllama's own embed computes), done here as a sparse matrix product per chunk of texts.
    Each distinct text is embedded once, and not at all when this process embedded it recently.
    """
    sv = policy.scope_classification.semantic
    if not texts:
        return np.zeros((0, sv.dim), dtype=np.float32)  # the model is truncated to sv.dim
    key = (sv.model, sv.dim)
    lowered = [t.lower() for t in texts]
    row = {t: i for i, t in enumerate(dict.fromkeys(lowered))}  # each distinct text's row
    vectors = _cache.lookup(key, list(row))
    out = np.empty((len(row), sv.dim), dtype=np.float32)
    if vectors:
        out[np.fromiter(map(row.__getitem__, vectors), dtype=np.int64, count=len(vectors))] = \
            np.stack(list(vectors.values()))
    missing = [t for t in row if t not in vectors]
    # The model is loaded only when a text is not held (a month whose texts were all seen before).
    model = load_model(sv.model, sv.dim) if missing else None
    for start in range(0, len(missing), _ENCODE_CHUNK):
        chunk = missing[start:start + _ENCODE_CHUNK]
        new = _embed_lowered(model, chunk)  # type: ignore[arg-type]
        _cache.store(key, dict(zip(chunk, new, strict=True)))
        out[np.fromiter(map(row.__getitem__, chunk), dtype=np.int64, count=len(chunk))] = new
    if len(row) == len(lowered):
        return out
    return out[np.fromiter(map(row.__getitem__, lowered), dtype=np.int64, count=len(lowered))]


def held(policy: PolicyConfig, texts: list[str]) -> dict[str, np.ndarray]:
    """The vectors this process holds for `texts` (lower-cased, as `embed` keys them)."""
    sv = policy.scope_classification.semantic
    return _cache.lookup((sv.model, sv.dim), list(dict.fromkeys(t.lower() for t in texts)))


def remember(policy: PolicyConfig, vectors: dict[str, np.ndarray]) -> None:
    """Hold vectors embedded earlier (by lower-cased text, e.g. from the warehouse) for `embed`."""
    sv = policy.scope_classification.semantic
    _cache.store((sv.model, sv.dim), vectors)


@contextmanager
def pinned(policy: PolicyConfig, texts: list[str], vectors: np.ndarray) -> Iterator[None]:
    """Within the block, `embed` finds these texts' vectors (`embed(policy, texts)`, row for row)
    whatever else it embeds meanwhile (a run's exemplar bank, which every month reads)."""
    sv = policy.scope_classification.semantic
    key = (sv.model, sv.dim)
    held_vectors = dict(zip((t.lower() for t in texts), vectors, strict=True))
    _cache.pin(key, held_vectors)
    try:
        yield
    finally:
        _cache.unpin(key, held_vectors)
