"""Benchmark: the whole pipeline at 10k, 100k and 1M tickets, per stage, with peak memory.

For each size, scripts.synthetic_msp writes months+1 months of landing files; the last month is
held back. Then, each in a fresh process running the real Definitions (pipelines/definitions.py)
on a persistent Dagster instance, as `make run` does:

1. full: ingest_job, then monthly_job without publishing over all months, one run for the range
   as pipelines.run does: landing files to checked marts (every blocking asset check, GX suites
   included, runs);
2. publish: monthly_reports for the latest month (one HTML report per client, the month index,
   the finance export);
3. incremental: the held-back month is delivered, then the run the monthly_close schedule launches
   for it: one refresh_month_job run (registering and loading the new files, then that month's
   checked marts), without publishing.

Stage seconds come from Dagster's own step statistics; "dagster" is run wall time outside steps.
"wall" starts once the Definitions are loaded; "wall_from_start" starts with the phase's process
(its "startup", the interpreter and every import before the clock, plus "wall").
Peak RSS is the phase process's maximum resident set size (Linux's VmHWM, the figure
/usr/bin/time -v reports), and that of each GX worker process; CPU seconds include the workers'.
--unique-texts makes every ticket's text distinct (see synthetic_msp).
Not a test: run it by hand on a quiet machine, e.g.

    .venv/bin/python -m scripts.bench_pipeline --sizes 10k,100k,1M     # or: make bench
    .venv/bin/python -m scripts.bench_pipeline --sizes 10k --keep      # keep the warehouses
    .venv/bin/python -m scripts.bench_pipeline --sizes 1M --no-publish # pipeline only
"""

import argparse
import json
import multiprocessing
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scripts.synthetic_msp import generate, month_starts, parse_size  # noqa: E402

# Clients per size: the 500 clients at 1M tickets; fewer for smaller providers.
CLIENTS = {10_000: 25, 100_000: 100, 1_000_000: 500}

# Dagster step keys grouped into pipeline stages, in pipeline order.
STAGES: list[tuple[str, tuple[str, ...]]] = [
    ("landing", ("landing_files",)),
    ("raw", ("raw_",)),
    ("staging", ("staging_", "business_calendars")),
    ("classification", ("scope_hits", "emergency_readings")),
    ("facts", ("ticket_facts",)),
    ("billing", ("out_of_scope",)),
    ("marts", ("client_month",)),
    ("data docs", ("data_docs",)),
    ("publishing", ("monthly_reports",)),
]


def stage_of(step_key: str, assets: set[str]) -> str:
    """The stage a step belongs to; asset checks (steps that are not assets) form their own."""
    if step_key not in assets:
        return "checks"
    for stage, prefixes in STAGES:
        if step_key.startswith(prefixes):
            return stage
    return "other"


