#!/usr/bin/env bash
# Chromium and its fonts for the PDF reports and the browser tests (`make demo`, `make test`).
#
# When no Chromium is found (the one reports/pdf.py would use: MSP_CHROMIUM, else `chromium` or
# `chromium-browser` on PATH), Debian's package is installed with apt: as root directly, otherwise
# through sudo when it works without a password prompt. Where neither is possible the script says
# exactly what to run and exits 0: the reports are then published as HTML only and the browser
# tests are skipped with the same instruction, so a fresh machine without root still gets a demo.
set -uo pipefail

FONTS=(fonts-liberation fonts-dejavu-core)

say() { echo "chromium: $*"; }

have_chromium() {
    if [ -n "${MSP_CHROMIUM:-}" ]; then
        [ -f "$MSP_CHROMIUM" ] && [ -x "$MSP_CHROMIUM" ]
        return
    fi
    command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1
}

show_version() {
    local binary="${MSP_CHROMIUM:-}"
    [ -n "$binary" ] || binary="$(command -v chromium || command -v chromium-browser)"
    say "$("$binary" --version 2>/dev/null || echo "$binary")"
}

if have_chromium; then
    show_version
    exit 0
fi
if [ -n "${MSP_CHROMIUM:-}" ]; then
    # An explicit binary wins over an installed package (reports/pdf.py never looks further).
    say "MSP_CHROMIUM=$MSP_CHROMIUM is not an executable file: point it at a Chromium binary" \
        "or unset it; reports are published as HTML only until then"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    say "not found, and this machine has no apt-get: install Chromium with the system's package" \
        "manager (set MSP_CHROMIUM=/path/to/chromium if it is not called chromium), then run" \
        "'make run' for the PDFs; reports are published as HTML only until then"
    exit 0
fi

if [ "$(id -u)" = "0" ]; then
    as_root() { DEBIAN_FRONTEND=noninteractive "$@"; }
elif command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
    as_root() { sudo -n DEBIAN_FRONTEND=noninteractive "$@"; }
else
    say "not found, and installing it needs root: run 'sudo make chromium' (or 'make chromium'" \
        "as root), then 'make run' for the PDFs; reports are published as HTML only until then"
    exit 0
fi

say "not found: installing Debian's chromium and fonts with apt-get (about a minute)"
if ! as_root apt-get update -qq; then
    say "apt-get update failed: run 'sudo make chromium' once the package lists can be read"
    exit 0
fi
# Debian calls the package chromium; Ubuntu only has chromium-browser.
package=chromium
if ! apt-cache show chromium >/dev/null 2>&1; then
    package=chromium-browser
fi
if ! as_root apt-get install -y -qq --no-install-recommends "$package" "${FONTS[@]}" >/dev/null; then
    say "apt-get install $package ${FONTS[*]} failed (see above): reports are published as HTML" \
        "only until 'sudo make chromium' succeeds"
    exit 0
fi
hash -r
if have_chromium; then
    show_version
else
    say "installed $package, but no chromium or chromium-browser is on PATH: set" \
        "MSP_CHROMIUM=/path/to/chromium"
fi
