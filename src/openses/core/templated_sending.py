"""Templated and bulk sends, on top of the pipeline's simple send.

render the template with the TemplateData → (list management: drop unsubscribed recipients, add
the List-Unsubscribe headers) → SendingService.send_simple. SES renders after it accepted the
call, so a template that cannot be rendered with the data still gets a MessageId: the message
is not delivered and a Rendering Failure event says why.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from openses.core import ids, templates
from openses.core.accounts import Principal
from openses.core.addresses import parse_mailbox
from openses.core.contacts import ContactService, Link
from openses.core.email_templates import EmailTemplate, decode_data, render
from openses.core.events import MailInfo
from openses.core.mime import Attachment, SimpleContent
from openses.core.sending import SendingService, SendOptions
from openses.errors import (
    AccountSendingPausedException,
    ConfigurationSetDoesNotExist,
    ConfigurationSetSendingPausedException,
    InvalidParameterValue,
    InvalidRenderingParameter,
    MailFromDomainNotVerifiedException,
    MessageRejected,
    SendingPausedByOperator,
    SESError,
    TemplateDoesNotExist,
    Throttling,
    ValidationError,
)
from openses.store import repositories
from openses.store.store import Store

MAX_BULK_DESTINATIONS = 50
ONE_CLICK = "List-Unsubscribe=One-Click"  # RFC 8058 §3.1
UNSUBSCRIBE_URL_KEY = "amazonSESUnsubscribeUrl"  # the placeholder SES fills in list mail


@dataclass(frozen=True)
class ListManagement:
    list_name: str
    topic: str | None = None


@dataclass(frozen=True)
class TemplatedMessage:
    """One templated send: who, with which data, and how."""

    from_address: str
    to: Sequence[str]
    cc: Sequence[str]
    bcc: Sequence[str]
    reply_to: Sequence[str]
    data: str | None  # TemplateData, JSON text
    options: SendOptions
    return_path: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    attachments: tuple[Attachment, ...] = ()
    list_management: ListManagement | None = None


@dataclass(frozen=True)
class BulkEntry:
    to: Sequence[str]
    cc: Sequence[str] = ()
    bcc: Sequence[str] = ()
    data: str | None = None  # ReplacementTemplateData
    tags: tuple[tuple[str, str], ...] = ()  # ReplacementTags
    headers: tuple[tuple[str, str], ...] = ()  # ReplacementHeaders (v2)


@dataclass(frozen=True)
class BulkResult:
    error: SESError | None = None
    message_id: str | None = None


# SES's per-destination statuses (v1 names, v2 names), most specific class first.
_STATUSES: list[tuple[type[SESError], str, str]] = [
    (MailFromDomainNotVerifiedException, "MailFromDomainNotVerified", "MAIL_FROM_DOMAIN_NOT_VERIFIED"),
    (ConfigurationSetDoesNotExist, "ConfigurationSetDoesNotExist", "CONFIGURATION_SET_NOT_FOUND"),
    (ConfigurationSetSendingPausedException, "ConfigurationSetSendingPaused", "CONFIGURATION_SET_SENDING_PAUSED"),
    (TemplateDoesNotExist, "TemplateDoesNotExist", "TEMPLATE_NOT_FOUND"),
    (SendingPausedByOperator, "AccountSendingPaused", "ACCOUNT_SENDING_PAUSED"),
    (AccountSendingPausedException, "AccountSendingPaused", "ACCOUNT_SENDING_PAUSED"),
    (MessageRejected, "MessageRejected", "MESSAGE_REJECTED"),
    (InvalidParameterValue, "InvalidParameterValue", "INVALID_PARAMETER"),
    (InvalidRenderingParameter, "InvalidParameterValue", "INVALID_PARAMETER"),
    (ValidationError, "InvalidParameterValue", "INVALID_PARAMETER"),
]


def bulk_status(result: BulkResult, version: str) -> str:
    """The BulkEmailStatus of one entry, as v1 ("Success") or v2 ("SUCCESS") spells it."""
    err = result.error
    if err is None:
        return "Success" if version == "1" else "SUCCESS"
    if isinstance(err, Throttling):
        daily = "Daily" in err.message
        return ("AccountDailyQuotaExceeded" if daily else "AccountThrottled") if version == "1" else \
            ("ACCOUNT_DAILY_QUOTA_EXCEEDED" if daily else "ACCOUNT_THROTTLED")
    for cls, v1, v2 in _STATUSES:
        if isinstance(err, cls):
            return v1 if version == "1" else v2
    return "Failed" if version == "1" else "FAILED"


def merge_data(default: str | None, replacement: str | None) -> str:
    """An entry's data: its ReplacementTemplateData over the DefaultTemplateData, key by key."""
    merged = {**decode_data(default), **decode_data(replacement)}
    return json.dumps(merged)


