"""Column and table contracts: each table's columns declared once, its DDL derived from them."""

from __future__ import annotations

from dataclasses import dataclass, replace

from warehouse.sqlquote import sql_identifier


@dataclass(frozen=True)
class Column:
    """One column: its name, DuckDB type, whether it is required, and what it means.

    For a warehouse table `required` is NOT NULL. For a delivered file (warehouse.contract) it is
    the column a file must have to be accepted, `type` the DuckDB type the value is staged as
    (raw keeps the text as delivered), and `format` how a file writes it, for the docs.
    """

    name: str
    type: str
    required: bool = False
    meaning: str = ""
    format: str = ""
    # Added after the first release: a warehouse created before gains it by ALTER TABLE.
    added: bool = False

    def but(self, **changes: object) -> Column:
        """This column with some fields changed (e.g. required in a table, not in the file)."""
        return replace(self, **changes)


@dataclass(frozen=True)
class Table:
    """A warehouse table: its qualified name and its columns in table order."""

    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def ddl(self) -> list[str]:
        """CREATE TABLE IF NOT EXISTS, then an ALTER TABLE per column added after the first release."""
        lines = [f"{_ident(c.name)} {c.type}{' NOT NULL' if c.required else ''}" for c in self.columns]
        if self.primary_key:
            lines.append(f"PRIMARY KEY ({', '.join(self.primary_key)})")
        body = ",\n    ".join(lines)
        return [
            f"CREATE TABLE IF NOT EXISTS {self.name} (\n    {body}\n)",
            *[f"ALTER TABLE {self.name} ADD COLUMN IF NOT EXISTS {_ident(c.name)} {c.type}"
              for c in self.columns if c.added],
        ]


def _ident(name: str) -> str:
    # Quoted: some column names (format, columns, rank, ...) are DuckDB keywords.
    return sql_identifier(name)


# How a delivered file writes a value of each staged type, when a column names no `format`.
_FORMATS = {
    "VARCHAR": "text", "TIMESTAMPTZ": "timestamp", "BOOLEAN": "boolean", "INTEGER": "integer",
    "DOUBLE": "number", "DATE": "date",
}


def markdown_table(columns: tuple[Column, ...]) -> str:
    """The delivered-file contract of one entity as the docs' markdown table."""
    rows = ["| column | type | required | meaning |", "| --- | --- | --- | --- |"]
    for c in columns:
        fmt = c.format or _FORMATS[c.type]
        required = "yes" if c.required else ""
        rows.append(f"| {c.name} | {fmt} | {required} | {c.meaning} |".replace("|  |", "| |"))
    return "\n".join(rows)
