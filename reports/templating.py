"""The Jinja environment of the published pages, its filters, and values as templates want them."""

from urllib.parse import quote

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

ENV = Environment(
    loader=PackageLoader("reports", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.filters["pct"] = lambda v: "–" if v is None or pd.isna(v) else f"{v * 100:.0f}%"
ENV.filters["num"] = lambda v, d=2: "–" if v is None or pd.isna(v) else f"{v:,.{d}f}"
# A count that may be fractional (seats prorated over a month): "36", "33.5", never "36.0".
ENV.filters["qty"] = lambda v: "–" if v is None or pd.isna(v) else (
    f"{int(v):,}" if float(v).is_integer() else f"{v:,.1f}")
ENV.filters["int"] = lambda v: "–" if v is None or pd.isna(v) else f"{int(v):,}"
# A file name as a link: '#', '?' and '%' would otherwise end or change the path.
ENV.filters["href"] = lambda name: quote(name, safe="")


def records(df: pd.DataFrame) -> list[dict]:
    """Rows for a template, with missing values as None (a NaN would print as 'nan')."""
    return df.astype(object).where(df.notna(), None).to_dict("records")


def plural(n: int, noun: str) -> str:
    """'1 item', '2 items'."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def missing(v: object) -> bool:
    return v is None or (not isinstance(v, str) and pd.isna(v))
