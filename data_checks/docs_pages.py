"""A month's Data Docs written from the stored suites and validation results, without GX.

Every check stores its suite and its result as great-expectations' own JSON
(`quality.validation_results`); these pages show what GX's site builder showed from that JSON:
per check and month the suite's expectations and their arguments, the validation's statistics,
each expectation's outcome with its counts (rows, missing, unexpected) and, for a failed one,
its offending values and how often each occurs. GX's builder cost an import of about 4 s of CPU
and about 0.3 s of Jinja a month; these pages are plain HTML, readable offline, and written in
milliseconds.
"""

import json
import shutil
import uuid
from collections.abc import Iterable
from datetime import date, datetime
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote

# One stored result as `data_docs` reads it (quality.validation_results, in this order).
Row = tuple[str, date | None, str | None, datetime, str, str, bool, str, str, str, int, int]

_STYLE = """body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; margin: .5rem 0 1rem; } th, td { padding: .3rem .6rem;
border-bottom: 1px solid #ddd; text-align: left; vertical-align: top; }
tr.failed td { background: #fde8e8; } tr.warning td { background: #fff6db; }
code { font-size: .9em; } .muted { color: #666; }"""

# What each expectation asserts, as a sentence over its arguments (GX's own types and names).
_BETWEEN = {(False, False): "between {min} and {max}", (True, False): "greater than {min} and"
            " at most {max}", (False, True): "at least {min} and less than {max}",
            (True, True): "strictly between {min} and {max}"}


def _value(value: Any) -> str:
    return escape(json.dumps(value, default=str) if not isinstance(value, str) else value)


def describe(expectation_type: str, kwargs: dict[str, Any]) -> str:
    """The expectation as a sentence (HTML), e.g. 'seats values must be at least 1.0'."""
    column = f"<code>{escape(str(kwargs.get('column', '')))}</code>"
    match expectation_type:
        case "expect_column_to_exist":
            text = f"{column} is a required column"
        case "expect_column_values_to_not_be_null":
            text = f"{column} values must never be null"
        case "expect_column_values_to_be_null":
            text = f"{column} values must be null (a value names an offending row)"
        case "expect_column_values_to_be_unique":
            text = f"{column} values must be unique"
        case "expect_column_values_to_be_in_set":
            members = ", ".join(f"<code>{_value(v)}</code>" for v in kwargs.get("value_set", []))
            text = f"{column} values must belong to this set: {members}"
        case "expect_column_values_to_be_between":
            low, high = kwargs.get("min_value"), kwargs.get("max_value")
            strict = (bool(kwargs.get("strict_min")), bool(kwargs.get("strict_max")))
            if low is not None and high is not None:
                bound = _BETWEEN[strict].format(min=_value(low), max=_value(high))
            elif low is not None:
                bound = f"{'greater than' if strict[0] else 'at least'} {_value(low)}"
            else:
                bound = f"{'less than' if strict[1] else 'at most'} {_value(high)}"
            text = f"{column} values must be {bound}"
        case "expect_compound_columns_to_be_unique":
            columns = ", ".join(f"<code>{escape(c)}</code>" for c in kwargs.get("column_list", []))
            text = f"values must be unique together across {columns}"
        case "expect_column_pair_values_a_to_be_greater_than_b":
            relation = "at least" if kwargs.get("or_equal") else "greater than"
            text = (f"<code>{escape(str(kwargs.get('column_A')))}</code> must be {relation}"
                    f" <code>{escape(str(kwargs.get('column_B')))}</code>")
        case "expect_column_values_to_match_regex":
            text = f"{column} values must match <code>{_value(kwargs.get('regex'))}</code>"
        case _:
            text = escape(expectation_type)
    if kwargs.get("mostly") is not None:
        text += f", at least {float(kwargs['mostly']):.0%} of the time"
    if kwargs.get("ignore_row_if"):
        text += f" (rows ignored if {escape(str(kwargs['ignore_row_if']))})"
    return text


def _arguments(kwargs: dict[str, Any]) -> str:
    """The expectation's arguments as GX stored them (the batch id left out: it names the table)."""
    return "<br>".join(f"{escape(k)}: <code>{_value(v)}</code>"
                       for k, v in kwargs.items() if k != "batch_id")


def _percent(value: Any) -> str:
    return "" if value is None else f"{float(value):.2f}%"


