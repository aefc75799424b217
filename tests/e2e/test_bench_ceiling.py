"""bench/ceiling.py serves signed SendEmail requests and commits them, in each commit mode."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.ports import free_port

CEILING = Path(__file__).resolve().parents[2] / "bench" / "ceiling.py"


@pytest.mark.parametrize("commit", ["thread", "loop"])
def test_ceiling_answers_every_request_with_a_200(commit: str) -> None:
    done = subprocess.run(
        [sys.executable, str(CEILING), "--processes", "2", "--commit", commit, "--port", str(free_port()),
         "--concurrency", "4", "--duration", "1", "--engine", "python"],
        capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    requests = int(re.search(r"^requests\s+(\d+)", done.stdout, re.M).group(1))  # type: ignore[union-attr]
    ok = int(re.search(r"^2xx\s+(\d+)", done.stdout, re.M).group(1))  # type: ignore[union-attr]
    assert requests > 0 and ok == requests, done.stdout  # a bad signature or a failed commit is a non-2xx
    assert "µs a request" in done.stdout
