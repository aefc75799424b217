"""Open and click tracking inside one HTML document (sans-I/O: str in, str out).

Every http/https link in an `<a href>` becomes a tracking redirect, except anchors that carry
`ses:no-track`; `ses:tags="k:v;k2:v2"` on an anchor becomes the Click event's linkTags (SES's
syntax). `ses:tags` is removed (the tags travel in the signed link); `ses:no-track` stays, so
rewriting again still skips that link (mail clients ignore unknown attributes). An open pixel
(a 1x1 image) goes at the end of the body. Comments pass untouched.

Rewriting twice changes nothing: links that already point at this server's tracking URLs are
left alone, and the pixel is not added again.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Protocol
from urllib.parse import urlsplit

# An <a …> start tag; quoted attribute values may contain '>' (HTML §13.1.2.3).
_TOKENS = re.compile(r"""(<!--.*?-->)|(<a\b(?:[^>"']|"[^"]*"|'[^']*')*>)""", re.IGNORECASE | re.DOTALL)
_ATTR = re.compile(r"""([^\s"'>/=]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s"'>]+))?""")
_BODY_END = re.compile(r"</body\s*>|</html\s*>", re.IGNORECASE)
# SES: tag names and values are ASCII letters, digits, '_' and '-', at most 256 characters.
_TAG_PART = re.compile(r"[A-Za-z0-9_-]{1,256}\Z")
_PIXEL = ('<img alt="" src="{src}" width="1" height="1" border="0" style="height:1px!important;'
          'width:1px!important;border-width:0!important;margin:0!important;padding:0!important" />')

LinkTags = dict[str, list[str]]


class Tracker(Protocol):
    """How one configuration set tracks mail (built by core; tokens name the message)."""

    def open_url(self, message_id: str) -> str | None: ...

    def click_url(self, message_id: str, target: str, tags: LinkTags) -> str | None: ...

    def is_ours(self, url: str) -> bool: ...


def link_tags(value: str) -> LinkTags:
    """`k:v;k2:v2` → {"k": ["v"], "k2": ["v2"]}; malformed pairs are dropped."""
    tags: LinkTags = {}
    for pair in value.split(";"):
        name, sep, tag_value = pair.strip().partition(":")
        name, tag_value = name.strip(), tag_value.strip()
        if sep and _TAG_PART.match(name) and _TAG_PART.match(tag_value):
            tags.setdefault(name, []).append(tag_value)
    return tags


def rewrite_html(text: str, tracker: Tracker, message_id: str,
                 decode_value: Callable[[str], str] = lambda s: s) -> str:
    """The document with its links rewritten and the pixel added. `decode_value` turns an
    attribute value of `text` into real characters (the caller may hand us latin-1 text of
    another ASCII-compatible charset; see tracking.py)."""

    def anchor(match: re.Match[str]) -> str:
        if match.group(1):
            return match.group(1)
        return _rewrite_anchor(match.group(2), tracker, message_id, decode_value)

    out = _TOKENS.sub(anchor, text)
    return _add_pixel(out, tracker.open_url(message_id))


def _rewrite_anchor(tag: str, tracker: Tracker, message_id: str, decode_value: Callable[[str], str]) -> str:
    attrs = list(_ATTR.finditer(tag, 2, len(tag) - 1))
    names: dict[str, re.Match[str]] = {}
    for m in attrs:
        names.setdefault(m.group(1).lower(), m)  # HTML: the first of duplicate attributes counts
    if "ses:no-track" in names:  # kept, so that rewriting again still leaves the link alone
        return _without(tag, [m for n, m in names.items() if n == "ses:tags"])
    href = names.get("href")
    target = _http_target(decode_value(_value(href))) if href is not None else None
    tags = link_tags(decode_value(_value(names["ses:tags"]))) if "ses:tags" in names else {}
    url = tracker.click_url(message_id, target, tags) if target and not tracker.is_ours(target) else None
    drop = [m for n, m in names.items() if n == "ses:tags"]
    if url is None or href is None:
        return _without(tag, drop)
    return _without(tag, drop, replace=(href, f'href="{html.escape(url, quote=True)}"'))


def _value(attr: re.Match[str]) -> str:
    raw = attr.group(2) or ""
    if raw[:1] in ("'", '"'):
        raw = raw[1:-1]
    return html.unescape(raw)


def _http_target(value: str) -> str | None:
    """The link when it is an absolute http(s) URL (other schemes and relative links stay)."""
    value = value.strip()
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    return value if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def _without(tag: str, drop: list[re.Match[str]], replace: tuple[re.Match[str], str] | None = None) -> str:
    """The tag with the attributes in `drop` removed (with the space before them) and one
    attribute replaced."""
    edits: list[tuple[int, int, str | None]] = [(m.start(), m.end(), None) for m in drop]
    if replace is not None:
        edits.append((replace[0].start(), replace[0].end(), replace[1]))
    out, last = [], 0
    for start, end, new in sorted(edits, key=lambda e: e[0]):
        before = tag[last:start]
        out += [before if new is not None else before.rstrip(" \t\r\n"), new or ""]
        last = end
    out.append(tag[last:])
    return "".join(out)


def _add_pixel(text: str, url: str | None) -> str:
    if url is None:
        return text
    src = html.escape(url, quote=True)
    if src in text:
        return text  # already tracked
    pixel = _PIXEL.format(src=src)
    ends = list(_BODY_END.finditer(text))
    body_ends = [m for m in ends if m.group(0).lower().startswith("</body")]
    end = (body_ends or ends or [None])[-1]
    if end is None:
        return text + pixel
    return text[:end.start()] + pixel + text[end.start():]
