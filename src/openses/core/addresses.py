"""Email addresses: parse a mailbox, check its syntax the way SES does, punycode IDN domains.

RFC 5321 §4.5.3.1: local part ≤ 64 octets, domain ≤ 255, path ≤ 256. SES requires the local part
to be 7-bit ASCII and accepts Unicode domains only as Punycode; we convert a Unicode domain
to Punycode for the caller instead of refusing it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.utils import getaddresses, parseaddr

from openses.errors import InvalidParameterValue

_SIMPLE = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+\Z")
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\Z")
_ATEXT = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+\Z")
_NOT_PLAIN = frozenset('"()\\:;[]\r\n')
_BARE_ADDR = re.compile(r"[^\s<>@]+@[^\s<>@]+")
_NAME_ADDR = re.compile(r"([A-Za-z0-9!#$%&'*+/=?^_`{|}~. -]*?)\s*<([^\s<>@]+@[^\s<>@]+)>")


@dataclass
class Mailbox:
    display_name: str
    address: str  # addr-spec, domain in ASCII (Punycode)

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]

    def header_form(self) -> str:
        """`Name <addr>` with the name encoded for a header when it needs to be."""
        if not self.display_name:
            return self.address
        return f"{encode_phrase(self.display_name)} <{self.address}>"


def encode_phrase(name: str) -> str:
    if name.isascii():
        if _ATEXT.match(name.replace(" ", "")) and "." not in name:
            return name
        escaped = name.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    from email.header import Header

    return Header(name, "utf-8").encode()


def check_address(address: str) -> str:
    """Return `address` with its domain in ASCII; raise InvalidParameterValue like SES."""
    if len(address) <= 256 and _SIMPLE.match(address) and _labels_ok(address.rpartition("@")[2]):
        return address
    return _check_slow(address)


def _labels_ok(domain: str) -> bool:
    return len(domain) <= 255 and all(_LABEL.match(label) for label in domain.split("."))


def _check_slow(address: str) -> str:
    if any(c in address for c in "\r\n"):
        raise InvalidParameterValue("Local address contains control or whitespace")
    local, at, domain = address.rpartition("@")
    if not at:
        raise InvalidParameterValue("Missing final '@domain'")
    if not domain:
        raise InvalidParameterValue("Missing domain")
    if not local:
        raise InvalidParameterValue("Missing local name")
    if any(ord(c) < 33 or ord(c) == 127 for c in local):
        raise InvalidParameterValue("Local address contains control or whitespace")
    if not local.isascii():
        raise InvalidParameterValue("Local address contains illegal character")
    if len(local) > 64:
        raise InvalidParameterValue("Local address is longer than 64 characters")
    if domain.startswith("."):
        raise InvalidParameterValue("Domain starts with dot")
    if domain.endswith("."):
        raise InvalidParameterValue("Domain ends with dot")
    if ".." in domain:
        raise InvalidParameterValue("Domain contains dot-dot")
    if any(ord(c) < 33 or ord(c) == 127 for c in domain):
        raise InvalidParameterValue("Domain contains control or whitespace")
    ascii_domain = to_ascii_domain(domain)
    if not _labels_ok(ascii_domain):
        raise InvalidParameterValue("Domain contains illegal character")
    return f"{local}@{ascii_domain}"


def to_ascii_domain(domain: str) -> str:
    if domain.isascii():
        return domain
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidParameterValue("Domain contains illegal character") from None


def parse_mailbox(text: str) -> Mailbox:
    """Parse `Name <addr>` or `addr` (the name may be RFC 2047 encoded) and check the address."""
    if "\r" in text or "\n" in text:
        raise InvalidParameterValue("Local address contains control or whitespace")
    if "<" not in text and '"' not in text and "(" not in text:
        return Mailbox("", check_address(text.strip()))
    name, addr = parseaddr(text)
    if not addr:
        raise InvalidParameterValue("Missing final '@domain'")
    return Mailbox(_decode_words(name), check_address(addr))


def parse_address_list(header_value: str) -> list[Mailbox]:
    """The mailboxes of a To/Cc/Bcc header value (group syntax flattened)."""
    plain = _plain_list(header_value)
    if plain is not None:
        return [Mailbox(n, check_address(a)) for n, a in plain]
    return [Mailbox(_decode_words(n), check_address(a)) for n, a in getaddresses([header_value]) if a]


def _plain_list(value: str) -> list[tuple[str, str]] | None:
    """The common case without the stdlib's full RFC 5322 parser (≈ 40 µs a header, on every SMTP
    message): `addr, Name <addr>, …` with no quotes, comments, groups, escapes or encoded words.
    None for anything else, which takes the full parser; the two agree (tests/unit/test_addresses.py)."""
    if any(c in value for c in _NOT_PLAIN) or "=?" in value:
        return None
    out = []
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        named = _NAME_ADDR.fullmatch(part)
        if named is not None:
            out.append((" ".join(named.group(1).split()), named.group(2)))
        elif _BARE_ADDR.fullmatch(part):
            out.append(("", part))
        else:
            return None
    return out


def _decode_words(name: str) -> str:
    if "=?" not in name:
        return name
    try:
        return str(make_header(decode_header(name)))
    except (UnicodeError, ValueError, LookupError):
        return name


def identity_key(address_or_domain: str) -> str:
    """How identities are looked up: domains case-insensitively, local parts as given."""
    local, at, domain = address_or_domain.rpartition("@")
    return f"{local}@{domain.lower()}" if at else address_or_domain.lower()


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()