def _vmhwm_mb(pid: int | str = "self") -> float | None:
    """A process's peak resident set size from /proc (VmHWM), or None when unreadable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _worker_peaks_mb() -> list[float]:
    """Peak resident set size of each live worker process (the GX validation pool).

    Read from /proc while they run: a child's ru_maxrss starts from its parent's peak when it was
    forked, VmHWM from its own start.
    """
    peaks = [_vmhwm_mb(child.pid) for child in multiprocessing.active_children()]
    return [peak for peak in peaks if peak is not None]


def _process_age() -> float | None:
    """Seconds since this process started (Linux: /proc/self/stat), or None when unreadable.

    The interpreter's start and every import before the measured clock count in it.
    """
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        boot = next(float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    return time.time() - (boot + ticks / os.sysconf("SC_CLK_TCK"))


def _peak_rss_mb(usage: resource.struct_rusage) -> float:
    """This process's peak resident set size (what /usr/bin/time -v reports as maximum RSS).

    Linux's VmHWM, because ru_maxrss survives fork and exec: a child started by a parent that
    once held more (the generator) would report the parent's peak.
    """
    peak = _vmhwm_mb()
    return peak if peak is not None else usage.ru_maxrss / 1024  # kilobytes on Linux


# --- child: runs inside a fresh process, prints one JSON line --------------------------------------
def child(mode: str, month: str | None = None) -> None:
    """Run one measured phase through the real Definitions and print its figures as JSON."""
    import dagster as dg

    warnings.filterwarnings("ignore", category=dg.BetaWarning)
    warnings.filterwarnings("ignore", category=dg.PreviewWarning)
    from pipelines import definitions
    from pipelines.run import _QUIET, months_reported, months_with_tickets, run_months

    defs = definitions.defs
    instance = dg.DagsterInstance.get()
    monthly = defs.resolve_job_def("monthly_job")

    def without_publishing(job: dg.JobDefinition) -> list[dg.AssetKey]:
        """The job's assets up to checked marts: all but monthly_reports."""
        return sorted(k for k in job.asset_layer.selected_asset_keys
                      if k != dg.AssetKey("monthly_reports"))

    # The clock starts here, after the Definitions load; what the process paid before it (the
    # interpreter, imports, loading the code location) is reported beside it as "startup".
    startup = _process_age()
    startup_usage = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    run_ids = []
    if mode == "full":
        result = defs.resolve_job_def("ingest_job").execute_in_process(
            instance=instance, run_config=_QUIET)
        run_ids.append(result.run_id)
        months = months_with_tickets()
        # As pipelines.run does: one run over the range of months (a single-run backfill).
        run_ids += [r.run_id for _, r in run_months(monthly, instance, months,
                                                     without_publishing(monthly))]
    elif mode == "incremental":
        # What the monthly_close schedule launches: ingest and the month in one run.
        months = [month]
        refresh = defs.resolve_job_def("refresh_month_job")
        result = refresh.execute_in_process(
            instance=instance, run_config=_QUIET, partition_key=month,
            asset_selection=without_publishing(refresh))
        run_ids.append(result.run_id)
    else:
        months = months_reported()[-1:]
        run_ids += [r.run_id for _, r in run_months(monthly, instance, months,
                                                     [dg.AssetKey("monthly_reports")])]
    wall = time.perf_counter() - started
    steps: dict[str, float] = {}
    run_seconds = 0.0
    for run_id in run_ids:
        stats = instance.get_run_stats(run_id)
        run_seconds += (stats.end_time or 0) - (stats.start_time or 0)
        for step in instance.get_run_step_stats(run_id):
            if step.start_time and step.end_time:
                steps[step.step_key] = steps.get(step.step_key, 0.0) + step.end_time - step.start_time
    published = {}
    if mode == "publish":
        # What publishing spent on HTML and on printing PDFs (Chromium's own CPU is not ours).
        event = instance.get_latest_materialization_event(dg.AssetKey("monthly_reports"))
        metadata = event.asset_materialization.metadata if event else {}
        published = {key: metadata[key].value for key in ("seconds", "pdf_seconds", "client_pdfs")
                      if key in metadata}
    workers: list[float] = []
    children = 0.0
    if mode != "publish":
        # The GX workers' CPU counts (Chromium's for PDFs, in the publish phase, does not).
        from data_checks.gx_processes import stop_gx_pool

        workers = _worker_peaks_mb()
        stop_gx_pool()
        child_usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        children = child_usage.ru_utime + child_usage.ru_stime
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({
        "published": published,
        "mode": mode, "months": len(months), "wall": wall, "run_seconds": run_seconds,
        # From process start: start-up (until the Definitions are loaded) plus the run's wall.
        "startup": startup,
        "wall_from_start": None if startup is None else startup + wall,
        "startup_cpu": startup_usage.ru_utime + startup_usage.ru_stime,
        "steps": steps,
        "assets": sorted(k.to_python_identifier() for k in defs.resolve_asset_graph().get_all_asset_keys()),
        # CPU seconds of this process (all DuckDB threads): less sensitive to a busy machine
        "cpu": usage.ru_utime + usage.ru_stime + children,
        "peak_rss_mb": _peak_rss_mb(usage),
        "worker_peak_rss_mb": workers,
    }))


