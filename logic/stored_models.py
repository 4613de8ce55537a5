"""Reading the fitted models stored beside the policy (config/*_model.json), once per content."""

import hashlib
import json
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

_read: dict[tuple[str, str], BaseModel] = {}


def read_stored_model(path: Path, setting: str, model_type: type[M]) -> M:
    """The model stored at `path`, validated as `model_type` once per file content; a file that
    cannot be read is an error naming the policy `setting` that points at it."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise FileNotFoundError(
            f"{setting}: cannot read {path} (run python -m evaluation.fit_model)") from exc
    key = (str(path), hashlib.sha256(raw).hexdigest())
    if key not in _read:
        _read[key] = model_type.model_validate(json.loads(raw))
    model = _read[key]
    if not isinstance(model, model_type):
        raise TypeError(f"{path}: read before as a {type(model).__name__}, not a {model_type.__name__}")
    return model
