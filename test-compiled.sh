#!/usr/bin/env bash
# The compiled build (setup.py: the API's request path compiled with mypyc) under the tests that
# run through it: every unit test, and the end-to-end sending tests over real sockets. The build
# goes into .venv-compiled, made again whenever a source file is newer than it. With arguments,
# they are pytest's instead of the default selection.
set -euo pipefail
cd "$(dirname "$0")"
stamp=.venv-compiled/.installed
if [ ! -f "$stamp" ] || [ -n "$(find pyproject.toml setup.py tools src -newer "$stamp" -name '*.py' -o -newer "$stamp" -name '*.toml' | head -1)" ]; then
  rm -rf .venv-compiled
  python3 -m venv .venv-compiled
  .venv-compiled/bin/pip install --quiet --upgrade pip
  OPENSES_COMPILE=1 .venv-compiled/bin/pip install --quiet '.[test]'
  touch "$stamp"
fi
# The tests import the installed (compiled) package: src/ is not on the path of this interpreter.
.venv-compiled/bin/python -c 'import openses.core.mime as m, sys; sys.exit(0 if m.__file__.endswith(".so") else "openses.core.mime is not compiled: " + m.__file__)'
export PATH="$PWD/.venv-compiled/bin:$PATH"
if [ $# -eq 0 ]; then
  set -- tests/unit tests/e2e/test_send_api.py tests/e2e/test_send_rules.py tests/e2e/test_processes.py \
    tests/e2e/test_templates_sending.py tests/e2e/test_sending_authorization.py tests/e2e/test_smtp_submission.py \
    tests/e2e/test_suppression.py tests/e2e/test_dev_mode_and_durability.py
fi
exec .venv-compiled/bin/python -m pytest -q -n 3 -p no:benchmark "$@"
