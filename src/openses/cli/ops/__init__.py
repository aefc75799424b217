"""`openses quota`, `openses stats`, … : the operator's SES commands, spoken through boto3.

This package owns the commands of the day-to-day SES helper (profiles, quotas, statistics,
monitoring, identities, DKIM, suppression, test and bulk sending, debugging and audit). They
speak only the SES API (v1 and v2) through boto3, so the same command works against an openses
server (a profile with `endpoint_url`) and against Amazon SES (no endpoint). `client.py` is the
only module creating boto3 clients and the one place botocore's exceptions become one line.
"""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add every command of this package as a top-level command of `app`."""
    from openses.cli.ops import (audit, debug, identities, monitor, profiles, quota, reputation, send, stats,
                                 suppression)

    for module in (profiles, quota, stats, monitor, identities, reputation, suppression, send, debug, audit):
        for name, fn in module.COMMANDS.items():
            app.command(name)(fn)
