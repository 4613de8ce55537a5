"""Delivered landing files: formats, which entity a file holds, and what is found in the folder."""

import os
import re
from dataclasses import dataclass
from pathlib import Path

from ingest import decision_workbook
from warehouse.contract import CANONICAL, DELIVERED

# .xlsx: a finance export with its Decision column filled (ingest/decision_workbook.py).
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet",
           ".xlsx": "xlsx"}


# The canonical CSV dialect, fixed rather than sniffed: a sniffer guesses a dialect in which a
# broken file "parses". Rows the reader cannot parse are set aside (and quarantined), not fatal.
CSV_OPTIONS = (
    "auto_detect = false, header = true, delim = ',', quote = '\"', escape = '\"',"
    " store_rejects = true, rejects_table = 'csv_rejects', rejects_scan = 'csv_reject_scans'"
)


READER_REASONS = {
    "MISSING COLUMNS": "missing_fields",
    "TOO MANY COLUMNS": "extra_fields",
    "INVALID ENCODING": "non_utf8",
    "UNQUOTED VALUE": "unbalanced_quote",
    "LINE SIZE OVER MAXIMUM": "line_too_long",
}


# Columns holding timestamps (and dates), by the contract: a Parquet file typing them as numbers
# is a wrong-type delivery.
TIMESTAMP_COLUMNS = {c.name for columns in DELIVERED.values() for c in columns
                     if c.type in ("TIMESTAMPTZ", "DATE")}


OFFSET_PATTERN = r"([zZ]|[+-][0-9]{2}(:?[0-9]{2})?)$"


UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


@dataclass(frozen=True)
class LandingFile:
    """One delivered file as recorded in raw.landing_files."""

    file_id: str
    entity: str
    path: str  # relative to the landing folder
    format: str
    columns: list[str]
    encoding: str = "utf-8"
    rejected_rows: tuple[int, ...] = ()  # data rows the reader set aside, ascending
    mixed_line_endings: bool = False  # CRLF and LF lines in one CSV file


class FileRejected(Exception):
    """The whole file cannot be accepted; carries a reason code, the row and the field."""

    def __init__(self, code: str, message: str, row: int | None = None,
                 field: str | None = None, value: str | None = None,
                 rows: int | None = None) -> None:
        super().__init__(message)
        self.code, self.row, self.field, self.value = code, row, field, value
        self.rows = rows  # the file's data rows, when counted


@dataclass(frozen=True)
class FileWarning:
    """A caveat about a file that is loaded anyway."""

    code: str
    message: str
    row: int | None = None
    field: str | None = None


@dataclass
class ByteScan:
    """What one pass over the file's bytes tells: hash, encoding, rows, how it ends."""

    sha256: str = ""
    size: int = 0
    newlines: int = 0
    ends_with_newline: bool = True
    bom: str = ""  # 'utf-8' | 'utf-16' | ''
    first_bad_byte: int | None = None  # offset of the first byte that is not UTF-8
    bad_line: int | None = None  # 1-based physical line of that byte
    multibyte_utf8: bool = False
    crlf: int = 0  # newlines preceded by a carriage return
    long_line: bool = False  # some 1 MB stretch holds no newline
    crlf_first: bool = False  # the first line ends in CRLF


def normalise_header(header: str) -> str:
    return header.strip().lstrip("\ufeff").strip().lower().replace(" ", "_")


def _entity_of(relative: Path) -> str | None:
    """Entity from the first folder (tickets/…) or the file name prefix (tickets_2025-01.csv)."""
    if decision_workbook.is_decision_workbook(relative.name):
        return "review_decisions"
    candidates = [relative.parts[0]] if len(relative.parts) > 1 else []
    candidates.append(relative.name.lower())
    for candidate in candidates:
        for entity in sorted(CANONICAL, key=len, reverse=True):
            if candidate == entity or candidate.startswith(entity):
                return entity
    return None


def walk(landing: Path) -> tuple[list[tuple[Path, str]], list[tuple[Path, str]]]:
    """Regular files and symbolic links in the landing folder that name a known entity, each in
    a stable order. Links (to files or folders) are listed, never followed."""
    files, links = [], []
    for folder, dirs, names in os.walk(landing):  # os.walk does not descend into linked folders
        base = Path(folder)
        for name in dirs:
            path = base / name
            if path.is_symlink() and (entity := _entity_of(path.relative_to(landing))):
                links.append((path, entity))
        for name in names:
            path = base / name
            if path.suffix.lower() not in FORMATS:
                continue
            entity = _entity_of(path.relative_to(landing))
            if not entity:
                continue
            if path.is_symlink():
                links.append((path, entity))
            elif path.is_file():
                files.append((path, entity))
    return sorted(files), sorted(links)


def discover(landing: Path) -> list[tuple[Path, str]]:
    """Every regular file in the landing folder that names a known entity, in a stable order."""
    return walk(landing)[0]
