"""Figures for the reports: the portfolio chart as a plotly fragment (without plotly.js), and the
client reports' charts and sparklines as inline SVG."""

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


def fair_use_trend_svg(trend: pd.DataFrame) -> Markup:
    """Units per seat per month against the plan's limit (a step), with the rolling average."""
    return svg_trend(
        "Standard ticket units per seat, last 12 months",
        list(trend["month"].dt.strftime("%Y-%m")),
        [("Units per seat", list(trend["units_per_seat"]), "#4c78a8")],
        [("Rolling average", list(trend["rolling_units_per_seat"]), "#f58518", False),
         ("Fair-use limit", list(trend["fair_use_limit_per_seat"]), "#e45756", True)],
        chart_id="fair-use-trend")


def category_mix_svg(categories: pd.DataFrame) -> Markup:
    """Standard units by category this month, and provider-initiated tickets (not counted);
    categories with neither are left out."""
    data = categories[(categories["standard_units"] > 0) | (categories["provider_initiated"] > 0)]
    data = data.sort_values("standard_units", ascending=False)
    stacks = [("Standard units", list(data["standard_units"]), "#4c78a8")]
    if data["provider_initiated"].sum() > 0:
        stacks.append(("Opened by our monitoring (not counted)", list(data["provider_initiated"]),
                       "#bab0ac"))
    return svg_hbars("Category mix this month", list(data["category"]), stacks,
                     chart_id="category-mix")


def sla_trend_svg(trend: pd.DataFrame) -> Markup:
    """Response-time compliance per target priority over 12 months."""
    months = sorted(trend["month"].dt.strftime("%Y-%m").unique())
    lines = []
    for priority, colour in _PRIORITY_COLOURS.items():
        data = trend[trend["priority"] == priority]
        if data.empty:
            continue
        by_month = dict(zip(data["month"].dt.strftime("%Y-%m"), data["sla_compliance"], strict=True))
        lines.append((priority, [by_month.get(m) for m in months], colour, False))
    return svg_trend("Response-time compliance by priority, last 12 months", months, [], lines,
                     percent=True, chart_id="sla-trend")


def client_labels(ids: pd.Series, names: pd.Series) -> list[str]:
    """A label per client: its name, or 'name (id)' where several clients share the name."""
    shared = names.map(names.value_counts()) > 1
    return [f"{n} ({i})" if dup else n for i, n, dup in zip(ids, names, shared, strict=True)]


def portfolio_fair_use(clients: pd.DataFrame, div_id: str = "portfolio-fair-use") -> str:
    """Clients ranked by fair-use ratio (units per seat against their plan's limit)."""
    # Length and colour measure the same thing: the rolling ratio the status is judged on.
    data = clients.assign(
        rolling_ratio=clients["rolling_units_per_seat"] / clients["fair_use_limit_per_seat"]
    ).sort_values("rolling_ratio")
    colours = data["fair_use_status"].map({"within": "#54a24b", "watch": "#eeca3b",
                                           "over": "#e45756"})
    # One bar per client id: two clients with one name are two bars, labelled 'name (id)'.
    labels = client_labels(data["client_id"], data["client_name"])
    fig = go.Figure(go.Bar(y=data["client_id"], x=data["rolling_ratio"], orientation="h",
                           marker_color=colours, name="Rolling fair-use ratio", hovertext=labels))
    fig.update_yaxes(type="category", tickvals=list(data["client_id"]), ticktext=labels)
    fig.add_vline(x=1.0, line_dash="dash", line_color="#e45756")
    layout = dict(_LAYOUT, height=max(320, 22 * len(data) + 80))
    fig.update_layout(title="Rolling fair-use ratio by client (1.0 = plan limit; green within,"
                            " yellow watch, red over)", **layout)
    return _html(fig, div_id)


_PRIORITY_COLOURS = {"emergency": "#e45756", "high": "#f58518", "normal": "#4c78a8", "low": "#72b7b2"}


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


# Charts of the client report as inline SVG: the report is one self-contained file (it can be
# attached to an email and still shows its charts), prints crisply, and needs no script.
_W, _H = 680, 250
_PAD = {"l": 48, "r": 12, "t": 30, "b": 58}


def _esc(text: object) -> str:
    return str(Markup.escape(text))


def _num(v: object) -> float | None:
    if v is None or (isinstance(v, float) and math.isnan(v)) or pd.isna(v):
        return None
    return float(v)


def _ticks(hi: float, percent: bool) -> list[float]:
    if percent:
        return [0.0, 0.25, 0.5, 0.75, 1.0]
    raw = hi / 4 if hi > 0 else 0.25
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return [step * i for i in range(int(hi / step) + 2) if step * i <= hi + step]


def _legend(items: list[tuple[str, str, str]], y: float) -> str:
    """Legend entries (name, colour, kind 'bar' | 'line' | 'dash') in one row under the plot."""
    out, x = [], _PAD["l"]
    for name, colour, kind in items:
        dash = ' stroke-dasharray="4 3"' if kind == "dash" else ""
        mark = (f'<rect x="{x}" y="{y - 8}" width="12" height="9" fill="{colour}"/>' if kind == "bar"
                else f'<line x1="{x}" y1="{y - 4}" x2="{x + 14}" y2="{y - 4}" stroke="{colour}"'
                f' stroke-width="2"{dash}/>')
        out.append(f'{mark}<text x="{x + 18}" y="{y}" class="legend">{_esc(name)}</text>')
        x += 30 + 6.5 * len(name)
    return "".join(out)


