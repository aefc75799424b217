"""`openses audit`: the whole SES configuration, one verdict and one fix per item.

Items: the account (sandbox, sending, enforcement, account-level suppression), quota and rates,
every identity (verification, DKIM, MAIL FROM) with its domain's DNS (SPF, DMARC, DKIM records),
the identities the profile says should exist, configuration sets and their event destinations.
A look-up the endpoint cannot answer is an `unknown` verdict, never a crash. Exit 2 when a
`fail` verdict was found.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from openses.cli.ops import dns_state, identities, monitor
from openses.cli.ops import quota as quota_cmd
from openses.cli.ops import stats as stats_cmd
from openses.cli.ops.client import Connection, open_profile
from openses.cli.ops.options import ACCOUNT_OPTIONAL, CONFIG, EXIT_ALERT, JSON, guarded
from openses.cli.ops.verdicts import FAIL, OK, UNKNOWN, WARN, Finding, probe, show


def account_findings(account: dict[str, Any] | None, why: str | None) -> list[Finding]:
    if account is None:
        return [Finding("account", UNKNOWN, why or "")]
    out = [monitor.judge_account(account, None)]
    if account.get("ProductionAccessEnabled"):
        out.append(Finding("sandbox", OK, "production access granted"))
    else:
        out.append(Finding("sandbox", WARN, "in the sandbox: mail only to verified addresses, low quota",
                           "request production access (sesv2 PutAccountDetails / the console)"))
    reasons = account.get("SuppressionAttributes", {}).get("SuppressedReasons", [])
    if set(reasons) >= {"BOUNCE", "COMPLAINT"}:
        out.append(Finding("account suppression", OK, "bounces and complaints are suppressed"))
    else:
        out.append(Finding("account suppression", WARN, f"suppressed reasons: {', '.join(reasons) or 'none'}",
                           "sesv2 PutAccountSuppressionAttributes SuppressedReasons=BOUNCE,COMPLAINT"))
    return out


def sending_findings(conn: Connection) -> list[Finding]:
    sums = stats_cmd.totals(stats_cmd.read_points(conn))
    limits = monitor.Thresholds()
    return [monitor.judge_quota(quota_cmd.read_quota(conn), limits.quota),
            monitor.judge_rate("bounce rate", sums.bounce_rate, limits.bounce, sums.delivery_attempts),
            monitor.judge_rate("complaint rate", sums.complaint_rate, limits.complaint, sums.delivery_attempts)]


def verification_finding(identity: str, status: str, account: str) -> Finding:
    item = f"identity {identity}"
    if status == "Success":
        return Finding(item, OK, "verified")
    verb = "verify-domain" if "@" not in identity else "verify-email"
    fix = f"openses {verb} {account} {identity} and publish/confirm"
    return Finding(item, WARN if status == "Pending" else FAIL, status, fix)


def dkim_finding(domain: str, attrs: dict[str, Any], account: str) -> Finding:
    item = f"DKIM signing {domain}"
    if not attrs.get("DkimEnabled"):
        return Finding(item, FAIL, "DKIM is off", f"openses enable-dkim {account} {domain}")
    status = attrs.get("DkimVerificationStatus", "NotStarted")
    if status != "Success":
        return Finding(item, WARN, f"DKIM status {status}", "publish the DKIM records (see `openses dkim`)")
    return Finding(item, OK, "enabled and verified")


def mail_from_finding(domain: str, attrs: dict[str, Any] | None, why: str | None) -> Finding:
    item = f"MAIL FROM {domain}"
    if attrs is None:
        return Finding(item, UNKNOWN, why or "")
    if not attrs.get("MailFromDomain"):
        return Finding(item, WARN, "default MAIL FROM (amazonses.com): SPF does not align for DMARC",
                       f"set a custom MAIL FROM, e.g. mail.{domain} (SetIdentityMailFromDomain)")
    status = attrs.get("MailFromDomainStatus", "Pending")
    verdict = OK if status == "Success" else WARN
    return Finding(item, verdict, f"{attrs['MailFromDomain']}: {status}",
                   "" if verdict == OK else f"publish MX and SPF records for {attrs['MailFromDomain']}")


def _mail_from(conn: Connection, domains: list[str]) -> tuple[dict[str, Any] | None, str | None]:
    if not domains:
        return {}, None
    return probe(lambda: conn.call("ses", "GetIdentityMailFromDomainAttributes", Identities=domains)
                 .get("MailFromDomainAttributes", {}))


def identity_findings(conn: Connection) -> list[Finding]:
    names = identities.list_identities(conn)
    status = identities.verification(conn, names) if names else {}
    domains = [n for n in names if "@" not in n]
    dkim = identities.dkim_attributes(conn, domains) if domains else {}
    mail_from, why = _mail_from(conn, domains)
    account = conn.profile.name
    out = [verification_finding(n, status.get(n, {}).get("VerificationStatus", "NotStarted"), account)
           for n in names]
    for d in domains:
        out.append(dkim_finding(d, dkim.get(d, {}), account))
        out.append(mail_from_finding(d, None if mail_from is None else mail_from.get(d, {}), why))
    out += dns_findings(conn, domains, dkim)
    return out + expected_findings(conn, set(names), status)


def dns_findings(conn: Connection, domains: list[str], dkim: dict[str, dict[str, Any]]) -> list[Finding]:
    resolver = dns_state.resolver_for(conn.profile.dns_nameservers)
    checks = []
    for d in domains:
        checks += [dns_state.spf(resolver, d), dns_state.dmarc(resolver, d)]
        checks += [dns_state.dkim_token(resolver, d, t, conn.profile.dkim_zone)
                   for t in dkim.get(d, {}).get("DkimTokens", [])]
    return dns_state.run(checks)


def expected_findings(conn: Connection, present: set[str], status: dict[str, dict[str, Any]]) -> list[Finding]:
    """The profile's verified_domains / verified_emails (the SES helper's config) must exist."""
    out = []
    for name in (*conn.profile.verified_domains, *conn.profile.verified_emails):
        if name not in present:
            verb = "verify-domain" if "@" not in name else "verify-email"
            out.append(Finding(f"expected identity {name}", FAIL, "listed in the profile but not an identity",
                               f"openses {verb} {conn.profile.name} {name}"))
    return out


def configuration_set_findings(conn: Connection) -> list[Finding]:
    sets, why = probe(lambda: conn.collect("ses", "ListConfigurationSets", "ConfigurationSets"))
    if sets is None:
        return [Finding("configuration sets", UNKNOWN, why or "")]
    if not sets:
        return [Finding("configuration sets", WARN, "none: no events are published anywhere",
                        "create one with an event destination (SNS, Firehose, CloudWatch, webhook)")]
    return [_event_destinations(conn, s["Name"]) for s in sets]


def _event_destinations(conn: Connection, name: str) -> Finding:
    item = f"configuration set {name}"
    found, why = probe(lambda: conn.call("ses", "DescribeConfigurationSet", ConfigurationSetName=name,
                                         ConfigurationSetAttributeNames=["eventDestinations"]))
    if found is None:
        return Finding(item, UNKNOWN, why or "")
    destinations = [d for d in found.get("EventDestinations", []) if d.get("Enabled")]
    if not destinations:
        return Finding(item, WARN, "no enabled event destination", "add one for bounces and complaints")
    kinds = sorted({t for d in destinations for t in d.get("MatchingEventTypes", [])})
    return Finding(item, OK, f"{len(destinations)} destination(s): {', '.join(kinds)}")


def findings(conn: Connection) -> list[Finding]:
    account, why = probe(lambda: conn.call("sesv2", "GetAccount"))
    return (account_findings(account, why) + sending_findings(conn) + identity_findings(conn)
            + configuration_set_findings(conn))


def audit(account: str | None = ACCOUNT_OPTIONAL, config: Path | None = CONFIG, as_json: bool = JSON) -> None:
    """Audit the whole configuration: a verdict per item and a fix for each problem; exit 2 on a failure."""
    with guarded():
        conn = open_profile(account, config)
        found = findings(conn)
    problems = any(f.verdict == FAIL for f in found)
    show(f"SES audit: {conn.profile.name} ({conn.profile.target})", found, as_json=as_json,
         extra={"profile": conn.profile.name, "target": conn.profile.target})
    if problems:
        raise typer.Exit(EXIT_ALERT)


COMMANDS = {"audit": audit}
