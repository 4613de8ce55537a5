"""Set-up on a fresh machine: `make demo` and `make test` install Chromium with apt where they can
(scripts/ensure-chromium.sh) and say exactly what to run where they cannot; CI is `make test`.

The script runs for real with a PATH of stand-ins (apt-get, sudo, id, chromium) that record what
they were asked to do, so the real Chromium of this machine stays hidden and nothing is installed.
"""

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from policy.paths import PROJECT_ROOT
from reports import pdf

SCRIPT = PROJECT_ROOT / "scripts" / "ensure-chromium.sh"
BASH = shutil.which("bash") or "/bin/bash"
PACKAGES = "--no-install-recommends chromium fonts-liberation fonts-dejavu-core"


def _tool(bin_dir: Path, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text(f"#!{BASH}\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def _fake_chromium(bin_dir: Path, name: str = "chromium") -> None:
    _tool(bin_dir, name, 'echo "Chromium 142.0.0 built on Debian"')


@pytest.fixture
def machine(tmp_path):
    """A PATH of stand-ins; `calls` lists what apt-get and sudo were asked to do."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls"
    log.touch()
    target = bin_dir / "chromium"
    chromium = (f'printf "#!{BASH}\\necho Chromium 142.0.0 built on Debian\\n" > "{target}";'
                f' {shutil.which("chmod")} +x "{target}"')
    tools = {
        "id": 'echo "$FAKE_UID"',
        # apt-get records its arguments and the frontend it was given; "install" puts a chromium.
        "apt-get": f'echo "apt-get $* [frontend=$DEBIAN_FRONTEND]" >> "{log}"\n'
                   f'if [ "$1" = install ]; then {chromium}; fi',
        "apt-cache": 'exit "${FAKE_NO_DEBIAN_CHROMIUM:-0}"',
        # sudo -n true answers whether a password would be asked; otherwise it runs the command.
        "sudo": f'[ "$FAKE_SUDO" = ok ] || exit 1\n[ "$1" = -n ] && shift\n[ "$1" = true ] && exit 0\n'
                f'echo "sudo $*" >> "{log}"\n'
                'while [[ "$1" == *=* ]]; do export "$1"; shift; done\n"$@"',
    }

    class Machine:
        def __init__(self) -> None:
            self.bin = bin_dir

        def add(self, *names: str) -> None:
            for name in names:
                _tool(bin_dir, name, tools[name])

        def run(self, uid: int = 1000, sudo: bool = False, **env: str) -> subprocess.CompletedProcess:
            return subprocess.run(
                [BASH, str(SCRIPT)], capture_output=True, text=True, timeout=30,
                env={"PATH": str(bin_dir), "FAKE_UID": str(uid), "FAKE_SUDO": "ok" if sudo else "no",
                     **env},
            )

        @property
        def calls(self) -> list[str]:
            return log.read_text().splitlines()

    m = Machine()
    m.add("id")
    return m


def test_with_chromium_on_path_nothing_is_installed(machine):
    machine.add("apt-get", "apt-cache", "sudo")
    _fake_chromium(machine.bin)
    done = machine.run(uid=0)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "chromium: Chromium 142.0.0 built on Debian"
    assert machine.calls == []


def test_as_root_chromium_and_fonts_are_installed_with_apt(machine):
    machine.add("apt-get", "apt-cache")
    done = machine.run(uid=0)
    assert done.returncode == 0, done.stderr
    assert machine.calls == [
        "apt-get update -qq [frontend=noninteractive]",
        f"apt-get install -y -qq {PACKAGES} [frontend=noninteractive]",
    ]
    assert done.stdout.splitlines()[-1] == "chromium: Chromium 142.0.0 built on Debian"


def test_without_root_apt_runs_through_sudo_when_it_asks_no_password(machine):
    machine.add("apt-get", "apt-cache", "sudo")
    done = machine.run(uid=1000, sudo=True)
    assert done.returncode == 0, done.stderr
    assert machine.calls == [
        "sudo DEBIAN_FRONTEND=noninteractive apt-get update -qq",
        "apt-get update -qq [frontend=noninteractive]",
        f"sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq {PACKAGES}",
        f"apt-get install -y -qq {PACKAGES} [frontend=noninteractive]",
    ]
    assert "Chromium 142.0.0" in done.stdout


@pytest.mark.parametrize("with_sudo", [False, True], ids=["no-sudo", "sudo-asks-password"])
def test_without_root_or_sudo_it_says_what_to_run_and_does_not_fail(machine, with_sudo):
    machine.add("apt-get", "apt-cache")
    if with_sudo:
        machine.add("sudo")
    done = machine.run(uid=1000, sudo=False)
    assert done.returncode == 0, done.stderr
    assert machine.calls == []
    assert "run 'sudo make chromium'" in done.stdout and "'make run' for the PDFs" in done.stdout


def test_without_apt_it_names_the_other_ways_and_does_not_fail(machine):
    done = machine.run(uid=0)
    assert done.returncode == 0, done.stderr
    assert "no apt-get" in done.stdout and "MSP_CHROMIUM=/path/to/chromium" in done.stdout


def test_ubuntu_without_a_chromium_package_gets_chromium_browser(machine):
    machine.add("apt-get", "apt-cache")
    machine.run(uid=0, FAKE_NO_DEBIAN_CHROMIUM="1")
    assert machine.calls[-1].startswith(
        "apt-get install -y -qq --no-install-recommends chromium-browser fonts-liberation")


def test_an_explicit_msp_chromium_is_used_and_never_replaced(machine, tmp_path):
    machine.add("apt-get", "apt-cache")
    _fake_chromium(tmp_path, "my-chrome")
    assert "Chromium 142" in machine.run(uid=0, MSP_CHROMIUM=str(tmp_path / "my-chrome")).stdout
    done = machine.run(uid=0, MSP_CHROMIUM=str(tmp_path / "missing"))
    assert done.returncode == 0 and machine.calls == []
    assert "is not an executable file" in done.stdout


def test_make_demo_and_make_test_run_the_chromium_step_first():
    for target, command in (("demo", "-m pipelines.run"), ("test", "-m pytest")):
        done = subprocess.run(["make", "-n", "-C", str(PROJECT_ROOT), target],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        step = lines.index("bash scripts/ensure-chromium.sh")
        assert step < next(i for i, line in enumerate(lines) if command in line), target


def test_ci_is_make_test_with_its_output_and_exit_code(tmp_path):
    _tool(tmp_path, "make", 'echo "make $*: 3 failed, 240 passed"; exit 1')
    done = subprocess.run(
        [BASH, str(PROJECT_ROOT / ".ci" / "run")], capture_output=True, text=True, timeout=30,
        env={**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"},
    )
    assert done.returncode == 1
    assert done.stdout == "make test: 3 failed, 240 passed\n"


def test_the_pdf_skip_message_is_the_command_for_this_machine(tmp_path, monkeypatch):
    monkeypatch.delenv("MSP_CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    reason = pdf.unavailable_reason()
    assert reason.startswith("no Chromium binary (chromium on PATH)")
    assert "system's package manager" in reason and "'make run'" in reason
    _tool(tmp_path, "apt-get", "exit 0")
    wanted = "'make chromium'" if os.geteuid() == 0 else "'sudo make chromium'"
    assert f"for PDFs: run {wanted}" in pdf.unavailable_reason()
    _fake_chromium(tmp_path)
    assert pdf.unavailable_reason() is None


def test_the_docs_sql_command_reads_an_export_and_a_warehouse_read_only(tmp_path):
    import duckdb

    export = tmp_path / "export.csv"
    export.write_text("Ticket,Client\nT1,Acme\nT2,Birch\n")
    warehouse = tmp_path / "w.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE SCHEMA marts; CREATE TABLE marts.client_month AS SELECT 'Acme' AS client_id")

    def sql(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "scripts.sql", *args], cwd=PROJECT_ROOT,
                              capture_output=True, text=True, timeout=60)

    shown = sql(f"FROM '{export}' LIMIT 5")
    assert shown.returncode == 0 and "Birch" in shown.stdout, shown.stderr
    assert "Acme" in sql(str(warehouse), "FROM marts.client_month LIMIT 5").stdout
    refused = sql(str(warehouse), "DELETE FROM marts.client_month")
    assert refused.returncode == 1 and "read-only" in refused.stderr


def test_a_run_without_pdfs_ends_with_what_to_run(tmp_path, monkeypatch):
    from pipelines.run import missing_pdfs_note

    month = tmp_path / "2026-03"
    month.mkdir()
    (month / "client-ACME.html").write_text("<html></html>")
    monkeypatch.delenv("MSP_CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no chromium, no apt-get
    note = missing_pdfs_note(month)
    assert note.startswith("PDFs:      none printed; no Chromium binary (chromium on PATH);")
    assert note.endswith("then run 'make run'")
    # A mapping's run publishes into its own data folder: the hint repeats that run.
    rerun = "python -m pipelines.run --mapping my.yaml --input exports/"
    assert missing_pdfs_note(month, rerun).endswith(f"then run '{rerun}'")
    (month / "client-ACME.pdf").write_bytes(b"%PDF-")
    assert missing_pdfs_note(month) is None
