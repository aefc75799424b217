"""openses topics: SNS-style topics with HTTP, HTTPS and webhook subscriptions.

An SNS event destination names a topic by ARN (arn:aws:sns:<region>:<account>:<name>), as in
SES; openses holds the topic itself. http/https subscriptions follow SNS: they start
PendingConfirmation, get a SubscriptionConfirmation message whose SubscribeURL confirms them, then
receive Notification envelopes. A `webhook` subscription is confirmed at once and receives the
bare event JSON. Every POST carries an HMAC-SHA256 signature header with a timestamp.

Targets on private, loopback or link-local addresses are refused unless the operator allows them
(OPENSES_WEBHOOK_ALLOW_PRIVATE), at subscription time and again before every POST. The outbox signs
SNS envelopes as SNS does (core/sns_signing.py); a topic's attributes and tags live in
core/topic_attributes.py. Errors are worded as the SNS API words them (api/sns.py serves it).
"""

from __future__ import annotations

import ipaddress
import re
import secrets
import socket
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import orjson
from sqlalchemy.engine import Connection

from openses.core.events import iso
from openses.core import topic_attributes
from openses.errors import InvalidParameterValue, NotFound
from openses.store import feedback_repo as frepo
from openses.store import sns_repo

PROTOCOLS = ("http", "https", "webhook")
MAX_MESSAGE_BYTES = 262144  # SNS: a message is at most 256 KiB
_TOPIC_NAME = re.compile(r"[A-Za-z0-9_-]{1,256}\Z")


class UnsafeTarget(Exception):
    """A subscription endpoint this server must not call."""


def topic_arn(region: str, account_id: str, name: str) -> str:
    return f"arn:aws:sns:{region}:{account_id}:{name}"


def check_target(url: str, *, allow_private: bool) -> None:
    """Refuse URLs that are not http(s), and hosts that resolve to non-public addresses."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeTarget(f"not an http(s) URL: {url}")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except OSError as e:
        raise UnsafeTarget(f"cannot resolve {parts.hostname}: {e}") from None
    for info in infos:
        ip = ipaddress.ip_address(info[4][0])
        if not ip.is_global or ip.is_multicast:
            raise UnsafeTarget(f"{parts.hostname} resolves to the non-public address {ip}; set "
                               "OPENSES_WEBHOOK_ALLOW_PRIVATE=1 to allow it")


@dataclass(frozen=True)
class Subscription:
    arn: str
    id: str
    topic_arn: str
    protocol: str
    endpoint: str
    raw: bool
    secret: str
    status: str

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Subscription:
        return cls(f"{row['topic_arn']}:{row['id']}", row["id"], row["topic_arn"], row["protocol"],
                   row["endpoint"], row["raw"], row["secret"], row["status"])


def create_topic(conn: Connection, region: str, account_id: str, name: str,
                 attributes: dict[str, str] | None = None, tags: dict[str, str] | None = None) -> str:
    """The topic's ARN, creating it unless it exists (with the same attributes and tags, as SNS)."""
    if not _TOPIC_NAME.match(name):
        raise InvalidParameterValue("Invalid parameter: Topic Name (1 to 256 ASCII letters, numbers, "
                                    "underscores and dashes; openses has no FIFO topics)")
    attributes = topic_attributes.checked(attributes or {})
    arn = topic_arn(region, account_id, name)
    now = time.time()
    if frepo.get_topic(conn, arn) is not None:
        topic_attributes.check_same(conn, arn, attributes, tags)
        return arn
    frepo.insert_topic(conn, {"arn": arn, "account_id": account_id, "name": name, "created_at": now})
    sns_repo.put_topic_attributes(conn, arn, attributes, tags or {}, now)
    return arn


def owned_topic(conn: Connection, arn: str, account_id: str) -> dict[str, Any]:
    """The topic row, if the account owns it: another account's topic does not exist for it."""
    row = frepo.get_topic(conn, arn)
    if row is None or row["account_id"] != account_id:
        raise NotFound("Topic does not exist")
    return row


