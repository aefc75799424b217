"""Putting messages straight into the queue (message, entries per domain, Send event), as the
send pipeline does, for delivery tests that do not need the API."""

from __future__ import annotations

import time
import uuid

from openses.core.events import MailInfo, send_event
from openses.store import repositories as repo
from openses.store.store import Store


def raw_message(sender: str, to: list[str], subject: str = "Hello", body: str = "Hi there.\r\n",
                message_id: str | None = None) -> bytes:
    mid = message_id or f"{uuid.uuid4()}@email.openses.local"
    return (f"From: Sender <{sender}>\r\nTo: {', '.join(to)}\r\nSubject: {subject}\r\n"
            f"Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <{mid}>\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: text/plain; charset=UTF-8\r\n\r\n{body}").encode()


def queue_message(store: Store, *, sender: str, recipients: list[str], account_id: str = "111122223333",
                  now: float | None = None, raw: bytes | None = None, deliver_by: float | None = None,
                  require_tls: bool | None = None) -> str:
    now = time.time() if now is None else now
    message_id = f"0100{int(now * 1000):012x}-{uuid.uuid4()}-000000"
    raw = raw or raw_message(sender, recipients, message_id=f"{message_id}@email.openses.local")
    mail = MailInfo(message_id, account_id, now, sender, f"arn:aws:ses:us-east-1:{account_id}:identity/{sender}",
                    tuple(recipients), f"Sender <{sender}>", tuple(recipients), "Hello", {})
    domains: dict[str, list[str]] = {}
    for r in recipients:
        domains.setdefault(r.rpartition("@")[2].lower(), []).append(r)
    message = {"id": message_id, "account_id": account_id, "source": sender, "from_header": mail.from_header,
               "subject": "Hello", "recipients": recipients, "raw": raw, "size": len(raw), "channel": "api",
               "configuration_set": None, "tags": {}, "status": "queued", "created_at": now}
    entries = [{"message_id": message_id, "account_id": account_id, "domain": d, "recipients": rs, "attempts": 0,
                "next_attempt_at": now, "lease_owner": None, "lease_expires_at": None, "created_at": now,
                "deliver_by": deliver_by, "require_tls": require_tls}
               for d, rs in domains.items()]
    store.write_sync(lambda c: repo.insert_accepted(c, [message], entries, [send_event(mail)], {}))
    return message_id


def events(store: Store, message_id: str) -> list[dict]:
    return [e["payload"] for e in store.read_sync(lambda c: repo.message_events(c, message_id))]


def of_type(store: Store, message_id: str, event_type: str) -> list[dict]:
    key = event_type[0].lower() + event_type[1:]
    return [e[key] for e in events(store, message_id) if e["eventType"] == event_type]