def svg_trend(title: str, labels: list[str], bars: list[tuple[str, list, str]],
              lines: list[tuple[str, list, str, bool]], percent: bool = False,
              chart_id: str = "") -> Markup:
    """Monthly bars and lines on one value axis (a line's flag: dashed, drawn as a step)."""
    series = [v for _, values, _ in bars for v in values] + \
        [v for _, values, _, _ in lines for v in values]
    known = [n for n in (_num(v) for v in series) if n is not None]
    hi = 1.0 if percent else max(known + [0.0]) * 1.1 or 1.0
    ticks = _ticks(hi, percent)
    hi = max(hi, ticks[-1])
    plot_w, plot_h = _W - _PAD["l"] - _PAD["r"], _H - _PAD["t"] - _PAD["b"]
    slot = plot_w / max(len(labels), 1)

    def y(v: float) -> float:
        return _PAD["t"] + plot_h - v / hi * plot_h

    parts = [f'<text x="{_PAD["l"]}" y="18" class="title">{_esc(title)}</text>']
    for t in ticks:
        text = f"{t:.0%}" if percent else (f"{t:g}" if t < 10 else f"{t:,.0f}")
        parts.append(f'<line x1="{_PAD["l"]}" x2="{_W - _PAD["r"]}" y1="{y(t):.1f}" y2="{y(t):.1f}"'
                     f' class="grid"/><text x="{_PAD["l"] - 6}" y="{y(t) + 4:.1f}" class="tick"'
                     f' text-anchor="end">{text}</text>')
    for i, label in enumerate(labels):
        parts.append(f'<text x="{_PAD["l"] + slot * (i + 0.5):.1f}" y="{_H - _PAD["b"] + 16}"'
                     f' class="tick" text-anchor="middle">{_esc(label)}</text>')
    width = slot * 0.7 / max(len(bars), 1)
    for b, (name, values, colour) in enumerate(bars):
        for i, v in enumerate(values):
            n = _num(v)
            if n is None:
                continue
            x = _PAD["l"] + slot * (i + 0.15) + b * width
            parts.append(f'<rect class="mark" x="{x:.1f}" y="{y(n):.1f}" width="{width:.1f}"'
                         f' height="{max(y(0) - y(n), 0):.1f}" fill="{colour}">'
                         f'<title>{_esc(name)} {_esc(labels[i])}: {n:.2f}</title></rect>')
    for name, values, colour, dashed in lines:
        points, pen = [], "M"
        for i, v in enumerate(values):
            n = _num(v)
            if n is None:
                pen = "M"
                continue
            cx = _PAD["l"] + slot * (i + 0.5)
            if dashed:  # a step: the value holds across its month
                points.append(f"{pen}{cx - slot / 2:.1f},{y(n):.1f} L{cx + slot / 2:.1f},{y(n):.1f}")
            else:
                points.append(f"{pen}{cx:.1f},{y(n):.1f}")
                parts.append(f'<circle class="mark" cx="{cx:.1f}" cy="{y(n):.1f}" r="2.5"'
                             f' fill="{colour}"><title>{_esc(name)} {_esc(labels[i])}:'
                             f' {f"{n:.0%}" if percent else f"{n:.2f}"}</title></circle>')
            pen = "L"
        if points:
            dash = ' stroke-dasharray="5 3"' if dashed else ""
            parts.append(f'<path class="mark" d="{" ".join(points)}" fill="none" stroke="{colour}"'
                         f' stroke-width="2"{dash}/>')
    legend = [(n, c, "bar") for n, _, c in bars] + \
        [(n, c, "dash" if d else "line") for n, _, c, d in lines]
    parts.append(_legend(legend, _H - 12))
    return _svg(parts, title, _H, chart_id)


def svg_hbars(title: str, labels: list[str], stacks: list[tuple[str, list, str]],
              chart_id: str = "") -> Markup:
    """Horizontal stacked bars, one row per label."""
    row = 22
    height = _PAD["t"] + row * len(labels) + 44
    label_w = 170
    plot_w = _W - label_w - _PAD["r"]
    totals = [sum(_num(values[i]) or 0 for _, values, _ in stacks) for i in range(len(labels))]
    hi = max(totals + [1.0])
    parts = [f'<text x="{_PAD["l"]}" y="18" class="title">{_esc(title)}</text>']
    for i, label in enumerate(labels):
        top = _PAD["t"] + i * row
        parts.append(f'<text x="{label_w - 6}" y="{top + 15}" class="tick" text-anchor="end">'
                     f'{_esc(label)}</text>')
        x = label_w
        for name, values, colour in stacks:
            n = _num(values[i]) or 0
            if n <= 0:
                continue
            w = n / hi * plot_w
            parts.append(f'<rect class="mark" x="{x:.1f}" y="{top + 3}" width="{w:.1f}" height="{row - 6}"'
                         f' fill="{colour}"><title>{_esc(label)}, {_esc(name)}: {n:g}</title></rect>')
            x += w
        parts.append(f'<text x="{x + 4:.1f}" y="{top + 15}" class="tick">{totals[i]:g}</text>')
    parts.append(_legend([(n, c, "bar") for n, _, c in stacks], height - 10))
    return _svg(parts, title, height, chart_id)


def _svg(parts: list[str], title: str, height: int, chart_id: str) -> Markup:
    ident = f' id="{_esc(chart_id)}"' if chart_id else ""
    return Markup(
        f'<svg class="chart"{ident} viewBox="0 0 {_W} {height}" width="100%" role="img"'
        f' aria-label="{_esc(title)}" preserveAspectRatio="xMinYMin meet">'
        '<style>.title{font:600 13px system-ui,sans-serif;fill:#1f2933}'
        '.tick,.legend{font:11px system-ui,sans-serif;fill:#616e7c}'
        '.grid{stroke:#e4e7eb;stroke-width:1}</style>' + "".join(parts) + "</svg>")
