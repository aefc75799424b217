"""Identity operations (SES v1 and v2): create and verify addresses and domains, read their
statuses, list and delete them. Addresses are verified by a mail with a one-time link
(core/verification.py), domains by DNS (core/dns_verifier.py, in the scheduler role). In
development mode a request to verify an identity succeeds at once, as local emulators do.
DKIM and MAIL FROM are in identity_dkim.py, policies in identity_policies.py."""

from __future__ import annotations

import base64
import time
from datetime import datetime, timezone
from typing import Any

from openses.api.context import RequestContext
from openses.api.registry import operation
from openses.core import dkim_keys
from openses.core.dns_verifier import email_status
from openses.core.identities import (
    DOMAIN,
    EMAIL,
    FAILED,
    NOT_STARTED,
    PENDING,
    SUCCESS,
    Identity,
    IdentityService,
    normalize,
    verification_token,
)
from openses.core.verification import EmailVerifier
from openses.errors import InvalidParameterValue, NotFound

_V1_TYPES = {"EmailAddress": EMAIL, "Domain": DOMAIN}
_V1_STATUS = {SUCCESS: "Success", PENDING: "Pending", FAILED: "Failed",
              "TEMPORARY_FAILURE": "TemporaryFailure", NOT_STARTED: "NotStarted"}


def v1_status(status: str) -> str:
    return _V1_STATUS.get(status, status)


def when(ts: float | None) -> datetime | None:
    return datetime.fromtimestamp(ts, timezone.utc) if ts else None


def page(items: list[Any], token: str | None, size: int | None, default: int) -> tuple[list[Any], str | None]:
    try:
        start = int(base64.urlsafe_b64decode(token.encode()).decode()) if token else 0
    except ValueError:
        raise InvalidParameterValue("Invalid NextToken.") from None
    size = size or default
    nxt = start + size
    return items[start:nxt], base64.urlsafe_b64encode(str(nxt).encode()).decode() if nxt < len(items) else None


def identities(ctx: RequestContext) -> IdentityService:
    return ctx.services.identities


def email_verifier(ctx: RequestContext) -> EmailVerifier:
    s = ctx.services
    return EmailVerifier(s.store, s.sending, s.accounts, public_url=s.settings.effective_public_url,
                         sender_domain=s.settings.message_id_domain, region=s.settings.region)


def current_status(identity: Identity) -> str:
    return email_status(identity, time.time()) if identity.kind == EMAIL else identity.status


async def _verify_now(ctx: RequestContext, identity: str) -> None:
    """Development mode: verified at once (and its DKIM, if any)."""
    await identities(ctx).set_status(ctx.account_id, identity, SUCCESS)
    ctx.services.directory.forget(ctx.account_id)


async def verify_email(ctx: RequestContext, address: str) -> None:
    if normalize(address)[1] != EMAIL:
        raise InvalidParameterValue(f"Invalid email address<{address}>.")
    if ctx.services.settings.dev_mode:
        await _verify_now(ctx, address)
    else:
        await email_verifier(ctx).start(ctx.account_id, address)


async def start_domain(ctx: RequestContext, domain: str, *, exclusive: bool = False,
                       tags: list[dict[str, str]] | None = None) -> Identity:
    """The domain identity with an `_amazonses` token; a FAILED one starts again (PENDING)."""
    name, kind = normalize(domain)
    if kind != DOMAIN:
        raise InvalidParameterValue(f"Invalid domain name {domain}.")
    extra = {"tags": tags} if tags else {}
    identity = await identities(ctx).ensure(ctx.account_id, name, exclusive=exclusive, **extra)
    if identity.verification_token is None or identity.status == FAILED:
        identity = await identities(ctx).update(ctx.account_id, name, lambda i: {
            "verification_token": i.verification_token or verification_token(),
            "status": PENDING if i.status == FAILED else i.status,
            "attributes": dict(i.attributes, check={"since": time.time()})})
    if ctx.services.settings.dev_mode:
        await _verify_now(ctx, name)
        identity = await identities(ctx).require(ctx.account_id, name)
    return identity


# --- SES v1 ---------------------------------------------------------------------------------


