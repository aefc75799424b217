"""openses topics: SNS-style topics with HTTP, HTTPS and webhook subscriptions.

An SNS event destination names a topic by ARN (arn:aws:sns:<region>:<account>:<name>), as in
SES; openses holds the topic itself. http/https subscriptions follow SNS: they start
PendingConfirmation, get a SubscriptionConfirmation message whose SubscribeURL confirms them, then
receive Notification envelopes. A `webhook` subscription is confirmed at once and receives the
bare event JSON. Every POST carries an HMAC-SHA256 signature header with a timestamp.

Targets on private, loopback or link-local addresses are refused unless the operator allows them
(OPENSES_WEBHOOK_ALLOW_PRIVATE), at subscription time and again before every POST.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
import socket
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import orjson
from sqlalchemy.engine import Connection

from openses.core.events import iso
from openses.errors import InvalidParameterValue, NotFound
from openses.store import feedback_repo as frepo

PROTOCOLS = ("http", "https", "webhook")
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


def create_topic(conn: Connection, region: str, account_id: str, name: str) -> str:
    if not _TOPIC_NAME.match(name):
        raise InvalidParameterValue("Topic names are 1 to 256 ASCII letters, numbers, underscores and dashes.")
    arn = topic_arn(region, account_id, name)
    if frepo.get_topic(conn, arn) is None:
        frepo.insert_topic(conn, {"arn": arn, "account_id": account_id, "name": name, "created_at": time.time()})
    return arn


def subscribe(conn: Connection, arn: str, protocol: str, endpoint: str, *, raw: bool, public_url: str,
              allow_private: bool) -> Subscription:
    """Add a subscription; http(s) ones are sent a SubscriptionConfirmation through the outbox."""
    if frepo.get_topic(conn, arn) is None:
        raise NotFound(f"Topic does not exist: {arn}")
    if protocol not in PROTOCOLS or (protocol != "webhook" and not endpoint.startswith(f"{protocol}://")):
        raise InvalidParameterValue(f"Invalid protocol {protocol!r} for endpoint {endpoint}.")
    check_target(endpoint, allow_private=allow_private)
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


def notification_body(sub: dict[str, Any], payload: dict[str, Any], public_url: str, now: float) -> str:
    """The event as the subscription receives it: bare JSON (raw) or in SNS's envelope."""
    message = orjson.dumps(payload).decode()
    if sub["raw"]:
        return message
    arn = sub["topic_arn"]
    return orjson.dumps({
        "Type": "Notification", "MessageId": str(uuid.uuid4()), "TopicArn": arn, "Message": message,
        "Timestamp": iso(now),
        "UnsubscribeURL": f"{public_url}/sns/unsubscribe?SubscriptionArn={quote(arn + ':' + sub['id'], safe='')}",
    }).decode()
