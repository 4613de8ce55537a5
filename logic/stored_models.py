"""The fitted models stored beside the policy (config/*_model.json): read once per content, and the
training files they record (`trained_on`), so a model fitted on other files is refused."""

import hashlib
import json
import time
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Protocol, TypeVar

from pydantic import BaseModel

from policy.paths import PROJECT_ROOT

M = TypeVar("M", bound=BaseModel)

_read: dict[tuple[str, str], BaseModel] = {}


# A file's (name as the policy names it, sha256), held per process under the file's identity and
# change stamps: a run reads its stored models and checks their training files once a month per
# model (14 reads and hashes of the 4.4 MB exemplar bank and of the 1 MB emergency model a run),
# and a file written since (a refit, a banked batch: new ctime, mtime or size) is read again.
_digests: dict[tuple[str, int, int, int, int, int], tuple[str, str]] = {}
_DIGESTS_HELD = 4096
_RACY_NS = 3_000_000_000  # two seconds' timestamps (FAT) and a margin


def _stamp(f: Path) -> tuple[str, int, int, int, int, int]:
    st = f.stat()  # follows a symlink: another target is another file
    return (str(f), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _hold(stamp: tuple[str, int, int, int, int, int], f: Path, raw: bytes) -> tuple[str, str]:
    held = (_relative(f), hashlib.sha256(raw).hexdigest())
    # As git's index does with "racy" entries: a file changed in the last seconds is not held, so
    # a same-size rewrite within a coarse timestamp's tick is never read from the memo.
    if time.time_ns() - max(stamp[4], stamp[5]) > _RACY_NS:
        if len(_digests) >= _DIGESTS_HELD:
            _digests.clear()
        _digests[stamp] = held
    return held


def _digest(f: Path) -> tuple[str, str]:
    stamp = _stamp(f)  # taken before the read: a file written meanwhile is read again next time
    return _digests.get(stamp) or _hold(stamp, f, f.read_bytes())


def read_stored_model(path: Path, setting: str, model_type: type[M]) -> M:
    """The model stored at `path`, validated as `model_type` once per file content; a file that
    cannot be read is an error naming the policy `setting` that points at it."""
    try:
        stamp = _stamp(path)
        held = _digests.get(stamp)  # the content's digest, while the file is unchanged
        key = None if held is None else (str(path), held[1])
        if key not in _read:
            raw = path.read_bytes()
            key = (str(path), _hold(stamp, path, raw)[1])
            if key not in _read:
                _read[key] = model_type.model_validate(json.loads(raw))
    except OSError as exc:
        raise FileNotFoundError(
            f"{setting}: cannot read {path} (run python -m evaluation.fit_model)") from exc
    model = _read[key]
    if not isinstance(model, model_type):
        raise TypeError(f"{path}: read before as a {type(model).__name__}, not a {model_type.__name__}")
    return model


def fresh_model(path: Path, setting: str, model_type: type[M], stale: Callable[[M], str | None],
                what: str) -> M:
    """The model stored at `path` (as read_stored_model), refused when `stale` says why it is not
    the one the policy asks for: fitted on other files or settings."""
    model = read_stored_model(path, setting, model_type)
    reason = stale(model)
    if reason:
        raise ValueError(f"{path}: stale {what} ({reason}); refit with python -m evaluation.fit_model")
    return model


def _relative(path: Path) -> str:
    """The file as the policy names it: relative to the project when inside it."""
    try:
        return path.resolve().relative_to(PROJECT_ROOT.resolve()).as_posix()
    except ValueError:
        return str(path)


def file_digests(files: list[Path]) -> list[dict[str, str]]:
    """A stored model's `trained_on`: each training file as the policy names it, with its sha256."""
    return [{"file": name, "sha256": sha} for name, sha in map(_digest, files)]


def trained_elsewhere(trained_on: list, files: list[Path]) -> str | None:
    """Why a model whose `trained_on` is this was not fitted on `files` as they are now (None: it was)."""
    try:
        wanted = [(d["file"], d["sha256"]) for d in file_digests(files)]
    except OSError as exc:
        return f"training file missing ({exc})"
    got = [(d["file"], d["sha256"]) if isinstance(d, dict) else (d.file, d.sha256) for d in trained_on]
    if got != wanted:
        return "fitted on other labelled files than semantic.exemplar_files as they are now"
    return None


class _TextFit(Protocol):
    """A text model's fit settings, as stored and as the policy asks for them."""

    penalty: float
    min_df: int


class _TextModel(_TextFit, Protocol):
    tokenizer: str


def fitted_otherwise(model: _TextModel, wanted: _TextFit, tokenizer: str) -> str | None:
    """Why a stored text model was not fitted with the current `tokenizer` and the policy's
    `wanted` penalty and min_df (None: it was)."""
    if model.tokenizer != tokenizer:
        return "tokenised differently"
    if model.penalty != wanted.penalty or model.min_df != wanted.min_df:
        return (f"penalty {model.penalty:g} / min_df {model.min_df}, not {wanted.penalty:g}"
                f" / {wanted.min_df}")
    return None


def missing_weights(scope_ids: Collection[str], weights: Mapping[str, object]) -> str | None:
    """Why a stored model lacks weights for some of the policy's scope ids (None: it has them all)."""
    missing = [sid for sid in scope_ids if sid not in weights]
    return f"no weights for {', '.join(missing)}" if missing else None
