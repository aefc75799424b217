"""What a report received by the bounce domain's MX becomes: Bounce and Complaint events on the
original message, recorded like the delivery worker's (so they feed suppression, reputation,
statistics and event destinations through the feedback processor), and a row that keeps the
report and its outcome, all in one transaction before the MX answers 250.

Matching: a DSN is addressed to the per-message envelope sender, `<MessageId>@<bounce domain>`
(delivery/prepare.py), or on the sending identity's verified custom MAIL FROM domain; a complaint names the original through its Return-Path, the ARF
Original-Mail-From, or the Message-ID `<MessageId>@<message_id_domain>`. Only the message's own
recipients can be reported: a report naming another address cannot suppress it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from openses.config import Settings
from openses.core import events as ev
from openses.core.outbox import run_loop
from openses.delivery import bounce
from openses.delivery.outcome import Verdict
from openses.delivery.prepare import message_id_of
from openses.delivery.recorder import feedback_id
from openses.inbound.fields import untyped
from openses.inbound.reports import BounceReport, ComplaintReport, Received, RecipientStatus
from openses.store import inbound_repo as irepo
from openses.store import repositories as repo
from openses.store.store import Store

if TYPE_CHECKING:
    from openses.smtp.server import SmtpServer

log = logging.getLogger("openses.inbound")
_LEADING_REPLY = re.compile(r"^([245])\d\d[ -]+(?:[245]\.\d{1,3}\.\d{1,3}\s*)?")
Mail = tuple[float, dict[str, Any]]  # (accepted at, SES mail object) from the Send event


class InboundFeedback:
    def __init__(self, store: Store, *, bounce_domain: str, message_id_domain: str,
                 clock: Callable[[], float] = time.time,
                 mail_from_domains: Callable[[], frozenset[str]] = frozenset) -> None:
        self._store = store
        self._bounce_domain = bounce_domain
        self._mail_from_domains = mail_from_domains
        self._message_id_domain = message_id_domain
        self._clock = clock

    async def record(self, received: Received) -> str:
        """Store the report and its events durably; returns the outcome (recorded, unmatched,
        ignored or unparsable)."""
        now = self._clock()
        outcome, message_id = await self._store.write(lambda c: self.record_in(c, received, now))
        level = logging.INFO if outcome == "recorded" else logging.WARNING
        log.log(level, "inbound report from %s to %s: %s (message %s)", received.peer,
                ",".join(received.rcpt_tos), outcome, message_id or "unknown")
        return outcome

    def record_in(self, conn: Connection, received: Received, now: float) -> tuple[str, str | None]:
        report = received.report
        found = self._match(conn, received) if report is not None else None
        rows = events_for(report, found[1], now) if report is not None and found else []
        outcome = "unparsable" if report is None else "unmatched" if not found else \
            "recorded" if rows else "ignored"
        message_id = found[0] if found else None
        repo.insert_events(conn, rows)
        irepo.insert_report(conn, {
            "received_at": now, "peer": received.peer[:64], "mail_from": received.mail_from[:320],
            "rcpt_to": list(received.rcpt_tos), "kind": _kind(report), "outcome": outcome,
            "account_id": found[1][1]["sendingAccountId"] if found else None, "message_id": message_id,
            "events": len(rows), "raw": received.data})
        return outcome, message_id

    def _match(self, conn: Connection, received: Received) -> tuple[str, Mail] | None:
        for message_id in self._candidates(received):
            mail = repo.send_mail_objects(conn, [message_id]).get(message_id)
            if mail is not None:
                return message_id, mail
        return None

    def _candidates(self, received: Received) -> Iterable[str]:
        report = received.report
        assert report is not None
        senders = [report.original.return_path]
        if isinstance(report, ComplaintReport):
            senders.append(report.original_mail_from)
        else:
            senders = list(received.rcpt_tos) + senders  # a DSN goes to the envelope sender
        for address in senders:
            if address and (mid := self._envelope_message_id(address)):
                yield mid
        header = report.original.message_id
        if header and (mid := message_id_of(header.strip().strip("<>"), self._message_id_domain)):
            yield mid


    def _envelope_message_id(self, address: str) -> str | None:
        """The MessageId of an envelope sender on the bounce domain or a custom MAIL FROM domain."""
        domain = address.strip().strip("<>").rpartition("@")[2].rstrip(".").lower()
        return message_id_of(address, domain) if domain in self._mail_from_domains() else \
            message_id_of(address, self._bounce_domain)


def _kind(report: BounceReport | ComplaintReport | None) -> str:
    return "none" if report is None else "complaint" if isinstance(report, ComplaintReport) else "bounce"


def events_for(report: BounceReport | ComplaintReport, mail: Mail, now: float) -> list[dict[str, Any]]:
    if isinstance(report, ComplaintReport):
        return complaint_events(report, mail[1], now)
    return bounce_events(report, mail[1], now)


def complaint_events(report: ComplaintReport, mail: dict[str, Any], now: float) -> list[dict[str, Any]]:
    """SES's Complaint: the reported recipients that the message was sent to; when the report
    names none of them, every recipient of the message (SES: "may have been responsible")."""
    destination = list(mail.get("destination", []))
    named = _ours(report.recipients, destination) or _ours(report.original.to, destination)
    recipients = named or destination
    if not recipients:
        return []
    return [ev.complaint_event(mail, recipients, at=now, feedback_id=feedback_id(now),
                               feedback_type=report.feedback_type, user_agent=report.user_agent,
                               arrival=report.arrival)]


def bounce_events(report: BounceReport, mail: dict[str, Any], now: float) -> list[dict[str, Any]]:
    """SES's Bounce events for the failed recipients, one per (bounceType, bounceSubType)."""
    destination = list(mail.get("destination", []))
    failed = _attributed(report.failed, destination)
    groups: dict[tuple[str, str], list[RecipientStatus]] = {}
    for address, status in failed:
        groups.setdefault(classify(status), []).append(dataclasses.replace(status, address=address))
    reporting = report.reporting_mta or "unknown"
    rows = []
    for (kind, sub), statuses in groups.items():
        row = ev.bounce_event(mail, [_bounced(s) for s in statuses], at=now, bounce_type=kind,
                              bounce_sub_type=sub, feedback_id=feedback_id(now), reporting_mta=reporting)
        ip = next((s.remote_mta_ip for s in statuses if s.remote_mta_ip), None)
        if ip:
            row["payload"]["bounce"]["remoteMtaIp"] = ip  # SES: the receiving MTA's address
        rows.append(row)
    return rows


