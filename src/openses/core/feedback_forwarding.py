"""Email feedback forwarding: bounce and complaint notifications mailed to the sender.

SES mails bounces and complaints to the original message's Return-Path (else its Source) unless
the sending identity turned forwarding off. The events processor freezes one row per feedback
event in `feedback_forwards` (core/identity_notifications.py); this forwarder sends each row
through the real send pipeline as the server's system account, exactly as verification mail is
sent (core/verification.py), so the delivery mode decides what happens to it (captured in
capture mode). Every feedback mail carries the FEEDBACK_TAG message tag: feedback about a
feedback mail is never forwarded, so a Return-Path that bounces cannot start a loop.

A row is sent at least once: if the process dies between the send and the write that marks the
row sent, its lease expires and it is sent again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from openses.core import mime, simulator
from openses.core.accounts import UNLIMITED, AccountService, Principal
from openses.core.identities import SUCCESS, IdentityService
from openses.core.identity_notifications import AUTO_REPLY, FEEDBACK_TAG
from openses.core.policy import parse_policy
from openses.core.sending import SendingService, SendOptions
from openses.core.verification import SYSTEM_ACCOUNT
from openses.errors import SESError
from openses.store import notifications_repo as nrepo
from openses.store.store import Store

log = logging.getLogger("openses.events")
MAX_ATTEMPTS = 8


OOTO_SENDER = f"ooto@{simulator.DOMAIN}"


def sender_of(kind: str, domain: str) -> str:
    """SES mails bounces as MAILER-DAEMON and complaints from a complaints address; the mailbox
    simulator's auto-reply comes from the simulator address itself."""
    if kind == AUTO_REPLY:
        return OOTO_SENDER
    return f"MAILER-DAEMON@{domain}" if kind == "Bounce" else f"complaints@{domain}"


def _original(mail: dict[str, Any]) -> str:
    common = mail.get("commonHeaders") or {}
    lines = [f"  Message ID: {mail.get('messageId', '')}", f"  Sent at: {mail.get('timestamp', '')}",
             f"  Source: {mail.get('source', '')}"]
    if common.get("subject") is not None:
        lines.append(f"  Subject: {common['subject']}")
    return "\n".join(lines)


def bounce_text(body: dict[str, Any]) -> str:
    bounce = body["bounce"]
    lines = ["Your message could not be delivered to the following recipients:", ""]
    for r in bounce.get("bouncedRecipients", []):
        lines.append(f"  {r.get('emailAddress', '')}")
        lines += [f"    {label}: {r[key]}" for label, key in (("Action", "action"), ("Status", "status"),
                                                              ("Diagnostic-Code", "diagnosticCode")) if r.get(key)]
    lines += ["", f"Bounce type: {bounce.get('bounceType')} ({bounce.get('bounceSubType')})",
              f"Reporting MTA: {bounce.get('reportingMTA', '')}", f"Feedback ID: {bounce.get('feedbackId', '')}",
              "", "Original message:", _original(body["mail"])]
    return "\n".join(lines) + "\n"


def complaint_text(body: dict[str, Any]) -> str:
    complaint = body["complaint"]
    lines = ["A recipient of your message reported it as unwanted:", ""]
    lines += [f"  {r.get('emailAddress', '')}" for r in complaint.get("complainedRecipients", [])]
    lines += ["", f"Feedback type: {complaint.get('complaintFeedbackType') or 'not given'}",
              f"Feedback ID: {complaint.get('feedbackId', '')}", "", "Original message:", _original(body["mail"])]
    return "\n".join(lines) + "\n"


def ooto_text(body: dict[str, Any]) -> str:
    return ("I am out of the office and will answer your message when I return.\n\n"
            "(An automatic reply from the Amazon SES mailbox simulator, as openses plays it.)\n\n"
            f"Original message:\n{_original(body['mail'])}\n")


def feedback_mail(kind: str, body: dict[str, Any]) -> mime.SimpleContent:
    """The mail for one frozen notification. RFC 3834 §5: an automatic message says so, so that
    responders do not answer it."""
    auto = (("Auto-Submitted", "auto-replied"),)
    subject = (body["mail"].get("commonHeaders") or {}).get("subject")
    if kind == AUTO_REPLY:
        return mime.SimpleContent(subject=f"Out of the office{': ' + subject if subject else ''}",
                                  text=ooto_text(body), headers=auto)
    if kind == "Bounce":
        return mime.SimpleContent(subject="Delivery Status Notification (Failure)", text=bounce_text(body),
                                  headers=auto)
    return mime.SimpleContent(subject=f"Complaint about your message{': ' + subject if subject else ''}",
                              text=complaint_text(body), headers=auto)


