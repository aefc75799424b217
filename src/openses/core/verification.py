"""Verifying an email address by mail: a one-time link, sent through the real send pipeline.

How the mail is sent: SES sends its verification mail from its own address, so openses keeps a
system account (`openses-system`, production, unlimited quota, created on first use) whose
sender domain is verified; the mail goes through SendingService like any other, so the
delivery mode decides what happens to it (captured in capture mode). A custom verification
template (SendCustomVerificationEmail) is sent instead by the caller's own account from the
template's FromEmailAddress, which that account must have verified, as SES requires.

The link is `<public_url>/verify/<token>`; only the token's SHA-256 is stored, the link works once
and for 24 hours (after which SES marks the address Failed).
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from openses.core import mime
from openses.core.accounts import UNLIMITED, AccountService, Principal
from openses.core.identities import EMAIL, PENDING, SUCCESS, IdentityService, normalize
from openses.core.policy import parse_policy
from openses.core.sending import SendingService, SendOptions
from openses.errors import InvalidParameterValue, NotFound
from openses.store import identities_repo as irepo
from openses.store.store import Store

SYSTEM_ACCOUNT = "openses-system"
LINK_SECONDS = 24 * 3600.0


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Followed:
    """What following a link did: verified or not, and where a custom template redirects."""

    verified: bool
    identity: str | None = None
    account_id: str | None = None
    redirect: str | None = None
    reason: str = ""


def default_mail(address: str, link: str, region: str) -> mime.SimpleContent:
    text = (f"Dear openses customer,\n\nWe have received a request to authorize this email address "
            f"for use with openses in region {region}. If you requested this verification, please "
            f"go to the following URL to confirm that you are authorized to use this email "
            f"address:\n\n{link}\n\nYour request will not be processed unless you confirm the "
            f"address using this URL. This link expires 24 hours after your original verification "
            f"request.\n\nIf you did NOT request to verify this email address, do not click on "
            f"the link.\n")
    return mime.SimpleContent(
        subject=f"openses - Email Address Verification Request in region {region}",
        text=text, html=f"<p>{html.escape(text).replace(chr(10), '<br>')}</p>".replace(
            html.escape(link), f'<a href="{html.escape(link)}">{html.escape(link)}</a>'))


def custom_mail(template: dict[str, Any], link: str) -> mime.SimpleContent:
    # SES adds the verification link to the template's HTML content.
    link_html = f'<p><a href="{html.escape(link)}">{html.escape(link)}</a></p>'
    return mime.SimpleContent(subject=template["subject"], html=template["content"] + link_html,
                              text=f"Please confirm this address: {link}\n")


class EmailVerifier:
    def __init__(self, store: Store, sending: SendingService, accounts: AccountService, *,
                 public_url: str, sender_domain: str, region: str,
                 clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._sending = sending
        self._accounts = accounts
        self._public_url = public_url.rstrip("/")
        self._sender = f"no-reply-verification@{sender_domain}"
        self._region = region
        self._clock = clock
        self.identities = IdentityService(store, clock)

    async def start(self, account_id: str, address: str, *, template: dict[str, Any] | None = None,
                    principal: Principal | None = None) -> str:
        """Make the address a PENDING identity (unless verified) and mail it a link; the MessageId."""
        name, kind = normalize(address)
        if kind != EMAIL:
            raise InvalidParameterValue(f"Invalid email address<{address}>.")
        identity = await self.identities.ensure(account_id, name)
        if identity.status not in (SUCCESS, PENDING):  # a failed address starts again
            await self.identities.update(account_id, name, lambda i: {
                "status": PENDING, "attributes": dict(i.attributes, check={"since": self._clock()})})
        link = await self._new_link(account_id, identity.key, template["name"] if template else None)
        if template is not None and principal is not None:
            content = custom_mail(template, link)
            return await self._send(principal, template["from_address"], name, content,
                                    "ses:SendCustomVerificationEmail")
        return await self._send(await self._system_principal(), self._sender, name,
                                default_mail(name, link, self._region), "ses:SendEmail")

    async def _new_link(self, account_id: str, key: str, template_name: str | None) -> str:
        token = secrets.token_urlsafe(32)
        now = self._clock()
        row = {"token_hash": token_hash(token), "account_id": account_id, "identity_key": key,
               "template_name": template_name, "expires_at": now + LINK_SECONDS, "created_at": now}
        await self._store.write(lambda c: irepo.insert_link(c, row))
        return f"{self._public_url}/verify/{token}"

    async def _send(self, principal: Principal, sender: str, to: str, content: mime.SimpleContent,
                    action: str) -> str:
        return await self._sending.send_simple(
            principal, from_address=sender, to=[to], cc=[], bcc=[], reply_to=[], content=content,
            return_path=None, options=SendOptions(action=action, api_version="2"))

    async def _system_principal(self) -> Principal:
        account_id = await asyncio.to_thread(self._system_account_id)
        return Principal("openses-system", account_id, "openses-verification", "", parse_policy(None))

    def _system_account_id(self) -> str:
        account = self._accounts.find(SYSTEM_ACCOUNT)
        if account is None:
            try:
                account = self._accounts.create_account(SYSTEM_ACCOUNT, production=True, quota=UNLIMITED)
            except Exception:  # another node created it at the same moment
                account = self._accounts.find(SYSTEM_ACCOUNT)
                if account is None:
                    raise
        domain = self._sender.rpartition("@")[2]
        IdentityService(self._store).set_status_sync(account.id, domain, SUCCESS)
        return account.id

    async def follow(self, token: str) -> Followed:
        """The link was opened: verify its address if the link is live (it works once)."""
        now = self._clock()
        link = await self._store.write(lambda c: irepo.take_link(c, token_hash(token)))
        if link is None:
            return Followed(False, reason="This verification link is unknown or was already used.")
        template = None
        if link["template_name"]:
            template = await self._store.read(
                lambda c: irepo.get_template(c, link["account_id"], link["template_name"]))
        failure = template["failure_url"] if template else None
        if link["expires_at"] < now:
            return Followed(False, link["identity_key"], link["account_id"], failure,
                            "This verification link has expired.")
        try:
            identity = await self.identities.update(link["account_id"], link["identity_key"], lambda i: {
                "status": SUCCESS, "attributes": dict(i.attributes, check={"last_success": now})})
        except NotFound:
            return Followed(False, link["identity_key"], link["account_id"], failure,
                            "This address is no longer waiting for verification.")
        return Followed(True, identity.identity, link["account_id"],
                        template["success_url"] if template else None)
