"""`openses debug ADDRESS`: why mail to (or from) an address does not arrive.

Suppression status, the identity state of the address (or its domain) and of `--sender`, DNS of
the recipient domain (MX) and of the sender domain (SPF, DMARC), and the address's recent events
with the remote servers' replies (from openses's database, see events_local).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import typer

from openses.cli.ops import dns_state, events_local, identities
from openses.cli.ops.client import Connection, open_profile
from openses.cli.ops.errors import ApiError, Unsupported
from openses.cli.ops.options import ACCOUNT, CONFIG, JSON, guarded
from openses.cli.ops.verdicts import FAIL, INFO, OK, UNKNOWN, WARN, Finding, show
from openses.cli.output import emit_json, table


def suppression_finding(conn: Connection, address: str) -> Finding:
    item = f"suppression {address}"
    try:
        found = conn.call("sesv2", "GetSuppressedDestination", EmailAddress=address)["SuppressedDestination"]
    except Unsupported as e:
        return Finding(item, UNKNOWN, str(e))
    except ApiError as e:
        if e.code == "NotFoundException":
            return Finding(item, OK, "not on the account's suppression list")
        return Finding(item, UNKNOWN, str(e))
    return Finding(item, FAIL, f"suppressed ({found.get('Reason')}) since {found.get('LastUpdateTime')}",
                   f"openses remove-suppression {conn.profile.name} {address} once the cause is fixed")


def identity_findings(conn: Connection, address: str) -> list[Finding]:
    """The address and its domain as identities: verified, pending, or not identities at all."""
    domain = address.rpartition("@")[2]
    names = [address, domain] if "@" in address else [address]
    status = identities.verification(conn, names)
    out = []
    for name in names:
        state = status.get(name, {}).get("VerificationStatus")
        if state is None:
            out.append(Finding(f"identity {name}", INFO, "not an identity of this account"))
        else:
            out.append(Finding(f"identity {name}", OK if state == "Success" else WARN, state,
                               "" if state == "Success" else "finish verification (see `openses verify-identity`)"))
    return out


def dns_findings(conn: Connection, address: str, sender: str | None) -> list[Finding]:
    resolver = dns_state.resolver_for(conn.profile.dns_nameservers)
    checks = [dns_state.mx(resolver, address.rpartition("@")[2])]
    if sender:
        domain = sender.rpartition("@")[2]
        checks += [dns_state.spf(resolver, domain), dns_state.dmarc(resolver, domain)]
    return dns_state.run(checks)


def _events_view(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [dict(e, time=dt.datetime.fromtimestamp(e["time"], dt.timezone.utc).isoformat(timespec="seconds"))
            for e in events]


def debug(account: str = ACCOUNT, address: str = typer.Argument(..., help="The problematic address."),
          sender: str = typer.Option(None, "--sender", help="The From address used: its identity and DNS too."),
          days: float = typer.Option(14, "--days", help="How far back to look for events."),
          config: Path | None = CONFIG, as_json: bool = JSON) -> None:
    """Diagnose delivery to an address: suppression, identities, DNS, recent events and remote replies."""
    with guarded():
        conn = open_profile(account, config)
        found = [suppression_finding(conn, address)] + identity_findings(conn, address)
        if sender:
            found += identity_findings(conn, sender)
        found += dns_findings(conn, address, sender)
        events, why = events_local.recent(conn, address, days)
    events = _events_view(events)
    if as_json:
        emit_json({"address": address, "findings": [f.as_json() for f in found], "events": events,
                   "events_unavailable": why})
        return
    show(f"debug {address}: {conn.profile.name}", found, as_json=False)
    if why:
        typer.echo(f"recent events: not available: {why}")
    else:
        table(f"recent events of {address} ({len(events)})", ["time", "event", "message id", "remote reply / reason"],
              [(e["time"], e["type"], e["message_id"], e["detail"]) for e in events])


COMMANDS = {"debug": debug}
