"""Reading reports: the MIME parts they come in, the RFC 3464 / RFC 5965 field blocks, the
attached original message's headers, and the typed values inside fields ("dns; host").

Messages are parsed with the stdlib's compat32 policy: it never raises on malformed input, and
it keeps message/* parts as sub-messages, so a field block reads like a header block.
"""

from __future__ import annotations

import email
import email.utils
import re
from email.message import Message
from email.parser import HeaderParser
from email.policy import compat32

from openses.inbound.reports import OriginalHeaders

Fields = list[tuple[str, str]]  # (lower-cased name, value), in order; names may repeat
STATUS_TYPES = ("message/delivery-status", "message/global-delivery-status", "text/delivery-status")
ORIGINAL_TYPES = ("message/rfc822", "message/global", "text/rfc822-headers", "message/global-headers",
                  "message/rfc822-headers")
_ANGLE = re.compile(r"<([^<>\s]*)>")
_FIELD = re.compile(r"^([!-9;-~]+)[ \t]*:[ \t]*(.*)$")


def parse_message(data: bytes) -> Message:
    return email.message_from_bytes(data, policy=compat32)


def header(msg: Message, name: str) -> str | None:
    value = msg.get(name)
    return None if value is None else " ".join(str(value).split())


def parts(msg: Message) -> list[Message]:
    return list(msg.walk())


def part_of(msg: Message, types: tuple[str, ...]) -> Message | None:
    return next((p for p in parts(msg) if p.get_content_type() in types), None)


def text_payload(part: Message) -> str:
    """A leaf part's body as text (transfer encoding undone; unknown charsets read as UTF-8)."""
    raw = part.get_payload(decode=True)
    if not isinstance(raw, bytes):
        payload = part.get_payload()
        return payload if isinstance(payload, str) else ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return raw.decode(charset, "replace")
    except LookupError:
        return raw.decode("utf-8", "replace")


def field_blocks(part: Message) -> list[Fields]:
    """The blocks of fields in a status or feedback part: the per-message block first."""
    payload = part.get_payload()
    if isinstance(payload, list):  # compat32 parsed each block as a header-only sub-message
        return [[(k.lower(), " ".join(str(v).split())) for k, v in p.items()] for p in payload
                if isinstance(p, Message)]
    return parse_blocks(text_payload(part))


def parse_blocks(text: str) -> list[Fields]:
    """RFC 3464 §2.1: groups of header-style fields, separated by blank lines, with folding."""
    blocks: list[Fields] = []
    current: Fields = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line.strip():
            if current:
                blocks.append(current)
            current = []
        elif line[0] in " \t" and current:  # RFC 5322 §2.2.3 folding
            name, value = current[-1]
            current[-1] = (name, f"{value} {line.strip()}".strip())
        elif m := _FIELD.match(line):
            current.append((m.group(1).lower(), m.group(2).strip()))
    if current:
        blocks.append(current)
    return blocks


def first(fields: Fields, name: str) -> str | None:
    return next((v for k, v in fields if k == name), None)


def every(fields: Fields, name: str) -> list[str]:
    return [v for k, v in fields if k == name]


def untyped(value: str | None) -> str | None:
    """"rfc822; a@b" → "a@b", "dns; mx.example.org" → "mx.example.org" (RFC 3464 §2.1.2)."""
    if value is None:
        return None
    _, sep, rest = value.partition(";")
    return (rest if sep else value).strip() or None


def bare_address(value: str | None) -> str | None:
    """An address without its type, angle brackets or comments; None when it has no @."""
    text = untyped(value)
    if not text:
        return None
    m = _ANGLE.search(text)
    address = m.group(1) if m else email.utils.parseaddr(text)[1] or text
    address = address.strip().strip("<>")
    return address if "@" in address and " " not in address else None


def timestamp(value: str | None) -> float | None:
    """An RFC 5322 date-time as epoch seconds; None when it is not one."""
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    try:
        return parsed.timestamp() if parsed.tzinfo else None
    except (OverflowError, OSError, ValueError):
        return None


def original_headers(msg: Message) -> OriginalHeaders:
    """The headers of the attached original (message/rfc822 or text/rfc822-headers)."""
    part = part_of(msg, ORIGINAL_TYPES)
    if part is None:
        return OriginalHeaders()
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        inner = payload[0]
    else:
        inner = HeaderParser(policy=compat32).parsestr(text_payload(part), headersonly=True)
    tos = [a for _, a in email.utils.getaddresses([str(v) for v in inner.get_all("To", [])]) if a]
    return OriginalHeaders(bare_address(header(inner, "Return-Path")), header(inner, "Message-ID"), tuple(tos))