def delete_topic(conn: Connection, arn: str) -> bool:
    """Delete a topic, its subscriptions and attributes; False when there was none."""
    sns_repo.delete_topic_attributes(conn, arn)
    return frepo.delete_topic(conn, arn) > 0


def delete_owned_topic(conn: Connection, arn: str, account_id: str) -> None:
    """SNS: deleting a topic that does not exist is not an error (another account's is NotFound)."""
    if frepo.get_topic(conn, arn) is not None:
        owned_topic(conn, arn, account_id)
        delete_topic(conn, arn)


def owned_subscription(conn: Connection, sub_arn: str, account_id: str | None) -> Subscription:
    """The subscription named by its ARN (of the account's topics, unless account_id is None)."""
    topic, _, sub_id = sub_arn.rpartition(":")
    row = frepo.get_subscription(conn, sub_id) if sub_id else None
    if row is None or row["topic_arn"] != topic or (
            account_id is not None and (frepo.get_topic(conn, topic) or {}).get("account_id") != account_id):
        raise NotFound("Subscription does not exist")
    return Subscription.from_row(row)


def unsubscribe(conn: Connection, sub: Subscription) -> None:
    frepo.delete_subscription(conn, sub.id)
    sns_repo.count_deleted_subscription(conn, sub.topic_arn, time.time())


def subscribe(conn: Connection, arn: str, protocol: str, endpoint: str, *, raw: bool, public_url: str,
              allow_private: bool) -> Subscription:
    """Add a subscription; http(s) ones are sent a SubscriptionConfirmation through the outbox."""
    if frepo.get_topic(conn, arn) is None:
        raise NotFound(f"Topic does not exist: {arn}")
    if protocol not in PROTOCOLS:
        raise InvalidParameterValue(f"Invalid parameter: Invalid protocol type: {protocol} (openses delivers "
                                    "only http and https subscriptions)")
    if protocol != "webhook" and not endpoint.lower().startswith(f"{protocol}://"):
        raise InvalidParameterValue("Invalid parameter: Endpoint must match the specified protocol")
    check_target(endpoint, allow_private=allow_private)
    for existing in frepo.list_subscriptions(conn, [arn]):
        if (existing["protocol"], existing["endpoint"]) == (protocol, endpoint):
            return Subscription.from_row(existing)  # SNS: subscribing again answers the same subscription
    now = time.time()
    row = {"id": str(uuid.uuid4()), "topic_arn": arn, "protocol": protocol, "endpoint": endpoint,
           "raw": raw or protocol == "webhook", "secret": secrets.token_hex(32), "token": secrets.token_hex(32),
           "status": "Confirmed" if protocol == "webhook" else "PendingConfirmation", "created_at": now}
    frepo.insert_subscription(conn, row)
    if row["status"] != "Confirmed":
        frepo.insert_outbox(conn, [outbox_row(row["id"], "SubscriptionConfirmation",
                                              confirmation_body(row, public_url, now), now)])
    return Subscription.from_row(row)


def confirm(conn: Connection, arn: str, token: str) -> Subscription | None:
    row = frepo.confirm_subscription(conn, arn, token)
    return Subscription.from_row(row) if row else None


def publish(conn: Connection, arn: str, message: Message, public_url: str, now: float) -> int:
    """Queue `message` for every confirmed subscription of the topic; how many."""
    subs = frepo.list_subscriptions(conn, [arn], confirmed_only=True)
    rows = [outbox_row(s["id"], "Notification", message_body(s, message, public_url, now), now) for s in subs]
    frepo.insert_outbox(conn, rows)
    return len(rows)