def _observed(result: dict[str, Any]) -> str:
    """The counts GX reported for one expectation, and its observed value when it has one."""
    figures = result.get("result") or {}
    parts = []
    if "element_count" in figures:
        parts.append(f"{figures['element_count']:,} rows")
    if figures.get("missing_count"):
        parts.append(f"{figures['missing_count']:,} missing ({_percent(figures.get('missing_percent'))})")
    if "unexpected_count" in figures:
        parts.append(f"{figures['unexpected_count']:,} unexpected"
                     + (f" ({_percent(figures['unexpected_percent'])})"
                        if figures.get("unexpected_percent") is not None else ""))
    if "observed_value" in figures:
        parts.append(f"observed: <code>{_value(figures['observed_value'])}</code>")
    raised = (result.get("exception_info") or {}).get("exception_message")
    if raised:
        parts.append(f"<strong>error:</strong> {escape(str(raised))}")
    return "<br>".join(parts)


def _unexpected(result: dict[str, Any]) -> str:
    """A failed expectation's offending values with their counts (GX's partial lists)."""
    figures = result.get("result") or {}
    counts = figures.get("partial_unexpected_counts")
    if counts:
        rows = "".join(f"<tr><td><code>{_value(c['value'])}</code></td><td>{c['count']:,}</td></tr>"
                       for c in counts)
        return f"<table><tr><th>unexpected value</th><th>count</th></tr>{rows}</table>"
    values = figures.get("partial_unexpected_list")
    if values:
        return "<br>".join(f"<code>{_value(v)}</code>" for v in values)
    return ""


def _page(title: str, body: str, up: str) -> str:
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}'
            f"</title>\n<style>\n{_STYLE}\n</style></head><body>\n"
            f'<p><a href="{up}index.html">All checks of the month</a></p>\n{body}\n</body></html>\n')


def _severity(severity: str) -> str:
    return "blocking" if severity == "ERROR" else "warn"


def _status(success: bool, severity: str) -> str:
    return "passed" if success else ("FAILED" if severity == "ERROR" else "warning")


def result_page(row: Row) -> str:
    """One check's validation of one month: statistics, then every expectation and its outcome."""
    name, month, run_id, validated_at, _, result_json, success, severity, layer, table, n, _ = row
    result = json.loads(result_json)
    stats = result.get("statistics") or {}
    meta = result.get("meta") or {}
    lines = []
    for r in result.get("results", []):
        config = r.get("expectation_config") or {}
        kwargs = config.get("kwargs") or {}
        ok = bool(r.get("success"))
        lines.append(
            f'<tr class="{"passed" if ok else "failed"}"><td>{"passed" if ok else "failed"}</td>'
            f"<td>{describe(config.get('type', ''), kwargs)}<br>"
            f"<span class=\"muted\">{escape(config.get('type', ''))}</span></td>"
            f"<td>{_arguments(kwargs)}</td><td>{_observed(r)}</td><td>{_unexpected(r)}</td></tr>")
    partition = month.isoformat()[:7] if month else "all (contracts)"
    status = _status(success, severity)
    body = f"""<h1>{escape(name)}: {status}</h1>
<table>
<tr><th>check</th><td>{escape(name)} ({_severity(severity)}, layer {escape(layer)})</td></tr>
<tr><th>table</th><td>{escape(table)}</td></tr>
<tr><th>partition</th><td>{escape(partition)}</td></tr>
<tr><th>rows validated</th><td>{n:,}</td></tr>
<tr><th>result</th><td>{'Succeeded' if result.get('success') else 'Failed'}</td></tr>
<tr><th>expectations</th><td>{stats.get('evaluated_expectations', 0)} evaluated,
{stats.get('successful_expectations', 0)} successful, {stats.get('unsuccessful_expectations', 0)}
unsuccessful ({_percent(stats.get('success_percent'))} success)</td></tr>
<tr><th>validated (UTC)</th><td>{escape(str(validated_at)[:19])}</td></tr>
<tr><th>Dagster run</th><td>{escape(run_id or 'unknown')}</td></tr>
<tr><th>great-expectations</th><td>{escape(str(meta.get('great_expectations_version', '')))}</td></tr>
</table>
<p><a href="../../expectations/{escape(quote(name))}.html">The suite's expectations</a></p>
<h2>Expectations</h2>
<table><thead><tr><th>status</th><th>expectation</th><th>arguments</th><th>observed</th>
<th>sample of unexpected values</th></tr></thead><tbody>
{chr(10).join(lines)}
</tbody></table>"""
    return _page(f"{name} {partition}", body, "../../")


