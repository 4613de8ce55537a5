"""Where the test suite's time goes: each test's worker, xdist group, phases and CPU, per process.

Opt-in, for measuring the suite (docs/benchmark.md's test-suite passes), not for the tests:

    pytest -p tests.timings --timings /tmp/t -n 2 --dist loadgroup   # writes /tmp/t.gw0, /tmp/t.gw1
    python -m tests.timings /tmp/t                                     # per worker, group, module

A test's CPU is its process's user + system seconds over the test (setup to teardown) plus those
of the child processes it waited for (a subprocess run, Chromium closed by its fixture); children
another process reaps (the runs a Dagster daemon launches) are not counted.
"""

import json
import os
import resource
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("timings").addoption(
        "--timings", metavar="PATH", default=None,
        help="write each test's worker, group, phases and CPU to PATH.<worker> (JSON lines)")


def _cpu() -> float:
    """User + system seconds of this process and the children it has waited for."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


_PHASES: dict[str, dict[str, float]] = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    path = item.config.getoption("timings")
    if not path:
        yield
        return
    cpu, start = _cpu(), time.time()
    yield
    marker = item.get_closest_marker("xdist_group")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    record = {"test": item.nodeid.split("@")[0], "worker": worker, "start": start, "end": time.time(),
              "cpu": _cpu() - cpu, "group": marker.args[0] if marker and marker.args else None,
              "slow": item.get_closest_marker("slow") is not None,
              "phases": _PHASES.pop(item.nodeid, {})}
    with open(f"{path}.{worker}", "a") as out:
        out.write(json.dumps(record) + "\n")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _PHASES.setdefault(report.nodeid, {})[report.when] = report.duration


def summary(path: str, top: int = 25) -> str:
    """Per worker (tests, CPU, summed wall, last end), the longest groups and the costliest modules."""
    folder, name = Path(path).parent, Path(path).name
    files = sorted([*folder.glob(name + ".gw*"), *folder.glob(name + ".main")])  # not PATH.out etc.
    records = [json.loads(line) for file in files for line in file.open()]
    if not records:
        return f"no records at {path}.*"
    first = min(r["start"] for r in records)
    lines = ["worker  tests   CPU s  wall s  last end s"]
    for worker in sorted({r["worker"] for r in records}):
        mine = [r for r in records if r["worker"] == worker]
        lines.append(f"{worker:6} {len(mine):6} {sum(r['cpu'] for r in mine):7.1f}"
                     f" {sum(r['end'] - r['start'] for r in mine):7.1f}"
                     f" {max(r['end'] for r in mine) - first:10.1f}")
    for title, key in (("unit (xdist group, or the test)", lambda r: r["group"] or r["test"]),
                       ("module", lambda r: r["test"].split("::")[0])):
        units: dict[str, list] = defaultdict(lambda: [0, 0.0, 0.0, set()])
        for r in records:
            unit = units[key(r)]
            unit[0] += 1
            unit[1] += r["cpu"]
            unit[2] += r["end"] - r["start"]
            unit[3].add(r["worker"])
        lines += ["", f"{title}: tests, CPU s, wall s, workers (by wall, top {top})"]
        for name, (n, cpu, wall, workers) in sorted(units.items(), key=lambda kv: -kv[1][2])[:top]:
            lines.append(f"{n:4} {cpu:7.1f} {wall:7.1f}  {','.join(sorted(workers)):8} {name[:90]}")
    slow = [r for r in records if r["slow"]]
    lines += ["", f"all: {len(records)} tests, {sum(r['cpu'] for r in records):.1f} s CPU;"
              f" slow: {len(slow)} tests, {sum(r['cpu'] for r in slow):.1f} s CPU"]
    return "\n".join(lines)


if __name__ == "__main__":
    print(summary(sys.argv[1], *(int(a) for a in sys.argv[2:3])))
