"""Closed months: a month's finance export, once marked invoiced, is not changed by later runs;
differences in its billed (approved) lines become adjustments in the next open month's export.

Mark a month invoiced with `python -m reports.invoicing --month 2026-01`: the published export
(what finance invoiced from) is kept as <published>/.invoiced/<YYYY-MM>.csv.
"""

import argparse
import csv
import shutil
from pathlib import Path

import duckdb
import pandas as pd

from policy.paths import published_dir
from reports import finance

INVOICED = ".invoiced"
ADJUSTMENT_COLUMNS = {
    "month_of_work": "Month of work",
    "ticket_id": "Ticket",
    "client_id": "Client id",
    "client_name": "Client",
    "invoiced_amount": "Invoiced",
    "current_amount": "Now",
    "adjustment": "Adjustment",
    "currency": "Currency",
}


def invoiced_file(root: Path, month: str, suffix: str = ".csv") -> Path:
    return root / INVOICED / f"{month[:7]}{suffix}"


def is_invoiced(root: Path, month: str) -> bool:
    return invoiced_file(root, month).is_file()


def mark_invoiced(root: Path, month: str) -> Path:
    """Keep the published export of `month` as the invoiced one; later publishes leave it."""
    label = month[:7]
    source = root / label / f"out-of-scope-{label}.csv"
    if not source.is_file():
        raise FileNotFoundError(f"{source}: no published finance export for {label} to mark invoiced")
    target = invoiced_file(root, month)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source.with_suffix(".xlsx"), invoiced_file(root, month, ".xlsx"))
    shutil.copyfile(source, target)
    return target


def closed_export(root: Path, month: str, folder: Path) -> tuple[Path, Path, int]:
    """The invoiced export of a closed month, as it was invoiced, into `folder`."""
    label = month[:7]
    csv_path = folder / f"out-of-scope-{label}.csv"
    xlsx_path = folder / f"out-of-scope-{label}.xlsx"
    shutil.copyfile(invoiced_file(root, month), csv_path)
    shutil.copyfile(invoiced_file(root, month, ".xlsx"), xlsx_path)
    with csv_path.open(newline="", encoding="utf-8") as fh:
        lines = sum(1 for _ in csv.DictReader(fh))
    return csv_path, xlsx_path, lines


def _unprefix(value: str) -> str:
    """A text cell as it was before the export's formula guard prefixed it with '."""
    return value[1:] if value[:1] == "'" and value[1:2] in finance._FORMULA_START else value


def invoiced_lines(root: Path, month: str) -> pd.DataFrame:
    """The approved lines of an invoiced month, as invoiced: ticket, client, amount, currency."""
    with invoiced_file(root, month).open(newline="", encoding="utf-8") as fh:
        rows = [{k: _unprefix(v) for k, v in row.items()} for row in csv.DictReader(fh)]
    names = {v: k for k, v in finance.LINE_COLUMNS.items()}
    df = pd.DataFrame(rows, columns=list(finance.LINE_COLUMNS.values())).rename(columns=names)
    df = df[df["review_status"] == "approved"]
    return df.assign(amount=pd.to_numeric(df["amount"]))[
        ["ticket_id", "client_id", "client_name", "amount", "currency"]]


def adjustments(con: duckdb.DuckDBPyConnection, root: Path, month: str,
                months: list[str]) -> pd.DataFrame:
    """Adjustments that `month` (open) carries: for each invoiced month whose next open month is
    `month`, the approved amount per ticket now against what was invoiced, where they differ."""
    frames = []
    earlier = sorted(m for m in months if m < month)
    for closed in earlier:
        between = [m for m in earlier if closed < m]
        if not is_invoiced(root, closed) or not all(is_invoiced(root, m) for m in between):
            continue
        then = invoiced_lines(root, closed)
        now = finance.line_items(con, closed)
        now = now[now["review_status"] == "approved"][
            ["ticket_id", "client_id", "client_name", "amount", "currency"]]
        both = then.merge(now, on=["ticket_id", "client_id", "currency"], how="outer",
                          suffixes=("_then", "_now"))
        both = both.assign(
            month_of_work=closed[:7],
            client_name=both["client_name_now"].fillna(both["client_name_then"]),
            invoiced_amount=both["amount_then"].fillna(0.0),
            current_amount=both["amount_now"].fillna(0.0))
        both["adjustment"] = (both["current_amount"] - both["invoiced_amount"]).round(2)
        frames.append(both[both["adjustment"] != 0][list(ADJUSTMENT_COLUMNS)])
    if not frames:
        return pd.DataFrame(columns=list(ADJUSTMENT_COLUMNS))
    return pd.concat(frames, ignore_index=True).sort_values(["month_of_work", "ticket_id"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--month", required=True, help="YYYY-MM or YYYY-MM-01")
    args = parser.parse_args(argv)
    target = mark_invoiced(published_dir(), args.month[:7] + "-01")
    print(f"{args.month[:7]} marked invoiced: {target}; later runs leave its export as it is")


if __name__ == "__main__":
    main()
