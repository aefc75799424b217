"""Open and click tracking: which mail is tracked and how, and the Open and Click events.

A configuration set tracks opens (clicks) when one of its enabled event destinations matches
OPEN (CLICK) events, as SES does. Its TrackingOptions choose the host of the tracking URLs:
the CustomRedirectDomain when set (the scheme follows SES's HttpsPolicy), otherwise this
server's public URL. The delivery worker asks `TrackingPlans.lookup` for a set's Plan and
rewrites the mail with it (delivery/tracking.py); the web endpoints (web/tracking.py) hand the
tokens back to `TrackingEvents`, which records the events through the ordinary events table
(so statistics and event destinations see them like any other event). Every open is recorded;
opens by image proxies that fetch mail on their own are flagged `machineOpen`, not hidden.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import Connection

from openses.config import Settings
from openses.core.events import event_row, iso
from openses.core.secrets import load_master_key
from openses.core.tracking_tokens import CLICK, OPEN, TokenCodec, tracking_key
from openses.store import feedback_repo as frepo
from openses.store import repositories as repo
from openses.store.store import Store

OPEN_PATH, CLICK_PATH = "/track/open/", "/track/click/"
LinkTags = dict[str, list[str]]

# User agents of proxies that fetch images when mail arrives, not when a person reads it:
# Gmail's image proxy, Yahoo's, and Apple Mail Privacy Protection (which loads remote content
# through Apple's relays with Mail's WebKit identity and no browser token).
_MACHINE_AGENTS = re.compile(
    r"GoogleImageProxy|ggpht\.com|YahooMailProxy|\A(?:Mozilla/5\.0|Mozilla/5\.0 \(Macintosh; Intel Mac OS X [0-9_]+\) "
    r"AppleWebKit/[0-9.]+ \(KHTML, like Gecko\))\Z")


def machine_open(user_agent: str) -> bool:
    return bool(_MACHINE_AGENTS.search(user_agent.strip()))


def codec_from(settings: Settings) -> TokenCodec:
    return TokenCodec(tracking_key(load_master_key(settings.master_key, settings.data_dir)))


# --- which mail is tracked, and the URLs --------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """How one configuration set tracks mail (delivery/tracking_html.py's Tracker)."""

    codec: TokenCodec
    opens: bool
    clicks: bool
    public_url: str
    domain: str | None = None
    https_policy: str = "OPTIONAL"

    def open_url(self, message_id: str) -> str | None:
        if not self.opens:
            return None
        scheme = "https" if self.https_policy in ("REQUIRE", "REQUIRE_OPEN_ONLY") else "http"
        return f"{self._base(scheme)}{OPEN_PATH}{self.codec.sign(OPEN, {'m': message_id})}"

    def click_url(self, message_id: str, target: str, tags: LinkTags) -> str | None:
        if not self.clicks:
            return None
        scheme = "https" if self.https_policy == "REQUIRE" else urlsplit(target).scheme.lower()
        claims: dict[str, Any] = {"m": message_id, "u": target, **({"t": tags} if tags else {})}
        return f"{self._base(scheme)}{CLICK_PATH}{self.codec.sign(CLICK, claims)}"

    def is_ours(self, url: str) -> bool:
        bases = [self._base("http"), self._base("https")]
        return any(url.startswith(b + p) for b in bases for p in (OPEN_PATH, CLICK_PATH))

    def _base(self, scheme: str) -> str:
        """PutConfigurationSetTrackingOptions: OPTIONAL (the default) → opens over HTTP and clicks
        with the link's own scheme; REQUIRE → both HTTPS; REQUIRE_OPEN_ONLY → opens HTTPS."""
        return f"{scheme}://{self.domain}" if self.domain else self.public_url


def plan_of(options: dict[str, Any], destinations: list[dict[str, Any]], codec: TokenCodec,
            public_url: str) -> Plan | None:
    """The Plan of a configuration set (its options and event destinations); None: no tracking."""
    types = {t for d in destinations if d.get("enabled") for t in d.get("event_types") or ()}
    if "OPEN" not in types and "CLICK" not in types:
        return None
    tracking = options.get("TrackingOptions") or {}
    return Plan(codec, "OPEN" in types, "CLICK" in types, public_url.rstrip("/"),
                (tracking.get("CustomRedirectDomain") or "").strip().rstrip(".") or None,
                tracking.get("HttpsPolicy") or "OPTIONAL")


@dataclass
class TrackingPlans:
    """The delivery worker's lookup (account, configuration set) → Plan, kept `ttl` seconds."""

    store: Store
    codec: TokenCodec
    public_url: str
    ttl: float = 1.0
    clock: Callable[[], float] = time.monotonic
    _cache: dict[tuple[str, str], tuple[float, Plan | None]] = field(default_factory=dict)

    async def lookup(self, account_id: str, config_set: str) -> Plan | None:
        key, now = (account_id, config_set), self.clock()
        hit = self._cache.get(key)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        plan = await self.store.read(lambda c: self._load(c, account_id, config_set))
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[key] = (now, plan)
        return plan

    def _load(self, conn: Connection, account_id: str, name: str) -> Plan | None:
        row = frepo.get_configuration_set(conn, account_id, name)
        if row is None:
            return None
        return plan_of(row["options"] or {}, frepo.list_event_destinations(conn, account_id, name),
                       self.codec, self.public_url)


# --- the events ---------------------------------------------------------------------------------


def open_event(mail: dict[str, Any], *, at: float, ip_address: str, user_agent: str) -> dict[str, Any]:
    """SES's open object, plus `machineOpen: true` when an image proxy fetched the pixel."""
    detail: dict[str, Any] = {"ipAddress": ip_address, "timestamp": iso(at), "userAgent": user_agent}
    if machine_open(user_agent):
        detail["machineOpen"] = True
    return event_row("Open", mail, detail, at=at, recipients=1)


def click_event(mail: dict[str, Any], *, at: float, ip_address: str, user_agent: str, link: str,
                link_tags: LinkTags) -> dict[str, Any]:
    """SES's click object; linkTags (from the anchor's ses:tags) only when the link had some."""
    detail: dict[str, Any] = {"ipAddress": ip_address, "timestamp": iso(at), "userAgent": user_agent,
                              "link": link}
    if link_tags:
        detail["linkTags"] = link_tags
    return event_row("Click", mail, detail, at=at, recipients=1)


class TrackingEvents:
    """What the tracking endpoints do with a token: check it, record the event."""

    def __init__(self, store: Store, codec: TokenCodec, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._codec = codec
        self._clock = clock

    async def opened(self, token: str, ip_address: str, user_agent: str, *, record: bool = True) -> bool:
        """False when the token is not one of ours (nothing is recorded)."""
        claims = self._codec.read(OPEN, token)
        if claims is None or not isinstance(claims.get("m"), str):
            return False
        if record:
            await self._record(claims["m"], lambda mail, now: open_event(
                mail, at=now, ip_address=ip_address, user_agent=user_agent))
        return True

    async def clicked(self, token: str, ip_address: str, user_agent: str, *, record: bool = True) -> str | None:
        """The link to redirect to, or None when the token is not one of ours."""
        claims = self._codec.read(CLICK, token)
        if claims is None or not isinstance(claims.get("m"), str) or not _is_http(claims.get("u")):
            return None
        link, tags = claims["u"], claims.get("t") if isinstance(claims.get("t"), dict) else {}
        if record:
            await self._record(claims["m"], lambda mail, now: click_event(
                mail, at=now, ip_address=ip_address, user_agent=user_agent, link=link, link_tags=tags))
        return str(link)

    async def _record(self, message_id: str, build: Callable[[dict[str, Any], float], dict[str, Any]]) -> None:
        now = self._clock()

        def write(conn: Connection) -> None:
            mail = repo.send_mail_objects(conn, [message_id]).get(message_id)
            if mail is not None:  # a message since forgotten (development reset) records nothing
                repo.insert_events(conn, [build(mail[1], now)])

        await self._store.write(write)


def _is_http(value: Any) -> bool:
    return isinstance(value, str) and urlsplit(value).scheme.lower() in ("http", "https")
