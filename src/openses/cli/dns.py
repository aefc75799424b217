"""`openses dns …`: the DNS records a domain identity needs, and an audit of what DNS holds.

In cname mode the DKIM records are CNAMEs into the DKIM zone; the audit follows each to its
target and checks the key served there (`dkim_zone_server`, else through the delegation)."""

from __future__ import annotations

import asyncio

import typer

from openses.cli.context import opened, require_account
from openses.cli.output import emit_json, fail, table
from openses.core import dns_check
from openses.core.dkim_zone import resolver_from
from openses.core.dns_verifier import domain_records, publishing_from
from openses.core.identities import DOMAIN, IdentityService

dns = typer.Typer(help="DNS records of domain identities: what to publish, what DNS holds.", no_args_is_help=True)


def _records(account: str, domain: str):  # type: ignore[no-untyped-def]
    with opened() as (settings, store, accounts):
        a = require_account(accounts, account)
        service = IdentityService(store)
        identity = asyncio.run(service.get(a.id, domain))
        if identity is None or identity.kind != DOMAIN:
            fail(f"account {a.name} has no domain identity {domain!r}")
        records = asyncio.run(domain_records(service, identity, publishing_from(settings)))
        return settings, records


@dns.command("records")
def dns_records(account: str, domain: str, as_json: bool = typer.Option(False, "--json")) -> None:
    """Print the records to publish for a domain identity, in zone-file form."""
    _, records = _records(account, domain)
    if as_json:
        emit_json([{"purpose": r.purpose, "name": r.name, "type": r.type, "value": r.value,
                    "required": r.required, "zone": r.zone_line()} for r in records.all()])
        return
    for r in records.all():
        typer.echo(("" if r.required else "; recommended: ") + r.zone_line())


@dns.command("audit")
def dns_audit(account: str, domain: str, as_json: bool = typer.Option(False, "--json")) -> None:
    """Look every expected record up and give a verdict per record."""
    settings, records = _records(account, domain)
    checks = asyncio.run(dns_check.check_all(resolver_from(settings), records.all()))
    if as_json:
        emit_json([{"purpose": c.expected.purpose, "name": c.expected.name, "type": c.expected.type,
                    "expected": c.expected.value, "required": c.expected.required, "verdict": c.verdict,
                    "found": list(c.found), "note": c.note} for c in checks])
        return
    table(f"DNS audit of {domain}", ["record", "type", "required", "verdict", "note"],
          [(c.expected.name, c.expected.type, "yes" if c.expected.required else "advised", c.verdict, c.note)
           for c in checks])
