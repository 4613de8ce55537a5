"""Figures for the reports: plotly fragments (without plotly.js) and small inline SVG sparklines."""

import math
from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go
from markupsafe import Markup

_LAYOUT = {
    "template": "plotly_white",
    "height": 320,
    "margin": {"l": 50, "r": 20, "t": 40, "b": 40},
    "font": {"family": "system-ui, -apple-system, Segoe UI, sans-serif", "size": 12},
    "legend": {"orientation": "h", "y": -0.2},
}


def _html(fig: go.Figure, div_id: str) -> str:
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id,
                       config={"displaylogo": False, "responsive": True})


def fair_use_trend(trend: pd.DataFrame, div_id: str = "fair-use-trend") -> str:
    """Units per seat per month against the plan's limit, with the rolling view."""
    months = trend["month"].dt.strftime("%Y-%m")
    fig = go.Figure()
    fig.add_bar(x=months, y=trend["units_per_seat"], name="Units per seat",
                marker_color="#4c78a8")
    fig.add_scatter(x=months, y=trend["rolling_units_per_seat"], name="Rolling average",
                    mode="lines+markers", line={"color": "#f58518"})
    # The limit changes only when the plan does: a step, not a slope between months.
    fig.add_scatter(x=months, y=trend["fair_use_limit_per_seat"], name="Fair-use limit",
                    mode="lines+markers", marker={"symbol": "line-ew-open", "size": 10},
                    line={"color": "#e45756", "dash": "dash", "shape": "hvh"})
    fig.update_layout(title="Standard ticket units per seat, last 12 months", **_LAYOUT)
    return _html(fig, div_id)


def category_mix(categories: pd.DataFrame, div_id: str = "category-mix") -> str:
    """Standard units by category this month (and provider-initiated tickets, not counted)."""
    data = categories.sort_values("standard_units")
    fig = go.Figure()
    fig.add_bar(y=data["category"], x=data["standard_units"], orientation="h",
                name="Standard units", marker_color="#4c78a8")
    fig.add_bar(y=data["category"], x=data["provider_initiated"], orientation="h",
                name="Provider-initiated (not counted)", marker_color="#bab0ac")
    fig.update_layout(title="Category mix this month", barmode="stack", **_LAYOUT)
    return _html(fig, div_id)


def client_labels(ids: pd.Series, names: pd.Series) -> list[str]:
    """A label per client: its name, or 'name (id)' where several clients share the name."""
    shared = names.map(names.value_counts()) > 1
    return [f"{n} ({i})" if dup else n for i, n, dup in zip(ids, names, shared, strict=True)]


def portfolio_fair_use(clients: pd.DataFrame, div_id: str = "portfolio-fair-use") -> str:
    """Clients ranked by fair-use ratio (units per seat against their plan's limit)."""
    data = clients.sort_values("fair_use_ratio")
    colours = data["fair_use_status"].map({"within": "#54a24b", "watch": "#eeca3b",
                                           "over": "#e45756"})
    # One bar per client id: two clients with one name are two bars, labelled 'name (id)'.
    labels = client_labels(data["client_id"], data["client_name"])
    fig = go.Figure(go.Bar(y=data["client_id"], x=data["fair_use_ratio"], orientation="h",
                           marker_color=colours, name="Fair-use ratio", hovertext=labels))
    fig.update_yaxes(type="category", tickvals=list(data["client_id"]), ticktext=labels)
    fig.add_vline(x=1.0, line_dash="dash", line_color="#e45756")
    layout = dict(_LAYOUT, height=max(320, 22 * len(data) + 80))
    fig.update_layout(title="Fair-use ratio by client (1.0 = plan limit)", **layout)
    return _html(fig, div_id)


_PRIORITY_COLOURS = {"emergency": "#e45756", "high": "#f58518", "normal": "#4c78a8", "low": "#72b7b2"}


def sla_trend(trend: pd.DataFrame, div_id: str = "sla-trend") -> str:
    """Response-time compliance per target priority over 12 months."""
    fig = go.Figure()
    for priority, colour in _PRIORITY_COLOURS.items():
        data = trend[trend["priority"] == priority]
        if data.empty:
            continue
        fig.add_scatter(x=data["month"].dt.strftime("%Y-%m"), y=data["sla_compliance"],
                        name=priority, mode="lines+markers", line={"color": colour},
                        customdata=data["sla_tickets"],
                        hovertemplate="%{x}: %{y:.0%} of %{customdata} tickets<extra>" + priority
                        + "</extra>")
    fig.update_layout(title="Response-time compliance by priority, last 12 months", **_LAYOUT)
    fig.update_yaxes(tickformat=".0%", range=[0, 1.05])
    return _html(fig, div_id)


def sparkline(values: Sequence[float | None], limit: Sequence[float | None] | None = None,
              width: int = 140, height: int = 34, percent: bool = False) -> Markup:
    """A 12-month trend as inline SVG: prints crisply and needs no script. Missing months are gaps."""
    nums = [None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
            for v in values]
    lims = [None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
            for v in (limit or [])]
    known = [v for v in nums + lims if v is not None]
    if len([v for v in nums if v is not None]) < 2:
        return Markup("")
    # Shares are drawn against 100% from just below their lowest value; counts from zero.
    lo = max(0.0, min(known) - 0.1) if percent else min(0.0, min(known))
    hi = 1.0 if percent else max(known)
    span = (hi - lo) or 1.0
    step = (width - 4) / max(len(nums) - 1, 1)

    def point(i: int, v: float) -> str:
        return f"{2 + i * step:.1f},{height - 3 - (v - lo) / span * (height - 6):.1f}"

    def path(series: list[float | None]) -> str:
        parts, pen = [], "M"
        for i, v in enumerate(series):
            if v is None:
                pen = "M"
                continue
            parts.append(f"{pen}{point(i, v)}")
            pen = "L"
        return " ".join(parts)

    last = max(i for i, v in enumerate(nums) if v is not None)
    cx, cy = point(last, nums[last]).split(",")
    limit_path = (f'<path d="{path(lims)}" fill="none" stroke="#e45756" stroke-width="1"'
                  ' stroke-dasharray="3 2"/>') if lims else ""
    return Markup(
        f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}"'
        f' role="img" aria-label="trend over the last {len(nums)} months">{limit_path}'
        f'<path d="{path(nums)}" fill="none" stroke="#4c78a8" stroke-width="1.5"/>'
        f'<circle cx="{cx}" cy="{cy}" r="2.5" fill="#4c78a8"/></svg>'
    )
