"""Options every operator command shares, and the guard turning errors into one line."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import typer
from rich.markup import escape

from openses.cli.ops.errors import OpsError
from openses.cli.output import err_console

CONFIG: Path | None = typer.Option(None, "--config", envvar="OPENSES_SES_CONFIG",
                                   help="The profile file (the SES helper's ses-config.json layout).")
JSON: bool = typer.Option(False, "--json", help="Print JSON for scripts.")
ACCOUNT_OPTIONAL: str | None = typer.Argument(None, help="Profile name (default: $OPENSES_PROFILE, "
                                              "`default`, or the only profile).")
ACCOUNT: str = typer.Argument(..., help="Profile name in the config file.")

# Exit statuses: 1 an error (the line on stderr says which); 2 a threshold crossed or a problem
# found (monitor, audit), so cron can tell "could not look" from "looked and found trouble".
EXIT_ERROR = 1
EXIT_ALERT = 2


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    """One red line on stderr, never wrapped (scripts grep it), and the exit status."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise SystemExit(code)


@contextmanager
def guarded() -> Iterator[None]:
    try:
        yield
    except OpsError as e:
        fail(str(e), EXIT_ERROR)
    except KeyboardInterrupt:
        fail("interrupted", 130)
    except Exception as e:  # a bug of ours: still one line, the traceback on request
        if os.environ.get("OPENSES_CLI_TRACEBACK"):
            raise
        fail(f"unexpected {type(e).__name__}: {e} (OPENSES_CLI_TRACEBACK=1 shows where)")
