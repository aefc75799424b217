#!/usr/bin/env bash
# The whole test suite: unit, in-process and end-to-end (real servers, on SQLite and PostgreSQL).
# Needs Debian's postgresql, postfix and swaks for the end-to-end parts (.ci/run installs them).
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv/bin/pytest ] || [ pyproject.toml -nt .venv/.installed ]; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --upgrade pip
  .venv/bin/pip install --quiet -e '.[test]'
  touch .venv/.installed
fi
export PATH="$PWD/.venv/bin:$PATH"
# Three workers: most end-to-end time is spent waiting on real servers, not on this machine's two cores.
exec .venv/bin/python -m pytest -q -n 3 -p no:benchmark "$@"