def outbox_row(subscription_id: str, kind: str, body: str, now: float, event_id: int | None = None) -> dict[str, Any]:
    return {"subscription_id": subscription_id, "kind": kind, "event_id": event_id, "body": body, "attempts": 0,
            "next_attempt_at": now, "lease_expires_at": None, "status": "pending", "created_at": now,
            "finished_at": None}


def confirmation_body(sub: dict[str, Any], public_url: str, now: float) -> str:
    arn = sub["topic_arn"]
    url = f"{public_url}/sns/confirm?TopicArn={quote(arn, safe='')}&Token={sub['token']}"
    return orjson.dumps({
        "Type": "SubscriptionConfirmation", "MessageId": str(uuid.uuid4()), "Token": sub["token"],
        "TopicArn": arn,
        "Message": f"You have chosen to subscribe to the topic {arn}.\nTo confirm the subscription, visit the "
                   "SubscribeURL included in this message.",
        "SubscribeURL": url, "Timestamp": iso(now)}).decode()


@dataclass(frozen=True)
class Message:
    """What Publish sends: the text per protocol (MessageStructure json) and the rest."""

    default: str
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    subject: str | None = None
    per_protocol: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, dict[str, str]] = field(default_factory=dict)  # {name: {Type, Value}}

    def text_for(self, protocol: str) -> str:
        return self.per_protocol.get(protocol, self.default)


def notification_body(sub: dict[str, Any], payload: dict[str, Any], public_url: str, now: float) -> str:
    """The event as the subscription receives it: bare JSON (raw) or in SNS's envelope."""
    return message_body(sub, Message(orjson.dumps(payload).decode()), public_url, now)


def message_body(sub: dict[str, Any], message: Message, public_url: str, now: float) -> str:
    """A message as the subscription receives it: the text itself (raw) or SNS's envelope
    (https://docs.aws.amazon.com/sns/latest/dg/http-notification-json.html); the outbox signs it."""
    text = message.text_for(sub["protocol"])
    if sub["raw"]:
        return text
    arn = sub["topic_arn"]
    envelope: dict[str, Any] = {"Type": "Notification", "MessageId": message.id, "TopicArn": arn}
    if message.subject is not None:
        envelope["Subject"] = message.subject
    envelope.update(Message=text, Timestamp=iso(now), UnsubscribeURL=(
        f"{public_url}/sns/unsubscribe?SubscriptionArn={quote(arn + ':' + sub['id'], safe='')}"))
    if message.attributes:
        envelope["MessageAttributes"] = message.attributes
    return orjson.dumps(envelope).decode()


def message_from(text: str, *, subject: str | None = None, structure: str | None = None,
                 attributes: dict[str, dict[str, str]] | None = None) -> Message:
    """A Publish request's message, checked as SNS checks it."""
    if not text:
        raise InvalidParameterValue("Invalid parameter: Empty message")
    if len(text.encode()) > MAX_MESSAGE_BYTES:
        raise InvalidParameterValue("Invalid parameter: Message too long")
    if subject is not None and (not subject or len(subject) >= 100 or not subject.isascii()
                                or any(c in subject for c in "\r\n")):
        # SNS: ASCII, no line breaks, shorter than 100 characters
        raise InvalidParameterValue("Invalid parameter: Subject")
    per_protocol = _structured(text) if structure == "json" else {}
    if structure not in (None, "json"):
        raise InvalidParameterValue("Invalid parameter: MessageStructure")
    default = per_protocol.pop("default", text)
    return Message(default, subject=subject, per_protocol=per_protocol, attributes=attributes or {})


def _structured(text: str) -> dict[str, str]:
    """MessageStructure=json: a JSON object with a `default` text and optional per-protocol ones."""
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise InvalidParameterValue("Invalid parameter: Message Structure - JSON message body failed to parse") \
            from None
    if not isinstance(data, dict) or not isinstance(data.get("default"), str):
        raise InvalidParameterValue("Invalid parameter: Message Structure - No default entry in JSON message body")
    return {k: v for k, v in data.items() if isinstance(v, str)}
