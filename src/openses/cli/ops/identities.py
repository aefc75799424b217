"""Identities: list, verify (with the DNS records to publish), verification status, DKIM."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from openses.cli.ops.client import Connection, open_profile
from openses.cli.ops.errors import Unsupported
from openses.cli.ops.options import ACCOUNT, ACCOUNT_OPTIONAL, CONFIG, JSON, guarded
from openses.cli.output import console, emit_json, fields, table

BATCH = 100  # GetIdentity*Attributes take at most 100 identities per call


def verification(conn: Connection, identities: list[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(identities), BATCH):
        out.update(conn.call("ses", "GetIdentityVerificationAttributes",
                             Identities=identities[i:i + BATCH]).get("VerificationAttributes", {}))
    return out


def dkim_attributes(conn: Connection, identities: list[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(identities), BATCH):
        out.update(conn.call("ses", "GetIdentityDkimAttributes",
                             Identities=identities[i:i + BATCH]).get("DkimAttributes", {}))
    return out


def list_identities(conn: Connection, kind: str | None = None) -> list[str]:
    params = {"IdentityType": kind} if kind else {}
    return conn.collect("ses", "ListIdentities", "Identities", **params)


def dns_records(domain: str, token: str | None, dkim_tokens: list[str], dkim_zone: str) -> list[dict[str, str]]:
    """SES's records for a domain: the verification TXT and one DKIM CNAME per token."""
    out = []
    if token:
        out.append({"Name": f"_amazonses.{domain}", "Type": "TXT", "Value": token, "Purpose": "verification"})
    out += [{"Name": f"{t}._domainkey.{domain}", "Type": "CNAME", "Value": f"{t}.{dkim_zone}", "Purpose": "dkim"}
            for t in dkim_tokens]
    return out


def _print_records(records: list[dict[str, str]], domain: str) -> None:
    console.print(f"Publish these records in the DNS of [bold]{domain}[/]:", highlight=False)
    for r in records:
        value = f'"{r["Value"]}"' if r["Type"] == "TXT" else r["Value"] + "."
        console.print(f"  {r['Name']}. 3600 IN {r['Type']} {value}", highlight=False, soft_wrap=True)
    console.print("Also advised: an SPF record (TXT v=spf1 …) and a DMARC record (TXT at "
                  f"_dmarc.{domain}, v=DMARC1; p=none …). `openses audit` checks them.", highlight=False)


def _listing(account: str | None, config: Path | None, as_json: bool, kind: str, title: str) -> None:
    with guarded():
        conn = open_profile(account, config)
        names = list_identities(conn, kind)
        status = verification(conn, names) if names else {}
    rows = [{"Identity": n, "VerificationStatus": status.get(n, {}).get("VerificationStatus", "NotStarted")}
            for n in names]
    if as_json:
        emit_json(rows)
        return
    table(f"{title}: {conn.profile.name}", ["identity", "status"],
          [(r["Identity"], r["VerificationStatus"]) for r in rows])


def verified_emails(account: str | None = ACCOUNT_OPTIONAL, config: Path | None = CONFIG,
                    as_json: bool = JSON) -> None:
    """List email address identities with their verification status."""
    _listing(account, config, as_json, "EmailAddress", "email identities")


def verified_domains(account: str | None = ACCOUNT_OPTIONAL, config: Path | None = CONFIG,
                     as_json: bool = JSON) -> None:
    """List domain identities with their verification status."""
    _listing(account, config, as_json, "Domain", "domain identities")


def verify_email(account: str = ACCOUNT, address: str = typer.Argument(..., help="The address to verify."),
                 config: Path | None = CONFIG, as_json: bool = JSON) -> None:
    """Start verifying an email address (SES mails it a confirmation link)."""
    with guarded():
        conn = open_profile(account, config)
        conn.call("ses", "VerifyEmailIdentity", EmailAddress=address)
    if as_json:
        emit_json({"Identity": address, "VerificationStatus": "Pending"})
    else:
        console.print(f"verification mail sent to {address}: follow its link, then run "
                      f"`openses verify-identity {account} {address}`", highlight=False)