# --- parent ---------------------------------------------------------------------------------------
def _phase(mode: str, env: dict[str, str], month: str | None = None) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "scripts.bench_pipeline", "--child", mode,
         *(["--month", month] if month else [])],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"{mode} phase failed (exit {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _stages(phase: dict) -> dict[str, float]:
    out: dict[str, float] = {}
    assets = set(phase["assets"])
    for key, seconds in phase["steps"].items():
        stage = stage_of(key, assets)
        out[stage] = out.get(stage, 0.0) + seconds
    out["dagster"] = max(0.0, phase["wall"] - sum(phase["steps"].values()))
    return out


def _uptime() -> str:
    """Machine load when a phase starts (the figures are only comparable on a quiet machine)."""
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def bench_size(size: int, work: Path, months: int, keep: bool, unique_texts: bool,
               do_publish: bool = True) -> dict:
    """Generate one size, run the three phases, return the figures."""
    clients = CLIENTS.get(size, max(5, size // 2000))
    folder = work / f"msp-{size}"
    shutil.rmtree(folder, ignore_errors=True)
    generated = folder / "generated"
    started = time.perf_counter()
    # months+1 months: the first `months` hold ~size tickets, the last is the incremental month
    counts = generate(generated, tickets=round(size * (months + 1) / months), clients=clients,
                      unique_texts=unique_texts,
                      months=months + 1)
    gen_seconds = time.perf_counter() - started
    landing, held = folder / "landing", folder / "next_month"
    shutil.copytree(generated, landing)
    last = month_starts("2026-10", months + 1)[-1].isoformat()[:7]
    for path in list(landing.rglob(f"*_{last}*")):
        target = held / path.relative_to(landing)
        target.parent.mkdir(parents=True, exist_ok=True)
        path.rename(target)
    shutil.rmtree(generated)
    home = folder / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "pipelines" / "dagster.yaml", home / "dagster.yaml")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "MSP_LANDING": str(landing),
        "MSP_WAREHOUSE": str(folder / "warehouse.duckdb"),
        "MSP_PUBLISHED": str(folder / "published"),
        "MSP_AS_OF": "2026-11-20T00:00:00+00:00",
        "MSP_PARTITIONS_START": "2025-01-01",
    }
    load_before = _uptime()
    full = _phase("full", env)
    marts_rows = _count(folder / "warehouse.duckdb")
    publish = _phase("publish", env) if do_publish else None
    reports = len(list((folder / "published").glob("*/client-*.html")))
    shutil.copytree(held, landing, dirs_exist_ok=True)
    incremental = _phase("incremental", env, f"{last}-01")
    result = {
        "unique_texts": unique_texts, "distinct_texts": _distinct_texts(folder / "warehouse.duckdb"),
        "size": size, "clients": clients, "months": months, "generated": counts,
        "generate_seconds": gen_seconds, "full": full, "full_stages": _stages(full),
        "publish": publish, "client_reports": reports, "incremental": incremental,
        "incremental_stages": _stages(incremental), "marts": marts_rows,
        "warehouse_mb": (folder / "warehouse.duckdb").stat().st_size / 2**20,
        "load_before": load_before, "load_after": _uptime(),
    }
    if not keep:
        shutil.rmtree(folder, ignore_errors=True)
    return result


def _distinct_texts(warehouse: Path) -> list[int]:
    """[distinct subject + description texts, tickets]: the classifiers match each text once."""
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        return list(con.execute(
            "SELECT count(DISTINCT (coalesce(subject, ''), coalesce(description, ''))), count(*)"
            " FROM staging.tickets").fetchone())