class TemplatedSender:
    def __init__(self, sending: SendingService, contacts: ContactService, store: Store, *, region: str,
                 public_url: str, clock: Callable[[], float] = time.time) -> None:
        self._sending = sending
        self._contacts = contacts
        self._store = store
        self._region = region
        self._public_url = public_url.rstrip("/")
        self._clock = clock

    async def send(self, principal: Principal, template: EmailTemplate, message: TemplatedMessage) -> str:
        try:
            data: Any = decode_data(message.data)
        except SESError as e:
            raise InvalidParameterValue(e.message) from None
        return await self._send_listed(principal, message, data, lambda m, d: self._rendered(principal, template, m, d))

    async def send_listed_simple(self, principal: Principal, message: TemplatedMessage,
                                 content: SimpleContent) -> str:
        """Simple content under ListManagementOptions: the same list rules as templated mail,
        and `{{amazonSESUnsubscribeUrl}}` in its parts replaced by the recipient's link."""

        async def build(m: TemplatedMessage, data: Any) -> SimpleContent:
            url = data.get(UNSUBSCRIBE_URL_KEY, "") if isinstance(data, dict) else ""
            placeholder = "{{" + UNSUBSCRIBE_URL_KEY + "}}"
            fill = (lambda part: part.replace(placeholder, url) if part is not None else None)
            return replace(content, subject=fill(content.subject) or "", text=fill(content.text),
                           html=fill(content.html), headers=(*content.headers, *m.headers))

        return await self._send_listed(principal, message, {}, build)

    async def _send_listed(self, principal: Principal, message: TemplatedMessage, data: Any,
                           build: Callable[[TemplatedMessage, Any], Awaitable[SimpleContent | str]]) -> str:
        link: Link | None = None
        if message.list_management is not None:
            kept = await self._kept_recipients(principal, message)
            if not kept:  # every recipient unsubscribed: accepted, not delivered
                return ids.message_id(self._clock())
            message, link, data = self._with_list_headers(principal, message, kept, data)
        content = await build(message, data)
        if isinstance(content, str):  # a rendering failure: its MessageId, nothing to deliver
            return content
        message_id = await self._sending.send_simple(
            principal, from_address=message.from_address, to=message.to, cc=message.cc, bcc=message.bcc,
            reply_to=message.reply_to, content=content, return_path=message.return_path,
            options=message.options)
        if link is not None:
            await self._contacts.save_link(link, message_id)
        return message_id

    async def _rendered(self, principal: Principal, template: EmailTemplate, message: TemplatedMessage,
                        data: Any) -> SimpleContent | str:
        try:
            parts = render(template, data)
        except templates.RenderingError as e:
            return await self._rendering_failure(principal, template, message, e.message)
        return SimpleContent(subject=parts.subject, text=parts.text, html=parts.html,
                             headers=message.headers, attachments=message.attachments)

    async def send_bulk(self, principal: Principal, template: EmailTemplate, base: TemplatedMessage,
                        entries: Sequence[BulkEntry]) -> list[BulkResult]:
        """One message per entry; an entry's failure is its own result, not the request's."""
        if not entries:
            raise InvalidParameterValue("At least one destination is required.")
        if len(entries) > MAX_BULK_DESTINATIONS:
            raise InvalidParameterValue(f"Number of destinations exceeds {MAX_BULK_DESTINATIONS}.")
        try:
            decode_data(base.data)
        except SESError as e:
            raise InvalidParameterValue(f"DefaultTemplateData: {e.message}") from None
        return list(await asyncio.gather(*(self._one(principal, template, base, e) for e in entries)))

    async def _one(self, principal: Principal, template: EmailTemplate, base: TemplatedMessage,
                   entry: BulkEntry) -> BulkResult:
        tags = dict(base.options.tags)
        tags.update(dict(entry.tags))
        headers = {n.lower(): (n, v) for n, v in base.headers}
        headers.update({n.lower(): (n, v) for n, v in entry.headers})
        try:
            message = replace(base, to=entry.to, cc=entry.cc, bcc=entry.bcc,
                              data=merge_data(base.data, entry.data), headers=tuple(headers.values()),
                              options=replace(base.options, tags=tuple(tags.items())))
            return BulkResult(message_id=await self.send(principal, template, message))
        except SESError as e:
            return BulkResult(error=e)

    # --- list management ----------------------------------------------------------------------

    async def _kept_recipients(self, principal: Principal, message: TemplatedMessage) -> set[str]:
        lm = message.list_management
        assert lm is not None
        everyone = [parse_mailbox(a).address for a in (*message.to, *message.cc, *message.bcc)]
        return await self._contacts.subscribed(principal.account_id, lm.list_name, lm.topic, everyone)

    def _with_list_headers(self, principal: Principal, message: TemplatedMessage, kept: set[str],
                           data: Any) -> tuple[TemplatedMessage, Link, Any]:
        """Only the subscribed recipients, and RFC 8058's two headers pointing at our link."""
        lm = message.list_management
        assert lm is not None

        def keep(addresses: Sequence[str]) -> list[str]:
            return [a for a in addresses if parse_mailbox(a).address.lower() in kept]

        to, cc, bcc = keep(message.to), keep(message.cc), keep(message.bcc)
        link = self._contacts.new_link(principal.account_id, lm.list_name, lm.topic,
                                       [parse_mailbox(a).address for a in (*to, *cc, *bcc)])
        url = f"{self._public_url}/unsubscribe/{link.token}"
        # RFC 8058 §3.1: an HTTPS URI in List-Unsubscribe and the One-Click key in List-Unsubscribe-Post.
        headers = (*[h for h in message.headers if h[0].lower() not in ("list-unsubscribe", "list-unsubscribe-post")],
                   ("List-Unsubscribe", f"<{url}>"), ("List-Unsubscribe-Post", ONE_CLICK))
        data = {**data, UNSUBSCRIBE_URL_KEY: url} if isinstance(data, dict) else data
        return replace(message, to=to, cc=cc, bcc=bcc, headers=headers), link, data

    # --- rendering failures -------------------------------------------------------------------

    async def _rendering_failure(self, principal: Principal, template: EmailTemplate, message: TemplatedMessage,
                                 error: str) -> str:
        """Record SES's Rendering Failure event for a message that is accepted but not delivered."""
        await self._sending.admit(principal, from_address=message.from_address,
                                  recipients=[*message.to, *message.cc, *message.bcc], options=message.options)
        now = self._clock()
        message_id = ids.message_id(now)
        from_box = parse_mailbox(message.from_address)
        to = tuple(parse_mailbox(a).address for a in message.to)
        recipients = to + tuple(parse_mailbox(a).address for a in (*message.cc, *message.bcc))
        tags = {"ses:operation": [message.options.action.partition(":")[2]],
                "ses:from-domain": [from_box.domain], "ses:caller-identity": [principal.user_name]}
        for name, value in message.options.tags:
            tags.setdefault(name, []).append(value)
        mail = MailInfo(message_id, principal.account_id, now, from_box.address,
                        f"arn:aws:ses:{self._region}:{principal.account_id}:identity/{from_box.address}",
                        recipients, from_box.header_form(), to, None, tags).as_json()
        row = {"account_id": principal.account_id, "message_id": message_id, "event_type": "RenderingFailure",
               "recipients": len(recipients), "created_at": now,
               "payload": {"eventType": "Rendering Failure", "mail": mail,
                           "failure": {"errorMessage": error, "templateName": template.name}}}
        await self._store.write(lambda c: repositories.insert_events(c, [row]))
        return message_id
