#!/usr/bin/env bash
# Set up whatworks on a fresh Debian/Ubuntu machine: Debian packages, a virtualenv, the package.
#   scripts/setup.sh          what a review needs (Python, Tesseract for scanned PDFs)
#   scripts/setup.sh --test   plus what the test suite needs (Chromium, PostgreSQL)
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

debs=(python3 python3-venv python3-pip tesseract-ocr tesseract-ocr-fra tesseract-ocr-spa tesseract-ocr-por)
if [ $want_test = 1 ]; then
  debs+=(chromium chromium-driver postgresql fonts-dejavu-core)
fi

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for p in "${debs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  elif command -v sudo >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian packages (sudo): ${missing[*]}"
    sudo apt-get update -qq >/dev/null
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "note: could not install ${missing[*]} (not root, no apt-get); whatworks runs without them," \
         "but scanned PDFs need Tesseract and some tests will be skipped" >&2
  fi
fi

# A Python 3.11+ for the virtualenv: python3 if it is recent enough, else a newer one on PATH.
PY=""
for c in python3 python3.13 python3.12 python3.11; do
  if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    PY=$c; break
  fi
done
[ -n "$PY" ] || { echo "error: whatworks needs Python 3.11 or newer" >&2; exit 1; }

stamp=.venv/.installed
if [ ! -x .venv/bin/python ]; then
  echo "creating .venv with $PY"
  "$PY" -m venv .venv
fi
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "installing whatworks and its dependencies into .venv"
  # pip's and setuptools' build chatter goes to a log, shown only if the install fails
  if ! { .venv/bin/python -m pip install -q --upgrade pip && .venv/bin/python -m pip install -q -e ".[dev]"; } \
      > .venv/install.log 2>&1; then
    cat .venv/install.log >&2
    echo "error: installing whatworks into .venv failed (log: .venv/install.log)" >&2
    exit 1
  fi
  touch "$stamp"
fi
# Byte-compile the package once: with PYTHONDONTWRITEBYTECODE set, every worker process would
# otherwise compile it again at import (seconds per process).
.venv/bin/python -m compileall -q whatworks >/dev/null || true
