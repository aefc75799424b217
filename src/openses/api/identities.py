"""Identity operations served so far: listing, reading statuses, deleting; and, in development
mode only, requests to verify an identity, which succeed at once as local emulators do.
Verification by mail and DNS (outside development mode) is the identities issue's work; until
it lands those requests answer NotImplemented rather than pretend."""

from __future__ import annotations

import base64
from typing import Any

from openses.api.context import RequestContext
from openses.api.registry import operation
from openses.core.identities import DOMAIN, EMAIL, normalize
from openses.errors import NotFound, NotImplementedOperation

_V1_TYPES = {"EmailAddress": EMAIL, "Domain": DOMAIN}


def _page(items: list[Any], token: str | None, size: int | None, default: int) -> tuple[list[Any], str | None]:
    start = int(base64.urlsafe_b64decode(token.encode()).decode()) if token else 0
    size = size or default
    chunk = items[start:start + size]
    nxt = start + size
    return chunk, base64.urlsafe_b64encode(str(nxt).encode()).decode() if nxt < len(items) else None


async def _verify_in_dev_mode(ctx: RequestContext, identity: str) -> None:
    if not ctx.services.settings.dev_mode:
        raise NotImplementedOperation(
            f"{ctx.operation}: verification by mail and DNS is not implemented by openses yet; an "
            "operator can verify with `openses admin identity verify`.")
    await ctx.services.identities.set_status(ctx.account_id, identity, "SUCCESS")
    ctx.services.directory.forget(ctx.account_id)


@operation("ses", "VerifyEmailIdentity")
async def verify_email_identity(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await _verify_in_dev_mode(ctx, params["EmailAddress"])
    return {}


@operation("ses", "VerifyEmailAddress")
async def verify_email_address(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await _verify_in_dev_mode(ctx, params["EmailAddress"])
    return {}


@operation("ses", "VerifyDomainIdentity")
async def verify_domain_identity(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await _verify_in_dev_mode(ctx, params["Domain"])
    token = base64.b64encode(normalize(params["Domain"])[0].encode()).decode()
    return {"VerificationToken": token}


@operation("sesv2", "CreateEmailIdentity")
async def create_email_identity(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await _verify_in_dev_mode(ctx, params["EmailIdentity"])
    kind = normalize(params["EmailIdentity"])[1]
    return {"IdentityType": kind, "VerifiedForSendingStatus": True}


@operation("ses", "ListIdentities")
async def list_identities(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    kind = _V1_TYPES.get(params.get("IdentityType", ""))
    items = [i.identity for i in await ctx.services.identities.list(ctx.account_id, kind)]
    page, token = _page(items, params.get("NextToken"), params.get("MaxItems"), 1000)
    return {"Identities": page, **({"NextToken": token} if token else {})}


@operation("ses", "ListVerifiedEmailAddresses")
async def list_verified_email_addresses(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    items = await ctx.services.identities.list(ctx.account_id, EMAIL)
    return {"VerifiedEmailAddresses": [i.identity for i in items if i.status == "SUCCESS"]}


@operation("ses", "GetIdentityVerificationAttributes")
async def get_identity_verification_attributes(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in params.get("Identities") or []:
        identity = await ctx.services.identities.get(ctx.account_id, name)
        if identity is None:
            continue
        attrs: dict[str, Any] = {"VerificationStatus": _v1_status(identity.status)}
        if identity.kind == DOMAIN:
            attrs["VerificationToken"] = base64.b64encode(identity.identity.encode()).decode()
        out[name] = attrs
    return {"VerificationAttributes": out}


def _v1_status(status: str) -> str:
    return {"SUCCESS": "Success", "PENDING": "Pending", "FAILED": "Failed",
            "TEMPORARY_FAILURE": "TemporaryFailure", "NOT_STARTED": "NotStarted"}.get(status, status)


@operation("ses", "DeleteIdentity")
async def delete_identity(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await ctx.services.identities.delete(ctx.account_id, params["Identity"])
    ctx.services.directory.forget(ctx.account_id)
    return {}


@operation("ses", "DeleteVerifiedEmailAddress")
async def delete_verified_email_address(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await ctx.services.identities.delete(ctx.account_id, params["EmailAddress"])
    ctx.services.directory.forget(ctx.account_id)
    return {}


@operation("sesv2", "ListEmailIdentities")
async def list_email_identities(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    items = [{"IdentityType": i.kind, "IdentityName": i.identity, "SendingEnabled": i.status == "SUCCESS",
              "VerificationStatus": i.status}
             for i in await ctx.services.identities.list(ctx.account_id)]
    page, token = _page(items, params.get("NextToken"), params.get("PageSize"), 1000)
    return {"EmailIdentities": page, **({"NextToken": token} if token else {})}


@operation("sesv2", "DeleteEmailIdentity")
async def delete_email_identity(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    if not await ctx.services.identities.delete(ctx.account_id, params["EmailIdentity"]):
        raise NotFound(f"Email identity {params['EmailIdentity']} does not exist.")
    ctx.services.directory.forget(ctx.account_id)
    return {}
