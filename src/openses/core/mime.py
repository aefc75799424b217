"""MIME for mail we accept: hand-built simple messages and header surgery on raw ones.

`email.message.EmailMessage` costs ~400 µs for a 2 KB message; building the few headers a simple
send needs by hand costs a few µs, so the request path never uses it (ARCHITECTURE.md, measured
costs). Raw messages keep their body bytes untouched; only the header block is edited.
"""

from __future__ import annotations

import binascii
import base64
import email.utils
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from email.header import Header, decode_header, make_header
from email.parser import BytesHeaderParser
from email.policy import compat32

from openses.errors import InvalidParameterValue

CRLF = b"\r\n"
MAX_LINE = 998  # RFC 5322 §2.1.1: at most 998 characters a line, CRLF excluded


@dataclass(frozen=True)
class Attachment:
    content: bytes
    filename: str
    content_type: str = "application/octet-stream"
    disposition: str = "attachment"  # or inline
    content_id: str | None = None
    description: str | None = None


@dataclass
class SimpleContent:
    subject: str
    text: str | None = None
    html: str | None = None
    subject_charset: str | None = None
    text_charset: str | None = None
    html_charset: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    attachments: tuple[Attachment, ...] = field(default_factory=tuple)


_date_cache: tuple[int, str] = (-1, "")


def format_date(now: float) -> str:
    """RFC 5322 date in UTC, written `+0000` as SES writes it (cached per second)."""
    global _date_cache
    second = int(now)
    if _date_cache[0] != second:
        _date_cache = (second, email.utils.formatdate(second, usegmt=True)[:-3] + "+0000")
    return _date_cache[1]


def check_header_value(name: str, value: str) -> None:
    """No CR or LF inside a header we write: that would let a caller inject headers."""
    if "\r" in value or "\n" in value:
        raise InvalidParameterValue(f"Header {name} contains a line break (CR or LF), which is not allowed.")


def _check_header_name(name: str) -> None:
    if not name or any(ord(c) < 33 or ord(c) > 126 or c == ":" for c in name):
        raise InvalidParameterValue(f"Invalid header name: {name!r}")


def _encode_text(value: str, charset: str | None = None) -> str:
    if value.isascii():
        return value
    return Header(value, charset or "utf-8").encode(maxlinelen=76)


def _lf(data: bytes) -> bytes:
    """Any line ends (CRLF, CR, LF) as LF."""
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n") if b"\r" in data else data


def _crlf(data: bytes) -> bytes:
    return _lf(data).replace(b"\n", CRLF)


# The bytes quoted-printable writes as they are (RFC 2045 §6.7), "=" excepted.
_QP_LITERAL = bytes([10, *range(0x20, 0x3D), *range(0x3E, 0x7F)])
_QP_SOFT = 75  # characters before a soft line break "=": encoded lines stay within 76


def _quoted_printable(raw: bytes) -> bytes:
    """`binascii.b2a_qp(raw)` with CRLF line ends; for plain ASCII text (long lines being the only
    reason to encode: the usual case) the soft breaks are placed here, 3 × faster than b2a_qp."""
    if raw.translate(None, _QP_LITERAL):
        return _crlf(binascii.b2a_qp(raw))  # bytes to escape
    out = []
    for line in raw.split(b"\n"):
        if line[-1:] == b" " or line == b".":
            # A space ending a line, a line that is a lone dot (b2a_qp escapes it so that SMTP
            # cannot take it for the end of DATA): the stdlib handles those.
            return _crlf(binascii.b2a_qp(raw))
        if len(line) > _QP_SOFT + 1:
            cut = (len(line) - 2) // _QP_SOFT * _QP_SOFT  # what follows the last break: 1–76 bytes
            line = b"=\r\n".join([line[i:i + _QP_SOFT] for i in range(0, cut, _QP_SOFT)] + [line[cut:]])
        out.append(line)
    return CRLF.join(out)


def _body_part(data: str, subtype: str, charset: str | None) -> bytes:
    cs = (charset or "UTF-8")
    try:
        raw = data.encode(cs)
    except (LookupError, UnicodeEncodeError):
        cs, raw = "UTF-8", data.encode("utf-8")
    if raw.isascii() and max((len(line) for line in raw.split(b"\n")), default=0) <= MAX_LINE:
        cte, body = b"7bit", _crlf(raw)
    else:
        cte, body = b"quoted-printable", _quoted_printable(_lf(raw))
    return (b"Content-Type: text/" + subtype.encode() + b"; charset=" + cs.encode() + CRLF +
            b"Content-Transfer-Encoding: " + cte + CRLF + CRLF + body)


def _attachment_part(att: Attachment) -> bytes:
    check_header_value("FileName", att.filename)
    name = att.filename.replace('"', "")
    fname = name if name.isascii() else None
    lines = [b"Content-Type: " + att.content_type.encode() + b'; name="' + (fname or "attachment").encode() + b'"']
    if fname:
        lines.append(b"Content-Disposition: " + att.disposition.encode() + b'; filename="' + fname.encode() + b'"')
    else:
        lines.append(b"Content-Disposition: " + att.disposition.encode() + b"; filename*=utf-8''" +
                     _rfc2231(name).encode())
    if att.content_id:
        lines.append(b"Content-ID: <" + att.content_id.strip("<>").encode() + b">")
    if att.description:
        lines.append(b"Content-Description: " + _encode_text(att.description).encode())
    lines.append(b"Content-Transfer-Encoding: base64")
    encoded = base64.encodebytes(att.content).replace(b"\n", CRLF)
    return CRLF.join(lines) + CRLF + CRLF + encoded


