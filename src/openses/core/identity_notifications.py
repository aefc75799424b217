"""Identity feedback notifications: SES's older, per-identity way of reporting bounces,
complaints and deliveries (SetIdentityNotificationTopic and friends), separate from
configuration-set event destinations.

An identity (address or domain) may name an openses topic per notification type, choose whether
those notifications carry the original headers, and turn email feedback forwarding off (only
when both the Bounce and the Complaint topics are set, as SES requires). The settings live in the
identity's `attributes` ("notifications" and "feedback"), so they go when the identity goes.

The events processor (core/event_dispatch.py) calls `publish` for every batch of events, inside
its transaction: each Bounce, Complaint or Delivery of a message whose sending identity has a
topic for that type becomes one outbox row per confirmed subscription, carrying SES's
*notification* JSON (`notificationType`, not `eventType`), frozen now; each Bounce and Complaint
that must be forwarded becomes one row of the forwarding queue (core/feedback_forwarding.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy.engine import Connection

from openses.core import simulator, topics
from openses.core.addresses import identity_key, parse_mailbox
from openses.core.configuration_sets import EVENT_TYPES
from openses.errors import InvalidParameterValue
from openses.store import feedback_repo as frepo
from openses.store import identities_repo as irepo
from openses.store import notifications_repo as nrepo
from openses.store import repositories as repo

TYPES = ("Bounce", "Complaint", "Delivery")
AUTO_REPLY = "AutoReply"  # the mailbox simulator's out-of-office answer (a forwarding row's kind)
FORWARDED = ("Bounce", "Complaint")  # SES: "Feedback forwarding does not apply to delivery notifications."
# The message tag every feedback mail carries: feedback about a feedback mail is never forwarded.
FEEDBACK_TAG = "openses:feedback-forwarding"
# The system account's own mail (verification links, feedback mails: core/verification.py and
# core/feedback_forwarding.py send as these users) is SES's mail, not a customer's: no feedback.
SYSTEM_CALLERS = ("openses-verification", "openses-feedback")
SUCCESS = "SUCCESS"


def check_type(kind: str) -> str:
    if kind not in TYPES:
        raise InvalidParameterValue(f"Invalid notification type {kind}; it must be Bounce, Complaint or Delivery.")
    return kind


@dataclass(frozen=True)
class NotificationSettings:
    """What one identity says about its notifications (SES's IdentityNotificationAttributes)."""

    topics: dict[str, str] = field(default_factory=dict)  # notification type → topic ARN
    headers: frozenset[str] = frozenset()  # types whose notifications carry the original headers
    forwarding: bool = True  # email feedback forwarding: on by default, as in SES

    @classmethod
    def from_attributes(cls, attributes: dict[str, Any]) -> NotificationSettings:
        saved = attributes.get("notifications") or {}
        return cls(dict(saved.get("topics") or {}), frozenset(saved.get("headers") or ()),
                   bool(attributes.get("feedback", True)))

    def as_attributes(self) -> dict[str, Any]:
        """The identity attributes that hold these settings."""
        return {"notifications": {"topics": dict(self.topics), "headers": sorted(self.headers)},
                "feedback": self.forwarding}

    def with_topic(self, kind: str, arn: str | None) -> NotificationSettings:
        chosen = {k: v for k, v in self.topics.items() if k != kind}
        if arn:
            chosen[kind] = arn
        changed = replace(self, topics=chosen)
        # Forwarding may be off only while both feedback topics are set; clearing one of them
        # turns forwarding back on rather than leaving bounces or complaints unreported.
        if not changed.forwarding and not changed.feedback_topics_set:
            changed = replace(changed, forwarding=True)
        return changed

    def with_headers(self, kind: str, enabled: bool) -> NotificationSettings:
        return replace(self, headers=self.headers | {kind} if enabled else self.headers - {kind})

    def with_forwarding(self, enabled: bool, *, strict: bool = True) -> NotificationSettings:
        """SES v1 refuses to turn forwarding off unless both feedback topics are set (`strict`);
        SES v2 accepts it, and still mails feedback that nothing else reports (see should_forward)."""
        if strict and not enabled and not self.feedback_topics_set:
            raise InvalidParameterValue(
                "Feedback forwarding can only be disabled when Amazon SNS topics are set for both Bounce "
                "and Complaint notification types.")
        return replace(self, forwarding=enabled)

    @property
    def feedback_topics_set(self) -> bool:
        return all(self.topics.get(k) for k in FORWARDED)

    def as_v1(self) -> dict[str, Any]:
        out: dict[str, Any] = {f"{k}Topic": self.topics[k] for k in TYPES if self.topics.get(k)}
        out["ForwardingEnabled"] = self.forwarding
        for kind in TYPES:
            out[f"HeadersIn{kind}NotificationsEnabled"] = kind in self.headers
        return out


# --- which identity a message was sent with -----------------------------------------------------


def candidate_keys(address: str) -> list[str]:
    """SES: an address identity's settings win; else its domain's, then each parent domain's."""
    labels = address.rpartition("@")[2].lower().split(".")
    return [identity_key(address)] + [".".join(labels[i:]) for i in range(len(labels) - 1)]


def sender_address(mail: dict[str, Any]) -> str:
    """The From address of a message (the identity it was sent with), else its Source."""
    for value in mail.get("commonHeaders", {}).get("from") or []:
        try:
            return parse_mailbox(value).address
        except InvalidParameterValue:
            continue
    return str(mail.get("source", ""))


def sending_settings(conn: Connection, account_id: str, address: str) -> NotificationSettings:
    """The settings of the verified identity that covers `address` (defaults when none does)."""
    for key in candidate_keys(address):
        row = irepo.get_identity(conn, account_id, key)
        if row is not None and row["status"] == SUCCESS:
            return NotificationSettings.from_attributes(dict(row.get("attributes") or {}))
    return NotificationSettings()


# --- the notification JSON ----------------------------------------------------------------------


def header_list(raw: bytes) -> list[dict[str, str]]:
    """The message's header fields in order, unfolded (RFC 5322 §2.2.3), values as sent."""
    from openses.core.mime import split_raw

    out = []
    for _, field_bytes in split_raw(raw).fields:
        name, _, value = field_bytes.decode("utf-8", "replace").partition(":")
        out.append({"name": name, "value": " ".join(value.split())})
    return out


def notification(payload: dict[str, Any], headers: list[dict[str, str]] | None, *,
                 common: bool = False) -> dict[str, Any]:
    """SES's notification JSON for an event payload. Without headers the mail object has neither
    headersTruncated, headers nor commonHeaders (SES's documented shape) unless `common` (the
    forwarded mail quotes the subject); tags are an event publishing field and never appear."""
    kind = payload["eventType"]
    key = kind[0].lower() + kind[1:]
    mail = {k: v for k, v in payload["mail"].items()
            if k not in ("tags", "headersTruncated", "headers", "commonHeaders")}
    caller = (payload["mail"].get("tags") or {}).get("ses:caller-identity") or []
    if caller:
        mail["callerIdentity"] = caller[0]
    if headers is not None:
        mail.update(headersTruncated=False, headers=headers,
                    commonHeaders=payload["mail"].get("commonHeaders", {}))
    elif common:
        mail["commonHeaders"] = payload["mail"].get("commonHeaders", {})
    return {"notificationType": kind, "mail": mail, key: payload.get(key, {})}


def is_feedback_mail(payload: dict[str, Any]) -> bool:
    tags = (payload.get("mail") or {}).get("tags") or {}
    return FEEDBACK_TAG in tags or any(c in SYSTEM_CALLERS for c in tags.get("ses:caller-identity") or [])


# --- the events processor's step ----------------------------------------------------------------


@dataclass
class _Batch:
    """What one pass of the processor adds: outbox rows and forwarding rows."""

    outbox: list[dict[str, Any]] = field(default_factory=list)
    forwards: list[dict[str, Any]] = field(default_factory=list)
    settings: dict[tuple[str, str], NotificationSettings] = field(default_factory=dict)
    subscriptions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def publish(conn: Connection, events: Iterable[dict[str, Any]], public_url: str, now: float) -> int:
    """Notifications and feedback mails for a batch of events; how many outbox rows were made."""
    batch = _Batch()
    for event in events:
        if event["event_type"] in TYPES and not is_feedback_mail(event["payload"]):
            _one(conn, batch, event, public_url, now)
    frepo.insert_outbox(conn, batch.outbox)
    nrepo.insert_forwards(conn, batch.forwards)
    return len(batch.outbox)


def _one(conn: Connection, batch: _Batch, event: dict[str, Any], public_url: str, now: float) -> None:
    payload, kind = event["payload"], event["event_type"]
    address = sender_address(payload["mail"])
    cache_key = (event["account_id"], address)
    if cache_key not in batch.settings:
        batch.settings[cache_key] = sending_settings(conn, event["account_id"], address)
    settings = batch.settings[cache_key]
    arn = settings.topics.get(kind)
    if arn:
        body = notification(payload, _headers(conn, event) if kind in settings.headers else None)
        for sub in _subscriptions(conn, batch, arn):
            text = topics.notification_body(sub, body, public_url, now)
            batch.outbox.append(topics.outbox_row(sub["id"], "Notification", text, now, event["id"]))
    if kind in FORWARDED and should_forward(conn, event, settings):
        batch.forwards.append(forward_row(event, notification(payload, None, common=True), now))
    if kind == "Delivery" and simulator.out_of_office(payload.get("delivery", {}).get("recipients") or []):
        # the mailbox simulator's ooto@ answers like a person away: an auto-reply to the sender
        batch.forwards.append(forward_row(event, notification(payload, None, common=True), now, kind=AUTO_REPLY))


def _headers(conn: Connection, event: dict[str, Any]) -> list[dict[str, str]]:
    message = repo.get_message(conn, event["message_id"], event["account_id"]) if event["message_id"] else None
    return header_list(bytes(message["raw"])) if message else []


def _subscriptions(conn: Connection, batch: _Batch, arn: str) -> list[dict[str, Any]]:
    if arn not in batch.subscriptions:
        batch.subscriptions[arn] = frepo.list_subscriptions(conn, [arn], confirmed_only=True)
    return batch.subscriptions[arn]


def should_forward(conn: Connection, event: dict[str, Any], settings: NotificationSettings) -> bool:
    """Forwarding on, or nothing else reports this feedback: SES mails it "even if you disabled
    email feedback forwarding" when no topic and no event destination of the message's
    configuration set covers the event type."""
    if settings.forwarding:
        return True
    if settings.topics.get(event["event_type"]):
        return False
    return not _destination_covers(conn, event)


def _destination_covers(conn: Connection, event: dict[str, Any]) -> bool:
    names = (event["payload"]["mail"].get("tags") or {}).get("ses:configuration-set") or []
    if not names:
        return False
    wanted = EVENT_TYPES[event["event_type"]]
    return any(wanted in d["event_types"] for d in frepo.destinations_of(conn, [(event["account_id"], names[0])]))


def forward_row(event: dict[str, Any], body: dict[str, Any], now: float, *, kind: str | None = None) -> dict[str, Any]:
    """A feedback mail to send: to the message's Return-Path if it had one, else its Source —
    both are the mail object's `source` (the envelope sender SES used)."""
    return {"event_id": event["id"], "account_id": event["account_id"], "kind": kind or event["event_type"],
            "recipient": body["mail"]["source"], "notification": body, "status": "pending", "attempts": 0,
            "next_attempt_at": now, "lease_expires_at": None, "message_id": None, "error": None,
            "created_at": now, "finished_at": None}