def _count(warehouse: Path) -> dict[str, int]:
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("raw.tickets", "raw.ticket_events", "marts.ticket_facts",
                          "marts.client_month")}


def report(results: list[dict]) -> str:
    """Markdown tables: stages x sizes, growth, incremental and publishing."""
    order = [s for s, _ in STAGES if s != "publishing"] + ["checks", "dagster"]

    def row(label: str, cell: Callable[[dict], str]) -> str:
        """A table row: the label, then one cell per size."""
        return f"| {label} | " + " | ".join(cell(r) for r in results) + " |"

    lines = [row("stage (wall s, all months)", lambda r: f"{r['size']:,} tickets"),
             "|" + " --- |" * (len(results) + 1)]
    lines += [row(stage, lambda r, stage=stage: f"{r['full_stages'].get(stage, 0):.1f}") for stage in order]
    lines += [
        row("**landing to checked marts (wall)**", lambda r: f"**{r['full']['wall']:.1f}**"),
        row("CPU seconds (user + sys)", lambda r: f"{r['full']['cpu']:.1f}"),
        row("from process start: wall s / of which start-up (wall / CPU s)",
            lambda r: _from_start(r["full"])),
        row("peak RSS (MB): run process + each GX worker", lambda r: f"{r['full']['peak_rss_mb']:.0f}"
            + "".join(f" + {w:.0f}" for w in r['full'].get('worker_peak_rss_mb', []))),
    ]
    if all(r.get("publish") for r in results):
        lines += [
            row("publishing latest month (s)", lambda r: f"{r['publish']['wall']:.1f}"),
            row("publishing CPU seconds", lambda r: f"{r['publish']['cpu']:.1f}"),
            row("client reports / wall s per report / CPU s per report",
                lambda r: f"{r['client_reports']} / {r['publish']['wall'] / max(1, r['client_reports']):.2f}"
                          f" / {r['publish']['cpu'] / max(1, r['client_reports']):.2f}"),
            row("of which HTML, s per client report / PDFs, s per PDF", _html_pdf),
            row("publishing peak RSS (MB)", lambda r: f"{r['publish']['peak_rss_mb']:.0f}"),
        ]
    lines += [
        row("incremental month: wall s / share of full", lambda r: _incremental(r, "wall")),
        row("incremental month: CPU s / share of full", lambda r: _incremental(r, "cpu")),
        row("incremental month from process start: wall s / share of full / of which"
            " start-up (wall / CPU s)", lambda r: _from_start(r["incremental"], r["full"])),
        row("incremental month: peak RSS (MB)", lambda r: f"{r['incremental']['peak_rss_mb']:.0f}"),
        row("load average at start / end",
            lambda r: f"{_load_1min(r['load_before'])} / {_load_1min(r['load_after'])}"),
        row("tickets (staged facts) / events",
            lambda r: f"{r['marts']['marts.ticket_facts']:,} / {r['marts']['raw.ticket_events']:,}"),
        row("distinct ticket texts (share of tickets)",
            lambda r: f"{r['distinct_texts'][0]:,} ({r['distinct_texts'][0] / r['distinct_texts'][1]:.0%})"
            if r.get("distinct_texts") else "n/a"),
        row("warehouse (MB)", lambda r: f"{r['warehouse_mb']:.0f}"),
    ]
    if len(results) > 1:
        lines += ["", "Growth (time ratio / ticket ratio between consecutive sizes):"]
        for a, b in zip(results, results[1:], strict=False):
            lines.append(f"- {a['size']:,} -> {b['size']:,}: x{b['full']['wall'] / a['full']['wall']:.1f}"
                         f" wall, x{b['full']['cpu'] / a['full']['cpu']:.1f} CPU"
                         f" for x{b['size'] / a['size']:.0f} tickets")
    biggest = results[-1]["full_stages"]
    top = max((s for s in biggest if s != "dagster"), key=biggest.get)
    lines.append(f"\nDominant stage at {results[-1]['size']:,} tickets: {top}"
                 f" ({biggest[top] / results[-1]['full']['wall']:.0%} of the run).")
    steps = results[-1]["full"]["steps"]
    lines.append("Slowest steps: " + ", ".join(
        f"{k} {v:.1f} s" for k, v in sorted(steps.items(), key=lambda kv: -kv[1])[:6]))
    return "\n".join(lines)


