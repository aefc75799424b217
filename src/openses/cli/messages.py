"""`openses messages …`: the mail openses accepted (captured mail, in capture mode)."""

from __future__ import annotations

import sys

import typer

from openses.cli.context import opened, require_account
from openses.cli.output import emit_json, fail, fields, table
from openses.core.events import iso
from openses.store import repositories as repo

messages = typer.Typer(help="Accepted and captured mail.", no_args_is_help=True)


@messages.command("list")
def messages_list(account: str = typer.Option(None, "--account", help="Only this account."),
                  limit: int = typer.Option(50, "--limit", help="How many, newest first."),
                  as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts.")) -> None:
    """List the newest messages."""
    with opened() as (_, store, accounts):
        account_id = require_account(accounts, account).id if account else None
        rows = store.read_sync(lambda c: repo.list_messages(c, account_id, limit))
        if as_json:
            emit_json([{"MessageId": r["id"], "AccountId": r["account_id"], "Source": r["source"],
                        "From": r["from_header"], "Recipients": r["recipients"], "Subject": r["subject"],
                        "Status": r["status"], "Size": r["size"], "Channel": r["channel"],
                        "Timestamp": iso(r["created_at"])} for r in rows])
            return
        table("messages", ["time", "message id", "from", "to", "subject", "status"],
              [(iso(r["created_at"]), r["id"], r["from_header"], ", ".join(r["recipients"]), r["subject"],
                r["status"]) for r in rows])


@messages.command("show")
def messages_show(message_id: str, as_json: bool = typer.Option(False, "--json")) -> None:
    """Show a message's envelope and its events."""
    with opened() as (_, store, _accounts):
        row = store.read_sync(lambda c: repo.get_message(c, message_id))
        if row is None:
            fail(f"no message {message_id!r}")
        events = store.read_sync(lambda c: repo.message_events(c, message_id))
        data = {"MessageId": row["id"], "AccountId": row["account_id"], "Source": row["source"],
                "From": row["from_header"], "Recipients": row["recipients"], "Subject": row["subject"],
                "Status": row["status"], "Size": row["size"], "Channel": row["channel"],
                "Timestamp": iso(row["created_at"]), "Events": [e["payload"] for e in events]}
        if as_json:
            emit_json(data)
            return
        fields(f"message {message_id}", {k: v for k, v in data.items() if k != "Events"})
        table("events", ["time", "type"], [(iso(e["created_at"]), e["event_type"]) for e in events])


@messages.command("raw")
def messages_raw(message_id: str) -> None:
    """Print the raw MIME exactly as recipients get it."""
    with opened() as (_, store, _accounts):
        row = store.read_sync(lambda c: repo.get_message(c, message_id))
        if row is None:
            fail(f"no message {message_id!r}")
        sys.stdout.buffer.write(row["raw"])
        sys.stdout.buffer.flush()