@operation("ses", "VerifyEmailIdentity")
async def verify_email_identity(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await verify_email(ctx, params["EmailAddress"])
    return {}


@operation("ses", "VerifyEmailAddress")
async def verify_email_address(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await verify_email(ctx, params["EmailAddress"])
    return {}


@operation("ses", "VerifyDomainIdentity")
async def verify_domain_identity(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    identity = await start_domain(ctx, params["Domain"])
    return {"VerificationToken": identity.verification_token}


@operation("ses", "ListIdentities")
async def list_identities(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    kind = _V1_TYPES.get(params.get("IdentityType", ""))
    items = [i.identity for i in await identities(ctx).list(ctx.account_id, kind)]
    chunk, token = page(items, params.get("NextToken"), params.get("MaxItems"), 1000)
    return {"Identities": chunk, **({"NextToken": token} if token else {})}


@operation("ses", "ListVerifiedEmailAddresses")
async def list_verified_email_addresses(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    items = await identities(ctx).list(ctx.account_id, EMAIL)
    return {"VerifiedEmailAddresses": [i.identity for i in items if i.status == SUCCESS]}


@operation("ses", "GetIdentityVerificationAttributes")
async def get_identity_verification_attributes(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in params.get("Identities") or []:
        identity = await identities(ctx).get(ctx.account_id, name)
        if identity is None:
            continue
        attrs: dict[str, Any] = {"VerificationStatus": v1_status(current_status(identity))}
        if identity.verification_token:
            attrs["VerificationToken"] = identity.verification_token
        out[name] = attrs
    return {"VerificationAttributes": out}


@operation("ses", "DeleteIdentity")
async def delete_identity(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await identities(ctx).delete(ctx.account_id, params["Identity"])
    ctx.services.directory.forget(ctx.account_id)
    return {}


@operation("ses", "DeleteVerifiedEmailAddress")
async def delete_verified_email_address(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await identities(ctx).delete(ctx.account_id, params["EmailAddress"])
    ctx.services.directory.forget(ctx.account_id)
    return {}


# --- SES v2 ---------------------------------------------------------------------------------


def v2_dkim(ctx: RequestContext, identity: Identity) -> dict[str, Any]:
    d = identity.dkim
    out: dict[str, Any] = {"SigningEnabled": bool(d.get("enabled")), "Status": d.get("status", NOT_STARTED),
                           "SigningAttributesOrigin": d.get("origin", "AWS_SES")}
    if d.get("tokens"):
        out["Tokens"] = list(d["tokens"])
    if d.get("origin", "AWS_SES") == "AWS_SES" and d.get("tokens"):
        out.update(CurrentSigningKeyLength=d.get("current_length"), NextSigningKeyLength=d.get("next_length"),
                   LastKeyGenerationTimestamp=when(d.get("generated_at")))
        if ctx.services.settings.dkim_mode == "cname":
            out["SigningHostedZone"] = ctx.services.settings.dkim_zone
    return {k: v for k, v in out.items() if v is not None}


async def _create_domain(ctx: RequestContext, params: dict[str, Any]) -> Identity:
    identity = await start_domain(ctx, params["EmailIdentity"], exclusive=True, tags=params.get("Tags"))
    signing = params.get("DkimSigningAttributes") or {}
    box, name = ctx.services.accounts.box, identity.identity
    if signing.get("DomainSigningPrivateKey") or signing.get("DomainSigningSelector"):
        if not (signing.get("DomainSigningPrivateKey") and signing.get("DomainSigningSelector")):
            raise InvalidParameterValue("BYODKIM needs both DomainSigningSelector and DomainSigningPrivateKey.")
        identity = await identities(ctx).use_byodkim(box, ctx.account_id, name, signing["DomainSigningSelector"],
                                                     signing["DomainSigningPrivateKey"])
    else:
        length = signing.get("NextSigningKeyLength") or dkim_keys.RSA_2048
        identity = await identities(ctx).start_easy_dkim(box, ctx.account_id, name, length)
    if ctx.services.settings.dev_mode:
        identity = await identities(ctx).set_attribute(ctx.account_id, name, "dkim",
                                                       dict(identity.dkim, status=SUCCESS))
    return identity


@operation("sesv2", "CreateEmailIdentity")
async def create_email_identity(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    name, kind = normalize(params["EmailIdentity"])
    if kind == EMAIL:
        await identities(ctx).ensure(ctx.account_id, name, exclusive=True, **(
            {"tags": params["Tags"]} if params.get("Tags") else {}))
        await verify_email(ctx, name)
        identity = await identities(ctx).require(ctx.account_id, name)
        return {"IdentityType": EMAIL, "VerifiedForSendingStatus": identity.status == SUCCESS}
    identity = await _create_domain(ctx, params)
    return {"IdentityType": DOMAIN, "VerifiedForSendingStatus": identity.status == SUCCESS,
            "DkimAttributes": v2_dkim(ctx, identity)}


def _mail_from_v2(identity: Identity) -> dict[str, Any]:
    m = identity.mail_from
    out = {"BehaviorOnMxFailure": m.get("behavior", "USE_DEFAULT_VALUE")}
    if m.get("domain"):
        out.update(MailFromDomain=m["domain"], MailFromDomainStatus=m.get("status", PENDING))
    return out


def _verification_info(identity: Identity) -> dict[str, Any]:
    check = identity.check
    info = {"LastCheckedTimestamp": when(check.get("last_checked")),
            "LastSuccessTimestamp": when(check.get("last_success")), "ErrorType": check.get("error_type")}
    return {k: v for k, v in info.items() if v is not None}


@operation("sesv2", "GetEmailIdentity")
async def get_email_identity(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    identity = await identities(ctx).require(ctx.account_id, params["EmailIdentity"])
    status = current_status(identity)
    return {"IdentityType": identity.kind, "VerifiedForSendingStatus": status == SUCCESS,
            "VerificationStatus": status, "FeedbackForwardingStatus": identity.attributes.get("feedback", True),
            "DkimAttributes": v2_dkim(ctx, identity), "MailFromAttributes": _mail_from_v2(identity),
            "Policies": await identities(ctx).policies(ctx.account_id, identity.identity),
            "Tags": identity.attributes.get("tags") or [], "VerificationInfo": _verification_info(identity)}


@operation("sesv2", "ListEmailIdentities")
async def list_email_identities(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    items = []
    for i in await identities(ctx).list(ctx.account_id):
        status = current_status(i)
        items.append({"IdentityType": i.kind, "IdentityName": i.identity, "SendingEnabled": status == SUCCESS,
                      "VerificationStatus": status})
    chunk, token = page(items, params.get("NextToken"), params.get("PageSize"), 1000)
    return {"EmailIdentities": chunk, **({"NextToken": token} if token else {})}


@operation("sesv2", "DeleteEmailIdentity")
async def delete_email_identity(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    if not await identities(ctx).delete(ctx.account_id, params["EmailIdentity"]):
        raise NotFound(f"Email identity {params['EmailIdentity']} does not exist.")
    ctx.services.directory.forget(ctx.account_id)
    return {}


# PutEmailIdentityFeedbackAttributes and SetIdentityFeedbackForwardingEnabled: api/identity_notifications.py
