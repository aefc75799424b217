"""The sending pipeline: one set of rules for every door (SES v1, SES v2, SMTP).

authorize (key policy) → account may send → sender identities verified → sandbox recipients →
quota and rate → build or fix up the MIME → ONE durable write (message, queue entries, Send
event) → the MessageId. A rule lives here once; the adapters only translate.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from openses.core import ids, mime
from openses.core.accounts import Account, Principal
from openses.core.addresses import Mailbox, domain_of, identity_key, parse_address_list, parse_mailbox
from openses.core.directory import Directory
from openses.core.events import MailInfo, send_event
from openses.core.identities import mail_from_domain
from openses.core.identity_policies import authorize_cross_account
from openses.core.quota import SendLimiter
from openses.core.screening import SendFeedback, admission, counted, final_status, screen
from openses.core.suppression import SuppressionCache
from openses.errors import (
    AccessDenied,
    AccountSendingPausedException,
    ConfigurationSetDoesNotExist,
    InternalFailure,
    InvalidParameterValue,
    MessageRejected,
    SendingPausedByOperator,
)
from openses.store.store import Store
from openses.store.writer import Accepted

MAX_RECIPIENTS = 50
V1_MAX_BYTES = 10 * 1024 * 1024
V2_MAX_BYTES = 40 * 1024 * 1024
SIMULATOR_DOMAIN = "simulator.amazonses.com"
_CONFIG_SET_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")
# Headers SES reads for instructions and removes before delivery (SMTP interface).
SES_HEADERS = ("x-ses-configuration-set", "x-ses-message-tags", "x-ses-source-arn",
               "x-ses-from-arn", "x-ses-return-path-arn")


@dataclass
class SendOptions:
    """What a caller may add to any send."""

    action: str  # the IAM action: ses:SendEmail, ses:SendRawEmail, …
    api_version: str  # "1", "2" or "smtp"
    channel: str = "api"
    configuration_set: str | None = None
    tags: tuple[tuple[str, str], ...] = ()
    max_bytes: int = V2_MAX_BYTES
    identity_arn: str | None = None  # SourceArn / FromArn: send as another account's identity


@dataclass
class _Admitted:
    account: Account
    from_box: Mailbox
    source: str
    recipients: tuple[str, ...]
    to: tuple[str, ...] = field(default_factory=tuple)
    feedback: SendFeedback | None = None  # configuration set and suppression list (feedback loop)
    mail_from_domain: str | None = None  # the identity's verified custom MAIL FROM domain


class SendingService:
    def __init__(self, store: Store, directory: Directory, limiter: SendLimiter, *, region: str,
                 message_id_domain: str, clock: Callable[[], float] = time.time,
                 on_accepted: Callable[[], None] | None = None) -> None:
        self._store = store
        self._directory = directory
        self._limiter = limiter
        self._region = region
        self._mid_domain = message_id_domain
        self._clock = clock
        self._on_accepted = on_accepted
        self._feedback = SuppressionCache(store, directory)

    # --- the two kinds of content -----------------------------------------------------------

    async def send_simple(self, principal: Principal, *, from_address: str, to: Sequence[str],
                          cc: Sequence[str], bcc: Sequence[str], reply_to: Sequence[str],
                          content: mime.SimpleContent, return_path: str | None,
                          options: SendOptions) -> str:
        from_box = parse_mailbox(from_address)
        to_boxes = [parse_mailbox(a) for a in to]
        cc_boxes = [parse_mailbox(a) for a in cc]
        bcc_boxes = [parse_mailbox(a) for a in bcc]
        reply_boxes = [parse_mailbox(a) for a in reply_to]
        envelope = return_path and parse_mailbox(return_path).address
        recipients = tuple(b.address for b in (*to_boxes, *cc_boxes, *bcc_boxes))
        admitted = await self._admit(principal, from_box, envelope, recipients, options)
        now = self._clock()
        message_id = ids.message_id(now)
        raw = mime.build_simple(
            from_header=from_box.header_form(), to=[b.header_form() for b in to_boxes],
            cc=[b.header_form() for b in cc_boxes], reply_to=[b.header_form() for b in reply_boxes],
            content=content, message_id=f"{message_id}@{self._mid_domain}", date=mime.format_date(now))
        self._check_size(raw, options)
        return await self._persist(principal, admitted, message_id, now, raw, content.subject,
                                   tuple(b.address for b in to_boxes), options)

    async def send_raw(self, principal: Principal, *, raw: bytes, source: str | None,
                       destinations: Sequence[str] | None, options: SendOptions) -> str:
        self._check_size(raw, options)
        message = mime.split_raw(raw)
        from_values = message.values("From")
        if not from_values and not source:
            raise InvalidParameterValue("Missing required header 'From'.")
        from_boxes = parse_address_list(from_values[0]) if from_values else []
        from_box = from_boxes[0] if from_boxes else parse_mailbox(source or "")
        to = tuple(b.address for v in message.values("To") for b in parse_address_list(v))
        if destinations:
            recipients = tuple(parse_mailbox(d).address for d in destinations)
        else:
            recipients = to + tuple(b.address for name in ("Cc", "Bcc")
                                    for v in message.values(name) for b in parse_address_list(v))
        envelope = parse_mailbox(source).address if source else None
        options = _with_ses_headers(message, options)
        admitted = await self._admit(principal, from_box, envelope, recipients, options)
        now = self._clock()
        message_id = ids.message_id(now)
        # SES sets its own Message-ID, adds Date when missing and never passes Bcc on.
        prepend = [("Message-ID", f"<{message_id}@{self._mid_domain}>")]
        if not message.has("date"):
            prepend.append(("Date", mime.format_date(now)))
        final = message.rebuilt(drop=("bcc", "message-id", *SES_HEADERS), prepend=prepend)
        return await self._persist(principal, admitted, message_id, now, final, message.first("Subject"),
                                   to, options)

    async def admit(self, principal: Principal, *, from_address: str, recipients: Sequence[str],
                    options: SendOptions) -> None:
        """Only the checks of a send, for one that is accepted but never built (a template that
        fails to render at send time): it is refused exactly where a real send would be."""
        await self._admit(principal, parse_mailbox(from_address), None,
                          tuple(parse_mailbox(r).address for r in recipients), options)

    # --- the rules ---------------------------------------------------------------------------

    def _check_size(self, raw: bytes, options: SendOptions) -> None:
        if len(raw) > options.max_bytes:
            raise InvalidParameterValue(
                f"Message length is more than {options.max_bytes} bytes long: '{len(raw)}'.")

    async def _admit(self, principal: Principal, from_box: Mailbox, envelope: str | None,
                     recipients: tuple[str, ...], options: SendOptions) -> _Admitted:
        if not recipients:
            raise InvalidParameterValue("Missing required header 'To'.")
        if len(recipients) > MAX_RECIPIENTS:
            raise InvalidParameterValue(f"Recipient count exceeds {MAX_RECIPIENTS}.")
        account = await self._directory.account(principal.account_id)
        if account is None:
            raise AccessDenied("The account of this access key no longer exists.")
        if account.paused_by_operator or account.enforcement_status == "SHUTDOWN":
            raise SendingPausedByOperator(
                "Sending paused for this account. For more information, please check the inbox of "
                "the email address associated with your AWS account.")
        if not account.sending_enabled:
            raise AccountSendingPausedException("Email sending is disabled for your entire Amazon SES account.")
        senders = [from_box.address] + ([envelope] if envelope and envelope != from_box.address else [])
        verified = await self._directory.verified(account.id)
        context = self._authorize(principal, account, from_box, recipients, verified, options)
        if options.identity_arn:
            delegated = await authorize_cross_account(
                self._store, caller_account_id=account.id, caller_arn=principal.arn,
                arn=options.identity_arn, action=options.action, context=context)
            verified = verified | {identity_key(delegated.identity)}
        failed = [s for s in senders if not _covered(s, verified)]
        if not account.production:
            failed += [r for r in dict.fromkeys(recipients)
                       if domain_of(r) != SIMULATOR_DOMAIN and not _covered(r, verified)]
        if failed:
            raise MessageRejected(
                "Email address is not verified. The following identities failed the check in region "
                f"{self._region.upper()}: {', '.join(failed)}")
        mail_from = await self._directory.remember(  # raises under BehaviorOnMxFailure REJECT_MESSAGE
            "mail_from", f"{account.id}/{from_box.address}",
            lambda: mail_from_domain(self._store, account.id, from_box.address))
        feedback = await admission(self._feedback, self._store, self._directory, account.id, from_box.address,
                                   options.configuration_set)
        if counted(recipients):  # mailbox simulator recipients do not count against the quota
            self._limiter.take(account.id, counted(recipients), max_per_day=account.max_24h_send,
                               max_rate=account.max_send_rate)
        return _Admitted(account, from_box, envelope or from_box.address, recipients, feedback=feedback,
                         mail_from_domain=mail_from)

    def _authorize(self, principal: Principal, account: Account, from_box: Mailbox,
                   recipients: tuple[str, ...], verified: frozenset[str],
                   options: SendOptions) -> dict[str, list[str]]:
        identity = _covering_identity(from_box.address, verified) or from_box.address
        resource = f"arn:aws:ses:{self._region}:{account.id}:identity/{identity}"
        context = {"ses:FromAddress": [from_box.address], "ses:Recipients": list(recipients),
                   "ses:FromDisplayName": [from_box.display_name], "ses:ApiVersion": [options.api_version]}
        if not principal.policy.decide(options.action, resource, context):
            raise AccessDenied(
                f"User: {principal.arn} is not authorized to perform: {options.action} on resource: "
                f"{resource} because no identity-based policy allows the {options.action} action")
        return context

    async def _persist(self, principal: Principal, admitted: _Admitted, message_id: str, now: float,
                       raw: bytes, subject: str | None, to: tuple[str, ...], options: SendOptions) -> str:
        account = admitted.account
        tags = {"ses:operation": [options.action.partition(":")[2]],
                "ses:from-domain": [admitted.from_box.domain],
                "ses:caller-identity": [principal.user_name]}
        config_set = admitted.feedback.config_set_name if admitted.feedback else options.configuration_set
        if config_set:
            tags["ses:configuration-set"] = [config_set]
        for name, value in options.tags:
            tags.setdefault(name, []).append(value)
        mail = MailInfo(message_id, account.id, now, admitted.source,
                        f"arn:aws:ses:{self._region}:{account.id}:identity/{admitted.from_box.address}",
                        admitted.recipients, admitted.from_box.header_form(), to, subject, tags)
        send_row = send_event(mail)
        screened = screen(admitted.feedback, send_row["payload"]["mail"], now, admitted.recipients)
        by_domain: dict[str, list[str]] = {}
        for r in screened.deliver:
            by_domain.setdefault(domain_of(r), []).append(r)
        rows = Accepted(
            messages=[{"id": message_id, "account_id": account.id, "source": admitted.source,
                       "from_header": mail.from_header, "subject": subject,
                       "recipients": list(admitted.recipients), "raw": raw, "size": len(raw),
                       "channel": options.channel, "configuration_set": config_set,
                       "tags": {k: v for k, v in tags.items()},
                       "status": "queued" if by_domain else final_status(screened), "created_at": now}],
            queue=[{"message_id": message_id, "account_id": account.id, "domain": d, "recipients": rs,
                    "attempts": 0, "next_attempt_at": now, "lease_owner": None, "lease_expires_at": None,
                    "created_at": now, "mail_from_domain": admitted.mail_from_domain,
                    **delivery_options(admitted.feedback, now)} for d, rs in by_domain.items()],
            events=[send_row, *screened.events],
            counts={(account.id, int(now // 60)): counted(admitted.recipients)},
        )
        try:
            await self._store.accept(rows)
        except Exception as e:
            self._limiter.give_back(account.id, counted(admitted.recipients))
            raise InternalFailure("The message could not be stored; it was not accepted.") from e
        if self._on_accepted is not None:
            self._on_accepted()
        return message_id


def _with_ses_headers(message: mime.RawMessage, options: SendOptions) -> SendOptions:
    """X-SES-CONFIGURATION-SET and X-SES-MESSAGE-TAGS ("name=value, name=value") in a raw
    message stand for the API parameters; an explicit API parameter wins."""
    config_set = options.configuration_set or message.first("X-SES-CONFIGURATION-SET")
    tags = list(options.tags)
    for header in message.values("X-SES-MESSAGE-TAGS"):
        for pair in header.split(","):
            name, eq, value = pair.strip().partition("=")
            if not eq or not name.strip():
                raise InvalidParameterValue(f"Invalid X-SES-MESSAGE-TAGS header: {header}")
            tags.append((name.strip(), value.strip()))
    if config_set:
        check_configuration_set(config_set)
    arn = options.identity_arn or message.first("X-SES-FROM-ARN") or message.first("X-SES-SOURCE-ARN")
    return replace(options, configuration_set=config_set, tags=tuple(tags), identity_arn=arn)


def delivery_options(feedback: SendFeedback | None, now: float) -> dict[str, Any]:
    """The configuration set's DeliveryOptions as the queue entry keeps them (frozen at send time)."""
    options = feedback.config_set.delivery if feedback is not None and feedback.config_set else {}
    seconds = options.get("MaxDeliverySeconds")
    return {"deliver_by": now + seconds if seconds else None,
            "require_tls": True if str(options.get("TlsPolicy", "")).upper() == "REQUIRE" else None}


def check_configuration_set(name: str) -> None:
    """A name no configuration set can have does not exist; existing ones are looked up (from
    memory) when the send is admitted, see core/screening.py."""
    if not _CONFIG_SET_NAME.match(name):
        raise ConfigurationSetDoesNotExist(f"Configuration set <{name}> does not exist.")


def _covering_identity(address: str, verified: frozenset[str]) -> str | None:
    """The verified identity that lets `address` send: itself, its domain or a parent domain."""
    key = identity_key(address)
    if key in verified:
        return address
    domain = domain_of(address)
    while domain:
        if domain in verified:
            return domain
        _, _, domain = domain.partition(".")
        if "." not in domain:
            return None
    return None


def _covered(address: str, verified: frozenset[str]) -> bool:
    return _covering_identity(address, verified) is not None