def suite_page(name: str, suite_json: str) -> str:
    """A suite: its expectations, each as a sentence and with its arguments."""
    suite = json.loads(suite_json)
    lines = "\n".join(
        f"<tr><td>{describe(e['type'], e.get('kwargs') or {})}<br>"
        f"<span class=\"muted\">{escape(e['type'])}</span></td>"
        f"<td>{_arguments(e.get('kwargs') or {})}</td></tr>"
        for e in suite.get("expectations", []))
    version = (suite.get("meta") or {}).get("great_expectations_version", "")
    body = f"""<h1>Suite {escape(name)}</h1>
<p>{len(suite.get('expectations', []))} expectation(s), great-expectations {escape(str(version))}.</p>
<table><thead><tr><th>expectation</th><th>arguments</th></tr></thead><tbody>
{lines}
</tbody></table>"""
    return _page(f"Suite {name}", body, "../")


def result_path(row: Row) -> str:
    """Where a result's page is, relative to the month's folder."""
    name, month = row[0], row[1]
    return f"validations/{name}/{month.isoformat()[:7] if month else 'all'}.html"


def index_page(rows: Iterable[Row]) -> str:
    """Every check of the month with its layer, table, severity, outcome and links to its pages."""
    rows = list(rows)
    body = []
    for row in rows:
        name, month, _, validated_at, _, _, success, severity, layer, table, n, failed = row
        status = _status(success, severity)
        body.append(
            f'<tr class="{status.lower()}"><td>{escape(layer)}</td>'
            f'<td><a href="{escape(quote(result_path(row)))}">{escape(name)}</a></td>'
            f"<td>{escape(table)}</td><td>{_severity(severity)}</td>"
            f"<td>{status}</td><td>{n:,}</td><td>{failed}</td>"
            f"<td>{escape(month.isoformat()[:7] if month else 'all (contracts)')}</td>"
            f"<td>{escape(str(validated_at)[:19])}</td>"
            f'<td><a href="expectations/{escape(quote(name))}.html">suite</a></td></tr>')
    failed_blocking = sum(1 for r in rows if not r[6] and r[7] == "ERROR")
    warnings = sum(1 for r in rows if not r[6] and r[7] != "ERROR")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Data quality</title>
<style>
{_STYLE}
</style></head><body>
<h1>Data quality checks</h1>
<p>{len(rows)} great-expectations suites, {failed_blocking} blocking failure(s), {warnings}
warning(s). A blocking failure stops the month from being published. Each name links to the
suite's validation result: every expectation, its outcome and a sample of offending values.</p>
<table><thead><tr><th>layer</th><th>check</th><th>table</th><th>severity</th><th>result</th>
<th>rows</th><th>failed expectations</th><th>partition</th><th>validated (UTC)</th><th></th></tr>
</thead><tbody>
{chr(10).join(body)}
</tbody></table></body></html>
"""


def write_docs(rows: list[Row], target: Path) -> Path:
    """Write a month's pages into `target`: the index, a page per result and per suite."""
    for row in rows:
        page = target / result_path(row)
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(result_page(row), encoding="utf-8")
    (target / "expectations").mkdir(parents=True, exist_ok=True)
    for row in rows:
        (target / "expectations" / f"{row[0]}.html").write_text(suite_page(row[0], row[4]),
                                                                encoding="utf-8")
    (target / "index.html").write_text(index_page(rows), encoding="utf-8")
    return target / "index.html"


def publish_docs(rows: list[Row], folder: Path) -> None:
    """Write into a sibling folder, then swap it in, so a reader never sees half a site."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging_dir = folder.parent / f".building-{folder.name}-{uuid.uuid4().hex[:8]}"
    old = folder.parent / f".old-{folder.name}-{uuid.uuid4().hex[:8]}"
    try:
        write_docs(rows, staging_dir)
        if folder.exists():
            folder.rename(old)
        staging_dir.rename(folder)
    finally:
        shutil.rmtree(staging_dir, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
