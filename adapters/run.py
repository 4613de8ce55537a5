"""Convert a real export into canonical landing files: `python -m adapters.run servicenow`.

The pipeline then runs unchanged on the landing folder (`python -m pipelines.run --source NAME`
does both and publishes).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from adapters.adapt import AdapterResult, adapt
from adapters.mapping import MappingError, load_mapping
from adapters.sources import SOURCES
from policy.paths import PROJECT_ROOT


def run_adapter(
    name: str, source: Path | None = None, landing: Path | None = None,
    mapping: Path | None = None, fmt: str = "parquet",
) -> AdapterResult:
    """Adapt one export; `name` is a built-in source, or any name with an explicit mapping."""
    builtin = SOURCES.get(name)
    if builtin is None and (mapping is None or source is None):
        raise MappingError(f"unknown source {name!r}: built-in sources are {', '.join(SOURCES)};"
                           " for another export give --mapping and --source")
    mapping_path = mapping or builtin.mapping_path
    export = source or builtin.default_export()
    if not export.exists():
        raise FileNotFoundError(f"export not found: {export} (set MSP_DATASETS or pass --source)")
    landing = landing or PROJECT_ROOT / "data" / name / "landing"
    return adapt(load_mapping(mapping_path), export, landing, mapping_path, fmt)


def source_environment(name: str, root: Path | None = None) -> dict[str, str]:
    """Default MSP_* paths for a source's own warehouse, landing and published folders."""
    root = root or PROJECT_ROOT / "data" / name
    return {
        "MSP_WAREHOUSE": str(root / "warehouse.duckdb"),
        "MSP_LANDING": str(root / "landing"),
        "MSP_PUBLISHED": str(root / "published"),
    }


def _use_own_folders(name: str) -> Path:
    """Point this process's MSP_* paths at data/<name>/ (emptied first) unless already set."""
    own = source_environment(name)
    for key, value in own.items():
        if key not in os.environ:
            os.environ[key] = value
            # Only the source's own folders are emptied: a re-adapted export replaces its files.
            path = Path(value)
            if path.is_dir():
                shutil.rmtree(path)
            for stale in (path, path.with_name(path.name + ".wal")):
                if stale.is_file():
                    stale.unlink()
    return Path(os.environ["MSP_LANDING"])


def _use_export_span(result: AdapterResult) -> None:
    # The monthly partitions start at the export's first month; the SLA clock is read at its
    # last instant, so an old ticket without an answer is judged as of the export, not today.
    os.environ.setdefault("MSP_PARTITIONS_START", result.partitions_start)
    os.environ.setdefault("MSP_AS_OF", result.as_of)


def prepare_source(name: str) -> AdapterResult:
    """Adapt a source into its landing folder and point this process's MSP_* settings at it.

    Paths already set in the environment win and are never emptied; otherwise the source gets its
    own folder under data/<name>/, rebuilt from scratch each time. The monthly partitions must
    start at the export's first month and the SLA clock is read at the export's last instant.
    """
    result = run_adapter(name, landing=_use_own_folders(name))
    _use_export_span(result)
    return result


def prepare_mapping(mapping_path: Path, exports: Path) -> AdapterResult:
    """As prepare_source, for any mapping file and its exports (a folder, or the tickets file):
    the folders are data/<mapping name>/."""
    mapping = load_mapping(mapping_path)
    if not exports.exists():
        raise FileNotFoundError(f"exports not found: {exports}")
    # A mapping being written fails often: adapt once into a scratch folder first, so a mistake
    # leaves the last good run's folders (and reports) in place. Own exports are small; the
    # second pass costs seconds.
    with tempfile.TemporaryDirectory(prefix=f"{mapping.name}-check-") as scratch:
        adapt(mapping, exports, Path(scratch) / "landing", mapping_path)
    landing = _use_own_folders(mapping.name)
    result = adapt(mapping, exports, landing, mapping_path)
    _use_export_span(result)
    return result


def summary(result: AdapterResult) -> str:
    """A few lines for the terminal."""
    export = Path(result.inputs.get("tickets", result.source)).name
    lines = [
        f"{export}: {result.source_rows:,} rows -> {result.tickets:,} tickets,"
        f" {result.events:,} events, {result.clients:,} clients in {result.seconds:.1f} s",
        f"  export spans from {result.partitions_start[:7]} to {result.as_of[:16]}"
        f" (MSP_PARTITIONS_START={result.partitions_start} MSP_AS_OF={result.as_of})",
    ]
    for key, values in result.unmapped_values.items():
        shown = ", ".join(f"{v!r} x{n}" for v, n in values.items())
        lines.append(f"  {key}: values not in the value map, kept as delivered: {shown}")
    if result.rows_without_ticket_id:
        lines.append(f"  {result.rows_without_ticket_id} rows without a ticket id")
    if result.time_entries:
        lines.append(f"  {result.time_entries:,} time entries")
    if len(result.inputs) > 1:
        lines.append("  read: " + ", ".join(f"{role} {Path(path).name}"
                                            for role, path in result.inputs.items()))
    lines += [f"  note: {note}" for note in result.notes]
    if missing := missing_event_dates(result):
        lines.append(f"  warning: {missing}")
    return "\n".join(lines)


def missing_event_dates(result: AdapterResult) -> str | None:
    """What an export without (agent) event dates cannot give, or None when it has them."""
    cannot = ("so the response-time SLA cannot be computed: every ticket shows 'No agent action"
              " yet' and counts as pending or breached at MSP_AS_OF. Map the export's"
              " first-response or status-change date columns under `events` (docs/adapters.md)")
    if result.events == 0:
        return ("the export has no event dates (no reply, status-change or resolution time),"
                f" so no ticket_events file was written; {cannot}")
    if not any(kind.endswith("/agent") for kind in result.events_by_type):
        return f"the export has no agent event dates (no reply or status change by an agent), {cannot}"
    return None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", help=f"built-in source ({', '.join(SOURCES)}) or a name for --mapping")
    parser.add_argument("--source", type=Path,
                        help="the export file, or the folder of a mapping's exports"
                             " (default: the built-in one)")
    parser.add_argument("--mapping", type=Path, help="a mapping YAML (default: the built-in one)")
    parser.add_argument("--landing", type=Path, help="landing folder (default data/<name>/landing)")
    parser.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    args = parser.parse_args(argv)
    try:
        result = run_adapter(args.name, args.source, args.landing, args.mapping, args.format)
    except (MappingError, FileNotFoundError) as exc:
        sys.exit(str(exc))
    print(summary(result))
    for entity, path in result.files.items():
        print(f"  {entity}: {path}")


if __name__ == "__main__":
    main()
