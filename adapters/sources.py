"""Built-in sources: a mapping file and the export it reads, plus where the public datasets live."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from policy.paths import PROJECT_ROOT

MAPPINGS_DIR = PROJECT_ROOT / "config" / "mappings"


@dataclass(frozen=True)
class Source:
    """A named source: its mapping and its default export (relative to the datasets folder)."""

    mapping: str
    dataset: str | None = None       # under the datasets folder
    example: str | None = None       # under config/mappings (small files kept in the repository)

    @property
    def mapping_path(self) -> Path:
        return MAPPINGS_DIR / self.mapping

    def default_export(self) -> Path:
        if self.example:
            return MAPPINGS_DIR / self.example
        return datasets_dir() / self.dataset


SOURCES: dict[str, Source] = {
    "servicenow": Source(
        "servicenow.yaml",
        "servicenow-incident-log/incident_event_log_full_141712rows_prefix_stripped.csv.gz",
    ),
    "servicenow_kaggle": Source(
        "servicenow.yaml",
        "servicenow-incident-log/incident_event_log_kaggle_first119998rows.csv.gz",
    ),
    "bpic2013": Source("bpic2013.yaml", "volvo-bpic2013/VINST-new.csv.gz"),
    "example_helpdesk": Source("example_helpdesk.yaml", example="example_helpdesk.csv"),
}


def datasets_dir() -> Path:
    """The public datasets folder: MSP_DATASETS, else the nearest `shared/datasets` above the project.

    The project sits next to it (`../shared/datasets`); a git worktree sits one level deeper, so
    the parents are tried in turn.
    """
    value = os.environ.get("MSP_DATASETS")
    if value:
        return Path(value).expanduser().resolve()
    for parent in PROJECT_ROOT.parents:
        candidate = parent / "shared" / "datasets"
        if candidate.is_dir():
            return candidate
    return PROJECT_ROOT.parent / "shared" / "datasets"
