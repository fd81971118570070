#!/usr/bin/env bash
# Install the test tools and run every check: lint, types, unit, AppTest, Docker config and real-browser tests.
# Needs no standard input; installs Debian's chromium, docker-compose and tesseract (rus, eng) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
# A real PostgreSQL server for the history's storage tests (they start their own, on a free loopback port).
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
# Tesseract with its Russian and English models: the one OCR engine whose output the tests can check.
for pack in rus eng; do
    tesseract --list-langs 2>/dev/null | grep -qx "$pack" || missing+=(tesseract-ocr "tesseract-ocr-$pack")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing system packages: ${missing[*]}"
    as_root=()
    [ "$(id -u)" -eq 0 ] || as_root=(sudo)
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
    "${PYTHON:-python3}" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy core/"
.venv/bin/mypy
echo "== pytest"
# TEST_WORKERS=2 runs two pytest-xdist workers (the browser tests stay together on one, tests/conftest.py):
# about 19 instead of 26–29 minutes on two cores (measured the same hour), but a browser test then shares the CPU with the other
# worker and a few of them still lose races under that load, so one worker is the default.
workers=()
if [ "${TEST_WORKERS:-1}" -gt 1 ]; then
    workers=(-n "$TEST_WORKERS" --dist loadgroup)
fi
.venv/bin/python -m pytest "${workers[@]}" "$@"
