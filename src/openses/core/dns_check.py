"""What a domain's DNS should hold for openses, what it does hold, and a verdict per record.

One module answers for the verifier (is the domain, its DKIM, its MAIL FROM verified?), the API
(the records to publish), the CLI's `dns` command and the console. Records:
- `_amazonses.<domain>` TXT: the verification token (SES v1 VerifyDomainIdentity);
- DKIM: `<selector>._domainkey.<domain>` TXT `v=DKIM1; k=rsa; p=…` (dkim_mode txt, and always for
  BYODKIM) or CNAME `<token>.<dkim_zone>` (dkim_mode cname, like SES's dkim.amazonses.com), whose
  target must then hold the key (served by core/dkim_zone.py): both links of the chain are checked;
- custom MAIL FROM: MX naming this server's mail host, and SPF (RFC 7208) allowing it;
- advisory: the domain's own SPF, DMARC (RFC 7489 §6.1 `_dmarc`) and MX for receiving.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from openses.core.dkim_keys import PublicKey
from openses.protocol.dns import Answer, Resolver

OK, MISSING, WRONG, ERROR = "ok", "missing", "wrong", "error"


@dataclass(frozen=True)
class Expected:
    purpose: str  # verification | dkim | mail_from_mx | mail_from_spf | spf | dmarc | mx
    name: str
    type: str
    value: str  # the record data to publish (TXT without quotes)
    required: bool = True
    target_value: str = ""  # a CNAME into the DKIM zone: the TXT its target must hold

    def zone_line(self) -> str:
        """The record in zone-file form (RFC 1035 §5.1); long TXT split in 255-octet strings."""
        data = self.value
        if self.type == "TXT":
            chunks = [data[i:i + 255] for i in range(0, len(data), 255)] or [""]
            data = " ".join('"' + c.replace("\\", "\\\\").replace('"', '\\"') + '"' for c in chunks)
        elif self.type in ("CNAME", "MX") and not data.endswith("."):
            data += "."
        return f"{self.name}. 3600 IN {self.type} {data}"


@dataclass(frozen=True)
class Check:
    expected: Expected
    verdict: str  # ok | missing | wrong | error
    found: tuple[str, ...] = ()
    note: str = ""

    @property
    def error_type(self) -> str | None:
        """SES's VerificationInfo.ErrorType for a failed check."""
        return {MISSING: "HOST_NOT_FOUND", WRONG: "INVALID_VALUE", ERROR: "DNS_SERVER_ERROR"}.get(self.verdict)


@dataclass(frozen=True)
class Publishing:
    """How this server asks domains to publish: from the settings."""

    dkim_mode: str  # txt | cname
    dkim_zone: str
    mail_host: str


def dkim_records(domain: str, keys: list[PublicKey], origin: str, publishing: Publishing) -> list[Expected]:
    out = []
    for key in keys:
        name = f"{key.selector}._domainkey.{domain}"
        if publishing.dkim_mode == "cname" and origin != "EXTERNAL":
            out.append(Expected("dkim", name, "CNAME", f"{key.selector}.{publishing.dkim_zone}",
                                target_value=key.record()))
        else:
            out.append(Expected("dkim", name, "TXT", key.record()))
    return out


def mail_from_records(mail_from: str, publishing: Publishing) -> list[Expected]:
    return [Expected("mail_from_mx", mail_from, "MX", f"10 {publishing.mail_host}"),
            Expected("mail_from_spf", mail_from, "TXT", f"v=spf1 a:{publishing.mail_host} ~all")]


def advisory_records(domain: str, publishing: Publishing, *, has_mail_from: bool) -> list[Expected]:
    out = [Expected("dmarc", f"_dmarc.{domain}", "TXT", f"v=DMARC1; p=none; rua=mailto:dmarc@{domain}", False),
           Expected("mx", domain, "MX", f"10 {publishing.mail_host}", False)]
    if not has_mail_from:  # without a custom MAIL FROM the envelope sender is in the domain itself
        out.insert(0, Expected("spf", domain, "TXT", f"v=spf1 a:{publishing.mail_host} ~all", False))
    return out


def _tags(record: str) -> dict[str, str]:
    """DKIM tag=value list (RFC 6376 §3.2), whitespace removed from values."""
    out = {}
    for part in record.split(";"):
        name, eq, value = part.partition("=")
        if eq:
            out[name.strip()] = "".join(value.split())
    return out


def _matches(expected: Expected, value: str) -> bool:
    purpose = expected.purpose
    if purpose == "dkim" and expected.type == "TXT":
        return bool(_tags(value).get("p")) and _tags(value).get("p") == _tags(expected.value).get("p")
    if purpose in ("mail_from_mx", "mx"):
        host = value.partition(" ")[2].rstrip(".").lower()
        return purpose == "mx" or host == expected.value.partition(" ")[2].lower()
    if purpose in ("mail_from_spf", "spf"):
        host = expected.value.split()[1][2:]
        return value.lower().startswith("v=spf1") and host.lower() in value.lower()
    if purpose == "dmarc":
        return value.startswith("v=DMARC1")
    if expected.type == "CNAME":
        return value.rstrip(".").lower() == expected.value.rstrip(".").lower()
    return value == expected.value


def judge(expected: Expected, answer: Answer) -> Check:
    if answer.status == "error":
        return Check(expected, ERROR, note=answer.detail)
    if answer.status != "found":
        return Check(expected, MISSING, note=answer.detail)
    if any(_matches(expected, v) for v in answer.values):
        return Check(expected, OK, answer.values, _note(expected, answer.values))
    return Check(expected, WRONG, answer.values, f"{expected.name} {expected.type} does not hold the expected value")


def _note(expected: Expected, values: tuple[str, ...]) -> str:
    if expected.purpose == "dmarc":
        policy = next((_tags(v).get("p") for v in values if v.startswith("v=DMARC1")), None)
        return f"policy p={policy}" if policy else "no p= tag"
    return ""


async def check(resolver: Resolver, expected: Expected) -> Check:
    result = judge(expected, await resolver.lookup(expected.name, expected.type))
    if result.verdict == OK and expected.target_value:
        return await _check_target(resolver, result)
    return result


async def _check_target(resolver: Resolver, cname: Check) -> Check:
    """The CNAME is right; now the key at its target (openses's DKIM zone), as a mail receiver
    following the chain would see it (RFC 6376 §3.6.2.2: the TXT found through the CNAME)."""
    target = cname.expected.value
    key = judge(Expected("dkim", target, "TXT", cname.expected.target_value), await resolver.lookup(target, "TXT"))
    if key.verdict == OK:
        return cname
    return Check(cname.expected, key.verdict, cname.found, f"CNAME target {target}: {key.note or key.verdict}")


async def check_all(resolver: Resolver, records: list[Expected]) -> list[Check]:
    return list(await asyncio.gather(*(check(resolver, r) for r in records)))


def all_ok(checks: list[Check]) -> bool:
    return bool(checks) and all(c.verdict == OK for c in checks)