def _dkim_tokens(conn: Connection, domain: str) -> list[str]:
    try:
        return list(conn.call("ses", "VerifyDomainDkim", Domain=domain).get("DkimTokens", []))
    except Unsupported:
        return []


def verify_domain(account: str = ACCOUNT, domain: str = typer.Argument(..., help="The domain to verify."),
                  config: Path | None = CONFIG, as_json: bool = JSON) -> None:
    """Start verifying a domain and print the DNS records (verification TXT, DKIM CNAMEs) to publish."""
    with guarded():
        conn = open_profile(account, config)
        token = conn.call("ses", "VerifyDomainIdentity", Domain=domain).get("VerificationToken")
        records = dns_records(domain, token, _dkim_tokens(conn, domain), conn.profile.dkim_zone)
    if as_json:
        emit_json({"Domain": domain, "VerificationToken": token, "Records": records})
    else:
        _print_records(records, domain)


def verify_identity(account: str = ACCOUNT, identity: str = typer.Argument(..., help="Address or domain."),
                    config: Path | None = CONFIG, as_json: bool = JSON) -> None:
    """Show the verification status of one identity."""
    with guarded():
        conn = open_profile(account, config)
        attrs = verification(conn, [identity]).get(identity)
    data = {"Identity": identity, "VerificationStatus": (attrs or {}).get("VerificationStatus", "NotStarted")}
    if attrs and attrs.get("VerificationToken"):
        data["VerificationToken"] = attrs["VerificationToken"]
    if as_json:
        emit_json(data)
    else:
        fields(f"identity: {identity}", data)


def _dkim_view(identity: str, attrs: dict[str, Any]) -> dict[str, Any]:
    return {"Identity": identity, "DkimEnabled": attrs.get("DkimEnabled", False),
            "DkimVerificationStatus": attrs.get("DkimVerificationStatus", "NotStarted"),
            "DkimTokens": list(attrs.get("DkimTokens", []))}


def dkim(account: str = ACCOUNT, identity: str = typer.Argument(..., help="Address or domain."),
         config: Path | None = CONFIG, as_json: bool = JSON) -> None:
    """Show the DKIM attributes of an identity (enabled, status, tokens)."""
    with guarded():
        conn = open_profile(account, config)
        data = _dkim_view(identity, dkim_attributes(conn, [identity]).get(identity, {}))
    if as_json:
        emit_json(data)
    else:
        fields(f"DKIM: {identity}", dict(data, DkimTokens=", ".join(data["DkimTokens"]) or "-"))


def enable_dkim(account: str = ACCOUNT, domain: str = typer.Argument(..., help="The domain identity."),
                config: Path | None = CONFIG, as_json: bool = JSON) -> None:
    """Turn DKIM signing on for an identity, creating Easy DKIM tokens first when it has none."""
    with guarded():
        conn = open_profile(account, config)
        attrs = dkim_attributes(conn, [domain]).get(domain, {})
        tokens = list(attrs.get("DkimTokens", [])) or ([] if "@" in domain else _dkim_tokens(conn, domain))
        conn.call("ses", "SetIdentityDkimEnabled", Identity=domain, DkimEnabled=True)
        data = _dkim_view(domain, dkim_attributes(conn, [domain]).get(domain, {}))
    records = dns_records(domain, None, tokens, conn.profile.dkim_zone) if "@" not in domain else []
    if as_json:
        emit_json(dict(data, Records=records))
        return
    console.print(f"DKIM signing enabled for {domain} (status {data['DkimVerificationStatus']})", highlight=False)
    if records:
        _print_records(records, domain)


COMMANDS = {"verified-emails": verified_emails, "verified-domains": verified_domains,
            "verify-email": verify_email, "verify-domain": verify_domain, "verify-identity": verify_identity,
            "dkim": dkim, "enable-dkim": enable_dkim}
