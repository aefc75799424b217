#!/usr/bin/env bash
# Quickstart: set up openses in .venv (first run only) and start a local server:
# SQLite in ./openses-data, capture mode, a development account printed with its credentials.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv/bin/openses ]; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --upgrade pip
  .venv/bin/pip install --quiet -e .
fi
exec .venv/bin/openses quickstart "$@"
