"""Bounces without an RFC 3464 status part: the plain-text formats of common MTAs.

Each format is recognised by the sentence its MTA always writes, and read by a pattern for its
recipient paragraphs. The remote reply inside a paragraph ("550 5.1.1 User unknown") gives the
status code; a paragraph without one counts as a permanent failure with status 5.0.0 (the MTA
said it gave up), unless the MTA says the message is only delayed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message

from openses.inbound import fields as f
from openses.inbound.dsn import STATUS, status_of
from openses.inbound.reports import BounceReport, OriginalHeaders, RecipientStatus

_ADDR = r"[^\s<>@\"]+@[^\s<>@\"]+?"
_REPLY = re.compile(r"\b[245]\d\d(?=[ -][245]\.\d|[ -]\S|$)[ -]?.*", re.S)
_IP = r"(\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]+)"
_HEADER = {name: re.compile(rf"^{name}:[ \t]*(.+)$", re.I | re.M) for name in ("Message-ID", "Return-Path", "To")}
_DELAYED = re.compile(r"not yet been delivered|will keep trying|still undelivered|delivery delayed|"
                      r"temporary error|has been delayed", re.I)


@dataclass(frozen=True)
class Paragraph:
    address: str
    text: str  # what the MTA says about it, lines joined
    remote_mta: str | None = None
    remote_ip: str | None = None


@dataclass(frozen=True)
class Format:
    name: str
    marker: re.Pattern[str]  # the sentence that identifies the MTA
    read: Callable[[str], list[Paragraph]]
    reporting_mta: re.Pattern[str] | None = None


def _paragraphs(pattern: str, remote: str | None = None) -> Callable[[str], list[Paragraph]]:
    """A reader for paragraphs matched by `pattern` (groups: address, text)."""
    head = re.compile(pattern, re.M | re.I)
    host = re.compile(remote, re.I | re.M) if remote else None

    def read(text: str) -> list[Paragraph]:
        out = []
        for m in head.finditer(text):
            body = " ".join(m.group(2).split())
            where = host.search(m.group(0)) if host else None
            out.append(Paragraph(m.group(1), body, *(_host_and_ip(where) if where else (None, None))))
        return out

    return read


def _host_and_ip(m: re.Match[str]) -> tuple[str | None, str | None]:
    named = m.groupdict()
    return named.get("host"), named.get("ip")


FORMATS = (
    # Postfix bounce(8): "<rcpt>: host mx.example.org[192.0.2.1] said: 550 5.1.1 … (in reply to RCPT TO command)"
    Format("postfix", re.compile(r"^This is the mail system at host|^\s+The mail system$", re.M),
           _paragraphs(rf"^<({_ADDR})>(?: \(expanded from <[^>]*>\))?:[ \t]*(.*(?:\n[ \t]+\S.*)*)",
                       rf"host\s+(?P<host>\S+?)\[(?P<ip>{_IP})\]"),
           re.compile(r"This is the mail system at host (\S+?)\.?\s*$", re.M)),
    # Exim: "  rcpt\n    host mx.example.org [192.0.2.1]\n    SMTP error from remote mail server after …"
    Format("exim", re.compile(r"This message was created automatically by mail delivery software"),
           _paragraphs(rf"^  ({_ADDR}):?[ \t]*\n((?:(?:    |\t).*\n?)+)",
                       rf"host (?P<host>\S+) \[(?P<ip>{_IP})\]")),
    # Sendmail: "----- The following addresses had permanent fatal errors -----\n<rcpt>\n    (reason: 550 …)"
    Format("sendmail", re.compile(r"-{3,} The following addresses had (?:permanent fatal errors|"
                                  r"transient non-fatal errors) -{3,}"),
           _paragraphs(rf"^<?({_ADDR})>?[ \t]*\n[ \t]+\(reason: (.*?)\)[ \t]*$")),
    # qmail-send: "<rcpt>:\n192.0.2.1 does not like recipient.\nRemote host said: 550 …\nGiving up on 192.0.2.1."
    Format("qmail", re.compile(r"This is the qmail-send program at"),
           _paragraphs(rf"^<({_ADDR})>:[ \t]*\n((?:(?!Giving up on ).+\n?)+)", rf"^(?P<ip>{_IP}) does not like"),
           re.compile(r"This is the qmail-send program at (\S+?)\.?\s*$", re.M)),
    # Exchange / Outlook NDR: "rcpt\nRemote Server returned '550 5.1.1 RESOLVER.ADR.RecipNotFound; not found'"
    Format("exchange", re.compile(r"Delivery has failed to these recipients or groups", re.I),
           _paragraphs(rf"^({_ADDR})[ \t]*\n(?:.*\n){{0,3}}?(?:Remote Server returned|#)[ \t]*'?(\d{{3}}[^'#\n]*)"),
           re.compile(r"^Generating server: (\S+)", re.M)),
)


def parse_legacy(msg: Message) -> BounceReport | None:
    """The report in a plain-text bounce of a known MTA, or None."""
    text = body_text(msg)
    for kind in FORMATS:
        if not kind.marker.search(text):
            continue
        action = "delayed" if _DELAYED.search(text) and "permanent" not in text.lower() else "failed"
        found = [_recipient(p, action) for p in kind.read(_report_section(text))]
        if found:
            m = kind.reporting_mta.search(text) if kind.reporting_mta else None
            return BounceReport(tuple(_unique(found)), m.group(1) if m else None, None,
                                _original(msg, text), kind.name)
    return None


def body_text(msg: Message) -> str:
    """The text a plain-text bounce is in: its first text/plain part (or its only body)."""
    part = f.part_of(msg, ("text/plain",))
    text = f.text_payload(part) if part is not None else ""
    return text.replace("\r\n", "\n")


def _report_section(text: str) -> str:
    """The text before the copy of the original message, whose headers could look like ours."""
    m = re.search(r"^[ \t]*-+ ?(?:This is a copy of|Below this line is a copy|Original message|"
                  r"The original message|Returned message)|^Original message headers:", text, re.M | re.I)
    return text[:m.start()] if m else text


def _recipient(p: Paragraph, action: str) -> RecipientStatus:
    reply = _REPLY.search(p.text)
    diagnostic = f"smtp; {reply.group(0).strip()}" if reply else p.text or None
    status = status_of(None, diagnostic, action) if reply or STATUS.search(p.text) else (
        "5.0.0" if action == "failed" else "4.0.0")
    return RecipientStatus(p.address, action, status, diagnostic, p.remote_mta, p.remote_ip)


def _unique(found: list[RecipientStatus]) -> list[RecipientStatus]:
    seen: dict[str, RecipientStatus] = {}
    for r in found:
        seen.setdefault(r.address.lower(), r)
    return list(seen.values())


def _original(msg: Message, text: str) -> OriginalHeaders:
    """The original's headers: an attached one, else the copy quoted after the report."""
    attached = f.original_headers(msg)
    if attached != OriginalHeaders():
        return attached
    quoted = text[len(_report_section(text)):]
    mid, rp = _HEADER["Message-ID"].search(quoted), _HEADER["Return-Path"].search(quoted)
    return OriginalHeaders(f.bare_address(rp.group(1)) if rp else None, mid.group(1).strip() if mid else None)