def _ours(addresses: Iterable[str], destination: list[str]) -> list[str]:
    """The addresses among the message's recipients, spelled as the message had them."""
    by_key = {d.lower(): d for d in destination}
    return list(dict.fromkeys(by_key[a.lower()] for a in addresses if a.lower() in by_key))


def _attributed(failed: tuple[RecipientStatus, ...], destination: list[str]) -> list[tuple[str, RecipientStatus]]:
    """Failed recipients that are the message's own; a lone failure of a one-recipient message
    is that recipient's even under another name (a forward or an alias rewrote it)."""
    by_key = {d.lower(): d for d in destination}
    ours = [(by_key[s.address.lower()], s) for s in failed if s.address.lower() in by_key]
    if not ours and len(failed) == 1 and len(destination) == 1:
        return [(destination[0], failed[0])]
    return list({a: (a, s) for a, s in ours}.values())


def classify(status: RecipientStatus) -> tuple[str, str]:
    """(bounceType, bounceSubType) of a failed recipient, by delivery/bounce.py's rules applied to
    its reply; a failure with a 4.x.x status (given up after retrying) is Transient."""
    c = bounce.classify(reply_of(status))
    if c.verdict is Verdict.PERMANENT:
        return c.bounce_type or "Permanent", c.bounce_sub_type or "General"
    expired = bounce.exhausted(c.delay_type)
    return expired.bounce_type or "Transient", expired.bounce_sub_type or "General"


def reply_of(status: RecipientStatus) -> str:
    """An SMTP reply carrying the recipient's Status, with the remote server's words after it."""
    text = untyped(status.diagnostic_code) or ""
    m = _LEADING_REPLY.match(text)
    words = text[m.end():] if m else text
    code = m.group(0)[:3] if m and m.group(1) == status.status[0] else f"{status.status[0]}50"
    return f"{code} {status.status} {words}".strip()


def _bounced(status: RecipientStatus) -> dict[str, str]:
    out = {"emailAddress": status.address, "action": "failed", "status": status.status}
    if status.diagnostic_code:
        out["diagnosticCode"] = status.diagnostic_code
    return out


class MailFromDomains:
    """The verified custom MAIL FROM domains, read again periodically in the
    background, so the listener's RCPT decision never waits for the database."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.current: frozenset[str] = frozenset()

    def __call__(self) -> frozenset[str]:
        return self.current

    async def refresh(self) -> None:
        self.current = await self._store.read(irepo.custom_mail_from_domains)


async def start_inbound(settings: Settings, store: Store) -> tuple[SmtpServer, asyncio.Task[None]]:
    """Build and start the inbound MX from the settings (runtime.py, role inbound); the task
    keeps its list of custom MAIL FROM domains fresh."""
    from openses.inbound.server import FeedbackReceiver, inbound_server
    from openses.smtp.tls import load_or_create_certificate

    bounce_domain = settings.bounce_domain or settings.message_id_domain
    domains = MailFromDomains(store)
    await domains.refresh()
    sink = InboundFeedback(store, bounce_domain=bounce_domain, message_id_domain=settings.message_id_domain,
                           mail_from_domains=domains)
    context, _ = load_or_create_certificate(settings.data_dir, settings.smtp_hostname, settings.tls_cert_file,
                                            settings.tls_key_file)
    receiver = FeedbackReceiver(sink, bounce_domain=bounce_domain, mail_from_domains=domains)
    server = inbound_server(receiver, host=settings.inbound_host,
                            port=settings.inbound_port, ssl_context=context, hostname=settings.smtp_hostname,
                            max_message_size=settings.inbound_max_message_size)
    await server.start()
    log.info("inbound MX for %s listening on %s:%s", bounce_domain, settings.inbound_host, settings.inbound_port)
    # At most 30 s behind the verifier: a newly verified domain's DSNs must not meet a 550 for long.
    # A failed read keeps the last known set (run_loop logs it and tries again at the next pass).
    refresher = run_loop(domains.refresh, min(settings.dns_check_interval, 30.0), "inbound-mail-from-domains")
    return server, asyncio.create_task(refresher, name="inbound-mail-from-domains")
