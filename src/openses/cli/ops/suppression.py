"""The account's suppression list (SES v2): list, one address's details, removal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from openses.cli.ops.client import open_profile
from openses.cli.ops.errors import ApiError
from openses.cli.ops.options import ACCOUNT, ACCOUNT_OPTIONAL, CONFIG, JSON, fail, guarded
from openses.cli.output import emit_json, fields, table


def _iso(item: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in item.items()}


def suppressed(account: str | None = ACCOUNT_OPTIONAL, config: Path | None = CONFIG, as_json: bool = JSON,
               reason: str = typer.Option(None, "--reason", help="Only BOUNCE or COMPLAINT.")) -> None:
    """List the addresses on the account's suppression list."""
    params = {"Reasons": [reason.upper()]} if reason else {}
    with guarded():
        conn = open_profile(account, config)
        items = [_iso(i) for i in conn.collect("sesv2", "ListSuppressedDestinations",
                                               "SuppressedDestinationSummaries", **params)]
    if as_json:
        emit_json(items)
        return
    table(f"suppressed destinations: {conn.profile.name} ({len(items)})", ["address", "reason", "since"],
          [(i.get("EmailAddress"), i.get("Reason"), i.get("LastUpdateTime")) for i in items])


def suppression_details(account: str = ACCOUNT, address: str = typer.Argument(..., help="The address."),
                        config: Path | None = CONFIG, as_json: bool = JSON) -> None:
    """Show why and since when an address is suppressed."""
    with guarded():
        conn = open_profile(account, config)
        try:
            item = conn.call("sesv2", "GetSuppressedDestination", EmailAddress=address)["SuppressedDestination"]
        except ApiError as e:
            if e.code != "NotFoundException":
                raise
            fail(f"{address} is not on the suppression list of {conn.profile.name}")
    data = _iso(item)
    if as_json:
        emit_json(data)
    else:
        fields(f"suppressed: {address}", data)


def remove_suppression(account: str = ACCOUNT, address: str = typer.Argument(..., help="The address."),
                       config: Path | None = CONFIG, as_json: bool = JSON) -> None:
    """Remove an address from the suppression list."""
    with guarded():
        conn = open_profile(account, config)
        conn.call("sesv2", "DeleteSuppressedDestination", EmailAddress=address)
    if as_json:
        emit_json({"EmailAddress": address, "Removed": True})
    else:
        typer.echo(f"{address} removed from the suppression list of {conn.profile.name}")


COMMANDS = {"suppressed": suppressed, "suppression-details": suppression_details,
            "remove-suppression": remove_suppression}
