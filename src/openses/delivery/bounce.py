"""Classify SMTP replies into SES's delivery verdicts, bounce types and delay types.

Plain functions over reply strings such as "550 5.1.1 <x@example.org>: user unknown". The
enhanced status code (RFC 3463) decides when present; the basic reply code (RFC 5321 §4.2.1)
otherwise. SES's vocabulary: bounceType Permanent | Transient | Undetermined; subtypes General,
NoEmail, Suppressed, MailboxFull, MessageTooLarge, ContentRejected, AttachmentRejected; DeliveryDelay
delayType General, MailboxFull, SpamDetected, RecipientServerError, TransientCommunicationFailure…
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from openses.delivery.outcome import Outcome, RecipientOutcome, Verdict

_REPLY = re.compile(r"^\s*([2-5]\d\d)(?:[ -]+([245])\.(\d{1,3})\.(\d{1,3}))?")
_NO_SUCH_USER = re.compile(
    r"user unknown|unknown user|no such user|does not exist|doesn't exist|not exist|unknown recipient|"
    r"recipient not found|invalid recipient|no mailbox|mailbox unavailable|address rejected", re.I)
_SPAM = re.compile(r"spam|blocked|blacklist|blocklist|reputation", re.I)


@dataclass(frozen=True)
class Reply:
    code: int
    status: str  # the enhanced status code, or one derived from the basic code

    @property
    def klass(self) -> int:
        return self.code // 100


@dataclass(frozen=True)
class Classification:
    verdict: Verdict
    status: str
    bounce_type: str | None = None  # for PERMANENT
    bounce_sub_type: str | None = None
    delay_type: str | None = None  # for TEMPORARY


def parse_reply(text: str) -> Reply:
    """The codes of an SMTP reply; an unparsable reply counts as a temporary local failure."""
    m = _REPLY.match(text)
    if m is None:
        return Reply(451, "4.3.0")
    code = int(m.group(1))
    if m.group(2) and m.group(2) == m.group(1)[0]:
        return Reply(code, f"{m.group(2)}.{m.group(3)}.{m.group(4)}")
    return Reply(code, f"{code // 100}.0.0")


def classify(text: str) -> Classification:
    reply = parse_reply(text)
    if reply.klass == 2:
        return Classification(Verdict.DELIVERED, reply.status)
    if reply.klass == 5:
        return _permanent(reply, text)
    return Classification(Verdict.TEMPORARY, reply.status, delay_type=_delay_type(reply, text))


def _permanent(reply: Reply, text: str) -> Classification:
    subject, detail = _parts(reply.status)
    if (subject, detail) in (("1", "1"), ("1", "6")) or ((subject, detail) == ("1", "0") and _NO_SUCH_USER.search(text)):
        sub = "NoEmail"  # RFC 3463 X.1.1 bad destination mailbox, X.1.6 mailbox has moved
    elif (subject, detail) == ("2", "2"):
        return _soft(reply, "MailboxFull")
    elif (subject, detail) in (("2", "3"), ("3", "4")):
        return _soft(reply, "MessageTooLarge")  # X.2.3 / X.3.4: message too big
    elif subject == "7" and _SPAM.search(text):
        return _soft(reply, "ContentRejected")
    elif reply.status == "5.0.0" and reply.code == 550 and _NO_SUCH_USER.search(text):
        sub = "NoEmail"  # servers that send no enhanced code: "550 No such user"
    else:
        sub = "General"
    return Classification(Verdict.PERMANENT, reply.status, "Permanent", sub)


def _soft(reply: Reply, sub: str) -> Classification:
    """A final refusal SES reports as a Transient bounce (the address itself is fine)."""
    return Classification(Verdict.PERMANENT, reply.status, "Transient", sub)


def _delay_type(reply: Reply, text: str) -> str:
    subject, detail = _parts(reply.status)
    if (subject, detail) == ("2", "2"):
        return "MailboxFull"
    if subject == "4":
        return "TransientCommunicationFailure"  # X.4.x network and routing
    if subject == "7" and _SPAM.search(text):
        return "SpamDetected"
    if reply.code == 421 and reply.status == "4.0.0":
        return "TransientCommunicationFailure"
    return "RecipientServerError"


def exhausted(last_delay_type: str | None) -> Classification:
    """The bounce when the maximum delivery time has passed with only temporary failures."""
    sub = "MailboxFull" if last_delay_type == "MailboxFull" else "General"
    return Classification(Verdict.PERMANENT, "4.4.7", "Transient", sub)  # X.4.7 delivery time expired


def diagnostic_code(text: str) -> str:
    """DSN Diagnostic-Code form (RFC 3464 §2.3.6): the type, "; ", the remote reply."""
    return f"smtp; {text.strip()}"


def _parts(status: str) -> tuple[str, str]:
    _, subject, detail = status.split(".")
    return subject, detail


def outcome_of(replies: dict[str, str], *, reporting_mta: str, remote_mta: str | None) -> Outcome:
    """An attempt's Outcome from each recipient's final reply."""
    per = tuple(RecipientOutcome(r, classify(text).verdict, text) for r, text in replies.items())
    verdicts = {p.verdict for p in per}
    overall = verdicts.pop() if len(verdicts) == 1 else Verdict.TEMPORARY
    first = next(iter(replies.values()), "451 4.3.0 no recipients")
    return Outcome(overall, first, reporting_mta, remote_mta, per)


def failed_outcome(reply: str, *, reporting_mta: str, remote_mta: str | None = None) -> Outcome:
    """Every recipient of the attempt shares one reply (no route, no connection)."""
    return Outcome(classify(reply).verdict, reply, reporting_mta, remote_mta)
