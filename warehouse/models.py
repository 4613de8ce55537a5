"""The SQL models: each monthly model's SELECT in its own file, models/<layer>/<name>.sql.

A model reads the month as the DuckDB parameter `$month` (and the policy's figures as other `$name`
parameters): data never enters the SQL text. tests/test_models_sql.py parses and binds every file.
"""

from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"


def model_path(name: str) -> Path:
    """The file of model `name` ('marts/ticket_facts')."""
    return MODELS_DIR / f"{name}.sql"


def model_sql(name: str) -> str:
    """The SELECT of model `name`, as written in its file."""
    path = model_path(name)
    if not path.is_file():
        raise FileNotFoundError(f"SQL model {name!r} not found: no file {path}")
    return path.read_text(encoding="utf-8")


def model_names() -> list[str]:
    """Every model under models/, as '<layer>/<name>'."""
    return sorted(p.relative_to(MODELS_DIR).with_suffix("").as_posix() for p in MODELS_DIR.rglob("*.sql"))