def _rfc2231(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


def _multipart(subtype: str, parts: Sequence[bytes]) -> bytes:
    boundary = ("=_openses_" + uuid.uuid4().hex).encode()
    out = [b"Content-Type: multipart/" + subtype.encode() + b'; boundary="' + boundary + b'"' + CRLF + CRLF]
    for part in parts:
        out.append(b"--" + boundary + CRLF + part + CRLF)
    out.append(b"--" + boundary + b"--" + CRLF)
    return b"".join(out)


def build_simple(*, from_header: str, to: Sequence[str], cc: Sequence[str], reply_to: Sequence[str],
                 content: SimpleContent, message_id: str, date: str) -> bytes:
    """A complete RFC 5322 message for a simple (subject + text/html + attachments) send."""
    check_header_value("Subject", content.subject)
    head = [b"From: " + from_header.encode()]
    if to:
        head.append(b"To: " + ", ".join(to).encode())
    if cc:
        head.append(b"Cc: " + ", ".join(cc).encode())
    if reply_to:
        head.append(b"Reply-To: " + ", ".join(reply_to).encode())
    head.append(b"Subject: " + _encode_text(content.subject, content.subject_charset).encode())
    head.append(b"Message-ID: <" + message_id.encode() + b">")
    head.append(b"Date: " + date.encode())
    for name, value in content.headers:
        _check_header_name(name)
        check_header_value(name, value)
        head.append(name.encode() + b": " + _encode_text(value).encode())
    head.append(b"MIME-Version: 1.0")
    bodies = []
    if content.text is not None:
        bodies.append(_body_part(content.text, "plain", content.text_charset))
    if content.html is not None:
        bodies.append(_body_part(content.html, "html", content.html_charset))
    if not bodies:
        bodies.append(_body_part("", "plain", None))
    body = bodies[0] if len(bodies) == 1 else _multipart("alternative", bodies)
    if content.attachments:
        body = _multipart("mixed", [body] + [_attachment_part(a) for a in content.attachments])
    return CRLF.join(head) + CRLF + body


# --- raw messages ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RawMessage:
    """A raw message split into its header fields (name, full field bytes) and body bytes."""

    fields: tuple[tuple[str, bytes], ...]
    body: bytes
    # The decoded values, made on the first question: a field (not __dict__, which the compiled
    # build's classes lack; not init=False, which it leaves unset), never passed in.
    _values: dict[str, list[str]] | None = field(default=None, repr=False, compare=False)

    def values(self, name: str) -> list[str]:
        """Every value of header `name`, unfolded and RFC 2047-decoded."""
        return self._decoded().get(name.lower(), [])

    def _decoded(self) -> dict[str, list[str]]:
        cached = self._values
        if cached is None:
            # One parse of the whole header block, kept: callers ask for many headers.
            msg = BytesHeaderParser(policy=compat32).parsebytes(b"".join(f for _, f in self.fields) + CRLF)
            cached = {}
            for key, value in msg.items():
                cached.setdefault(key.lower(), []).append(_decode_value(value))
            object.__setattr__(self, "_values", cached)
        return cached

    def first(self, name: str) -> str | None:
        vals = self.values(name)
        return vals[0] if vals else None

    def has(self, name: str) -> bool:
        lname = name.lower()
        return any(n == lname for n, _ in self.fields)

    def rebuilt(self, *, drop: Iterable[str] = (), prepend: Sequence[tuple[str, str]] = ()) -> bytes:
        dropped = {d.lower() for d in drop}
        out = [f"{n}: {v}".encode() + CRLF for n, v in prepend]
        out += [f for n, f in self.fields if n not in dropped]
        return b"".join(out) + CRLF + self.body


def _decode_value(value: object) -> str:
    text = str(value)
    if "\n" in text:
        text = " ".join(text.split())
    text = text.strip()
    if "=?" in text:
        try:
            return str(make_header(decode_header(text)))
        except (UnicodeError, ValueError, LookupError):
            return text
    return text


# RFC 5322 §3.6: these may appear at most once.
_SINGLE = ("from", "sender", "reply-to", "to", "cc", "bcc", "message-id", "subject", "date")


def _check_unique(fields: list[tuple[str, bytes]]) -> None:
    seen: set[str] = set()
    for name, raw in fields:
        if name in _SINGLE:
            if name in seen:
                shown = raw.split(b":", 1)[0].decode("ascii")
                raise InvalidParameterValue(f"Duplicate header '{shown}'.")
            seen.add(name)


def split_raw(raw: bytes) -> RawMessage:
    """Split at the first empty line; normalize line ends of the header block to CRLF."""
    if not raw.strip():
        raise InvalidParameterValue("Illegal content.")
    crlf = raw.find(b"\r\n\r\n")
    lf = raw.find(b"\n\n")
    if crlf != -1 and (lf == -1 or crlf < lf):
        head, body = raw[:crlf], raw[crlf + 4:]
    elif lf != -1:
        head, body = raw[:lf], raw[lf + 2:]
    else:
        head, body = raw, b""
    fields: list[tuple[str, bytes]] = []
    for line in _crlf(head).split(CRLF):
        if not line:
            continue
        if line[:1] in (b" ", b"\t"):
            if not fields:
                raise InvalidParameterValue("Illegal content.")
            name, prev = fields[-1]
            fields[-1] = (name, prev + line + CRLF)
            continue
        field_name, colon, _ = line.partition(b":")
        if colon and not field_name:
            raise InvalidParameterValue("Empty header names are illegal.")
        if not colon or any(c < 33 or c > 126 for c in field_name):
            raise InvalidParameterValue(f"Illegal header '{field_name[:80].decode('utf-8', 'replace')}'.")
        fields.append((field_name.decode("ascii").lower(), line + CRLF))
    _check_unique(fields)
    return RawMessage(tuple(fields), _crlf(body) if b"\n" in body else body)