def _incremental(r: dict, key: str) -> str:
    """The incremental month's seconds (`key`: wall or cpu) and their share of the full run's."""
    return f"{r['incremental'][key]:.1f} / {r['incremental'][key] / r['full'][key]:.0%}"


def _load_1min(uptime: str) -> str:
    """The 1-minute load average of an `uptime` line."""
    return uptime.rsplit(':', 1)[-1].split(',')[0].strip()


def _from_start(phase: dict, full: dict | None = None) -> str:
    """A phase's wall seconds from process start, its share of the full run's (when `full` is
    given) and its start-up; "n/a" for figures written before they were measured."""
    if phase.get("wall_from_start") is None:
        return "n/a"
    share = ""
    if full is not None and full.get("wall_from_start"):
        share = f" / {phase['wall_from_start'] / full['wall_from_start']:.0%}"
    return (f"{phase['wall_from_start']:.1f}{share} / {phase['startup']:.1f}"
            f" / {phase['startup_cpu']:.1f}")


def _html_pdf(r: dict) -> str:
    """Seconds per client report for the HTML (everything but PDFs), and per printed PDF."""
    p = r["publish"].get("published") or {}
    if "seconds" not in p:
        return "n/a"
    html = (p["seconds"] - p.get("pdf_seconds", 0)) / max(1, r["client_reports"])
    pdf = p.get("pdf_seconds", 0) / max(1, p.get("client_pdfs") or 0) if p.get("client_pdfs") else 0
    return f"{html:.3f} / {pdf:.2f}" if pdf else f"{html:.3f} / no PDFs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10k,100k,1M", help="comma-separated ticket counts")
    parser.add_argument("--months", type=int, default=12, help="months in the full run")
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temp folder")
    parser.add_argument("--keep", action="store_true", help="keep the generated warehouses")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--unique-texts", action="store_true",
                        help="give every ticket its own text (the classifiers' worst case)")
    parser.add_argument("--no-publish", action="store_true",
                        help="skip the publishing phase (full and incremental runs only)")
    parser.add_argument("--report", type=Path, default=None,
                        help="only print the tables of a --json file written earlier")
    parser.add_argument("--child", choices=["full", "publish", "incremental"], help=argparse.SUPPRESS)
    parser.add_argument("--month", help=argparse.SUPPRESS)  # the incremental child's month
    args = parser.parse_args()
    if args.child:
        if args.child == "incremental" and not args.month:
            parser.error("--child incremental needs --month YYYY-MM-01 (the delivered month)")
        child(args.child, args.month)
        return
    if args.report:
        results = json.loads(args.report.read_text())
        for r in results:
            r["full_stages"], r["incremental_stages"] = _stages(r["full"]), _stages(r["incremental"])
        print(report(results))
        return
    work = args.workdir or Path(tempfile.mkdtemp(prefix="msp-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    results = []
    for text in args.sizes.split(","):
        size = parse_size(text)
        print(f"== {size:,} tickets ({_uptime()})", flush=True)
        result = bench_size(size, work, args.months, args.keep, args.unique_texts,
                            not args.no_publish)
        results.append(result)
        published = (f"{result['publish']['wall']:.1f} s for {result['client_reports']} reports"
                     if result["publish"] else "skipped")
        print(f"   full {result['full']['wall']:.1f} s, peak {result['full']['peak_rss_mb']:.0f} MB;"
              f" publish {published};"
              f" incremental {result['incremental']['wall']:.1f} s", flush=True)
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))
    print()
    print(report(results))


if __name__ == "__main__":
    main()
