"""Open and click tracking applied to a whole message (sans-I/O: bytes in, bytes out).

The worker calls `rewrite_message` in its preparation step, before DKIM signing, for mail sent
with a configuration set whose enabled event destinations match OPEN or CLICK events (core
decides that and hands over a Tracker). Only text/html parts that are not attachments change,
wherever they sit in the multipart tree (RFC 2046 §5.1); everything else, headers included, is
kept byte for byte. A part is decoded from its Content-Transfer-Encoding (RFC 2045 §6),
rewritten, and encoded back the same way. The one header ever touched: a 7bit/8bit HTML part
whose rewritten lines would pass 998 octets (RFC 5322 §2.1.1) becomes quoted-printable.
Anything we cannot read (unknown encoding, broken base64, a charset that is not ASCII-based)
is left as it was: tracking is best effort, delivery is not.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from collections.abc import Awaitable, Callable
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32

from openses.delivery.tracking_html import Tracker, rewrite_html

# (account id, configuration set name) → the set's Tracker, or None when it tracks nothing.
TrackingLookup = Callable[[str, str], Awaitable[Tracker | None]]

MAX_LINE = 998  # RFC 5322 §2.1.1
_IDENTITY = ("7bit", "8bit", "binary")
_CTE_HEADER = re.compile(rb"(?im)^content-transfer-encoding[ \t]*:.*(?:\r?\n[ \t].*)*\r?\n")
_PROBE = "<a href=\"'>"  # the characters HTML structure is made of


def rewrite_message(data: bytes, tracker: Tracker, message_id: str) -> bytes:
    """The message with its HTML parts tracked; unchanged when it has none."""
    nl = b"\r\n" if b"\r\n" in data else b"\n"
    return _entity(data, tracker, message_id, nl, depth=0)


def _entity(data: bytes, tracker: Tracker, message_id: str, nl: bytes, depth: int) -> bytes:
    split = data.find(nl + nl)
    if split < 0 or depth > 20:  # no body, or nesting deeper than any real message
        return data
    head, body = data[:split + len(nl)], data[split + 2 * len(nl):]
    headers = BytesHeaderParser(policy=compat32).parsebytes(head)
    kind = headers.get_content_type()
    if kind.startswith("multipart/"):
        boundary = headers.get_param("boundary")
        if not isinstance(boundary, str) or not boundary:
            return data
        new_body = _multipart(body, boundary.encode("latin-1", "replace"), tracker, message_id, nl, depth)
        return head + nl + new_body
    if kind != "text/html" or _is_attachment(headers):
        return data
    return _html_part(head, body, headers, tracker, message_id, nl)


def _is_attachment(headers: Message) -> bool:
    return (headers.get("Content-Disposition") or "").strip().lower().startswith("attachment")


def _multipart(body: bytes, boundary: bytes, tracker: Tracker, message_id: str, nl: bytes, depth: int) -> bytes:
    """RFC 2046 §5.1.1: the line break before a delimiter line belongs to the delimiter."""
    delimiter = re.compile(rb"(?:\A|" + re.escape(nl) + rb")--" + re.escape(boundary) + rb"(--)?[ \t]*(?="
                           + re.escape(nl) + rb"|\Z)")
    marks = list(delimiter.finditer(body))
    if len(marks) < 2:
        return body
    out, last = [body[:marks[0].end()]], marks[0]
    for following in marks[1:]:
        if last.group(1):  # the close delimiter: the epilogue follows
            break
        part = body[last.end():following.start()]
        if part.startswith(nl):
            part = nl + _entity(part[len(nl):], tracker, message_id, nl, depth + 1)
        out += [part, body[following.start():following.end()]]
        last = following
    out.append(body[last.end():])
    return b"".join(out)


def _html_part(head: bytes, body: bytes, headers: Message, tracker: Tracker, message_id: str, nl: bytes) -> bytes:
    encoding = (headers.get("Content-Transfer-Encoding") or "7bit").strip().lower()
    charset = headers.get_content_charset() or "us-ascii"
    decoded = _decode(body, encoding)
    if decoded is None or not _ascii_based(charset):
        return head + nl + body
    text = decoded.decode("latin-1")  # byte-transparent; values are decoded with the real charset
    new = rewrite_html(text, tracker, message_id, lambda v: v.encode("latin-1").decode(charset, "replace"))
    if new == text:
        return head + nl + body
    raw = new.encode("latin-1")
    if encoding in _IDENTITY and any(len(line) > MAX_LINE for line in raw.split(b"\n")):
        head, encoding = _set_encoding(head, nl, "quoted-printable"), "quoted-printable"
    return head + nl + _encode(raw, encoding, nl, ends_with_newline=body.endswith(nl))


def _decode(body: bytes, encoding: str) -> bytes | None:
    try:
        if encoding == "base64":
            return base64.b64decode(re.sub(rb"[^A-Za-z0-9+/=]", b"", body), validate=True)
        if encoding == "quoted-printable":
            return binascii.a2b_qp(body)
    except (binascii.Error, ValueError):
        return None
    return body if encoding in _IDENTITY else None


def _encode(raw: bytes, encoding: str, nl: bytes, *, ends_with_newline: bool) -> bytes:
    if encoding == "base64":
        out = base64.encodebytes(raw).replace(b"\n", nl)  # RFC 2045 §6.8: lines of 76 characters
    elif encoding == "quoted-printable":
        out = binascii.b2a_qp(raw.replace(b"\r\n", b"\n"), istext=True).replace(b"\n", nl)
    else:
        out = raw
    if out.endswith(nl) and not ends_with_newline:
        out = out[:-len(nl)]
    return out


def _set_encoding(head: bytes, nl: bytes, encoding: str) -> bytes:
    line = b"Content-Transfer-Encoding: " + encoding.encode() + nl
    if _CTE_HEADER.search(head):
        return _CTE_HEADER.sub(lambda _: line, head, count=1)
    return head + line


def _ascii_based(charset: str) -> bool:
    """Charsets where HTML's markup characters are the ASCII bytes (not UTF-16, UTF-32, …)."""
    try:
        codecs.lookup(charset)
        return _PROBE.encode(charset) == _PROBE.encode("ascii")
    except (LookupError, UnicodeError):
        return False