def backoff(attempts: int) -> float:
    return min(900.0, 5.0 * 2 ** max(0, attempts))


class FeedbackForwarder:
    def __init__(self, store: Store, sending: SendingService, accounts: AccountService, *, sender_domain: str,
                 lease_seconds: float = 120.0, batch: int = 50, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._sending = sending
        self._accounts = accounts
        self._domain = sender_domain
        self._lease = lease_seconds
        self._batch = batch
        self._clock = clock
        self._principal: Principal | None = None

    async def send_due(self) -> int:
        """Send every due row once; how many were tried."""
        now = self._clock()
        rows = await self._store.write(lambda c: nrepo.claim_forwards(c, now, self._lease, self._batch))
        for row in rows:
            await self._send(row)
        return len(rows)

    async def _send(self, row: dict[str, Any]) -> None:
        kind, body = row["kind"], row["notification"]
        try:
            message_id = await self._sending.send_simple(
                await self._system_principal(), from_address=sender_of(kind, self._domain), to=[row["recipient"]],
                cc=[], bcc=[], reply_to=[], content=feedback_mail(kind, body), return_path=None,
                options=SendOptions(action="ses:SendEmail", api_version="2", tags=((FEEDBACK_TAG, kind),)))
        except Exception as e:  # noqa: BLE001 - recorded on the row; the loop must go on
            await self._failed(row, e)
            return
        now = self._clock()
        await self._store.write(lambda c: nrepo.finish_forward(c, row["id"], at=now, status="sent",
                                                              message_id=message_id))

    async def _failed(self, row: dict[str, Any], error: Exception) -> None:
        """A refusal by the pipeline (a 4xx SES error: a bad address, say) is final; anything
        else is tried again later, up to MAX_ATTEMPTS times."""
        now, text = self._clock(), f"{type(error).__name__}: {error}"
        final = (isinstance(error, SESError) and error.status < 500) or row["attempts"] + 1 >= MAX_ATTEMPTS
        log.info("feedback forward %s to %s failed (%s)%s", row["id"], row["recipient"], text,
                 "; giving up" if final else "")
        if final:
            await self._store.write(lambda c: nrepo.finish_forward(c, row["id"], at=now, status="failed", error=text))
        else:
            later = now + backoff(row["attempts"])
            await self._store.write(lambda c: nrepo.retry_forward(c, row["id"], next_attempt_at=later, error=text))

    async def _system_principal(self) -> Principal:
        if self._principal is None:
            account_id = await asyncio.to_thread(self._system_account_id)
            self._principal = Principal("openses-system", account_id, "openses-feedback", "", parse_policy(None))
        return self._principal

    def _system_account_id(self) -> str:
        """The system account (shared with verification mail), its sender domain verified."""
        account = self._accounts.find(SYSTEM_ACCOUNT)
        if account is None:
            try:
                account = self._accounts.create_account(SYSTEM_ACCOUNT, production=True, quota=UNLIMITED)
            except Exception:  # another node (or the verifier) created it at the same moment
                account = self._accounts.find(SYSTEM_ACCOUNT)
                if account is None:
                    raise
        identities = IdentityService(self._store)
        identities.set_status_sync(account.id, self._domain, SUCCESS)
        identities.set_status_sync(account.id, simulator.DOMAIN, SUCCESS)  # ooto@'s auto-replies
        return account.id


def start_forwarder(store: Store, sending: SendingService, accounts: AccountService, *, sender_domain: str,
                    interval: float) -> asyncio.Task[None]:
    """The forwarder's background loop (runtime.py starts it with the worker role)."""
    from openses.core.outbox import run_loop

    forwarder = FeedbackForwarder(store, sending, accounts, sender_domain=sender_domain)
    return asyncio.create_task(run_loop(forwarder.send_due, interval, "feedback-forwarding"),
                               name="feedback-forwarding")
