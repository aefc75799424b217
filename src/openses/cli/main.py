"""The `openses` command line."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import typer

from openses.cli.admin import admin
from openses.cli.dns import dns
from openses.cli.messages import messages
from openses.cli.ops import register as register_ops
from openses.cli.quickstart import quickstart_banner, quickstart_account
from openses.cli.topics import feedback, topics
from openses.config import settings_reference

app = typer.Typer(help="openses: a self-hosted email platform that speaks Amazon SES.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
app.add_typer(admin, name="admin")
app.add_typer(messages, name="messages")
app.add_typer(dns, name="dns")
app.add_typer(topics, name="topics")
app.add_typer(feedback, name="feedback")
register_ops(app)  # quota, stats, monitor, … : the SES helper's commands (openses.cli.ops)


def _run(coro: Any) -> Any:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency (not on every platform)
        return asyncio.run(coro)
    return uvloop.run(coro)


def _logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)


@app.command()
def serve(roles: str = typer.Option("api,smtp,worker,scheduler,dns,inbound",
                                       help="Comma-separated roles to run (dns: the DKIM zone, cname mode only)."),
          dev: bool = typer.Option(False, "--dev", help="Development mode (same as OPENSES_DEV_MODE=1)."),
          processes: int | None = typer.Option(None, "--processes", min=1, max=64,
                                               help="Processes for the api, smtp and worker roles "
                                               "(same as OPENSES_PROCESSES).")) -> None:
    """Run the server (creates or migrates the database first)."""
    from openses.config import load_settings
    from openses.runtime import ROLES, processes_problem, serve_forever, serve_processes

    overrides: dict[str, object] = {"dev_mode": True} if dev else {}
    if processes is not None:
        overrides["processes"] = processes
    settings = load_settings(**overrides)
    chosen = tuple(r.strip() for r in roles.split(",") if r.strip())
    unknown = [r for r in chosen if r not in ROLES]
    if unknown:
        raise typer.BadParameter(f"unknown role(s) {', '.join(unknown)}; roles are {', '.join(ROLES)}")
    _logging(settings.log_level)
    if settings.processes > 1:
        problem = processes_problem(settings)
        if problem:
            raise typer.BadParameter(problem)
        status = serve_processes(settings, chosen, _run)
        if status:
            raise typer.Exit(status)
        return
    _run(serve_forever(settings, chosen))


@app.command()
def quickstart() -> None:
    """Set up a local server (SQLite, capture mode), print credentials, and run it."""
    from openses.config import load_settings
    from openses.runtime import serve_forever

    settings = load_settings()
    creds = quickstart_account(settings)
    typer.echo(quickstart_banner(settings, creds))
    _logging(settings.log_level)
    _run(serve_forever(settings))


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema."""
    from openses.cli.context import opened

    with opened() as (settings, _, _):
        typer.echo(f"database is up to date: {settings.effective_database_url}")


@app.command("config-doc")
def config_doc(output: Path = typer.Option(None, "--output", help="Write to this file.")) -> None:
    """Print (or write) the configuration reference generated from the settings schema."""
    text = settings_reference()
    if output:
        output.write_text(text)
    else:
        typer.echo(text, nl=False)
