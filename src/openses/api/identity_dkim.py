"""DKIM (Easy DKIM and BYODKIM) and custom MAIL FROM domains of identities, SES v1 and v2."""

from __future__ import annotations

import time
from typing import Any

from openses.api.context import RequestContext
from openses.api.identities import identities, start_domain, v1_status, v2_dkim
from openses.api.registry import operation
from openses.core import dkim_keys
from openses.core.addresses import domain_of
from openses.core.identities import DOMAIN, NOT_STARTED, PENDING, SUCCESS, Identity, normalize
from openses.errors import InvalidParameterValue

_BEHAVIOR_V1 = {"UseDefaultValue": "USE_DEFAULT_VALUE", "RejectMessage": "REJECT_MESSAGE"}
_BEHAVIOR_V2 = {v: k for k, v in _BEHAVIOR_V1.items()}


async def _easy_dkim(ctx: RequestContext, domain: str, length: str) -> Identity:
    identity = await identities(ctx).start_easy_dkim(ctx.services.accounts.box, ctx.account_id, domain, length)
    if ctx.services.settings.dev_mode:
        identity = await identities(ctx).set_attribute(ctx.account_id, domain, "dkim",
                                                       dict(identity.dkim, status=SUCCESS))
    ctx.services.directory.forget(ctx.account_id)
    return identity


async def _rotate(ctx: RequestContext, domain: str, length: str | None) -> Identity:
    """Easy DKIM already in use: a new key of the next length, switched to once DNS serves it."""
    s = ctx.services.settings
    await dkim_keys.start_rotation(ctx.services.store, ctx.services.accounts.box, ctx.account_id, domain, length,
                                   mode=s.dkim_mode, grace=s.dkim_key_grace_seconds, switch_now=s.dev_mode)
    ctx.services.directory.forget(ctx.account_id)
    return await identities(ctx).require(ctx.account_id, domain)


async def _set_signing(ctx: RequestContext, identity_name: str, enabled: bool) -> None:
    def change(i: Identity) -> dict[str, Any]:
        if enabled and i.kind == DOMAIN and not i.dkim.get("tokens"):
            raise InvalidParameterValue(f"Domain {i.identity} has no DKIM keys; call VerifyDomainDkim first.")
        return {"attributes": dict(i.attributes, dkim=dict(i.dkim, enabled=enabled))}

    await identities(ctx).update(ctx.account_id, identity_name, change)


# --- DKIM, v1 -------------------------------------------------------------------------------


@operation("ses", "VerifyDomainDkim")
async def verify_domain_dkim(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    identity = await identities(ctx).get(ctx.account_id, params["Domain"])
    if identity is None:
        identity = await start_domain(ctx, params["Domain"])
    if not identity.dkim.get("tokens") or identity.dkim.get("status") == "FAILED":
        identity = await _easy_dkim(ctx, identity.identity, dkim_keys.RSA_2048)
    return {"DkimTokens": identity.dkim["tokens"]}


@operation("ses", "SetIdentityDkimEnabled")
async def set_identity_dkim_enabled(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await _set_signing(ctx, params["Identity"], bool(params["DkimEnabled"]))
    return {}


async def _email_dkim(ctx: RequestContext, identity: Identity) -> tuple[str, list[str]]:
    """An address's DKIM is its domain's (SES signs with the domain's keys)."""
    domain = await identities(ctx).get(ctx.account_id, domain_of(identity.identity))
    if domain is None or not domain.dkim.get("tokens"):
        return NOT_STARTED, []
    return domain.dkim.get("status", PENDING), list(domain.dkim["tokens"])


@operation("ses", "GetIdentityDkimAttributes")
async def get_identity_dkim_attributes(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in params.get("Identities") or []:
        identity = await identities(ctx).get(ctx.account_id, name)
        if identity is None:
            continue
        if identity.kind == DOMAIN:
            status, tokens = identity.dkim.get("status", NOT_STARTED), list(identity.dkim.get("tokens") or [])
        else:
            status, tokens = await _email_dkim(ctx, identity)
        attrs: dict[str, Any] = {"DkimEnabled": bool(identity.dkim.get("enabled", bool(tokens))),
                                 "DkimVerificationStatus": v1_status(status)}
        if tokens:
            attrs["DkimTokens"] = tokens
        out[name] = attrs
    return {"DkimAttributes": out}


# --- DKIM, v2 -------------------------------------------------------------------------------


@operation("sesv2", "PutEmailIdentityDkimAttributes")
async def put_email_identity_dkim_attributes(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await _set_signing(ctx, params["EmailIdentity"], bool(params.get("SigningEnabled")))
    return {}


@operation("sesv2", "PutEmailIdentityDkimSigningAttributes")
async def put_email_identity_dkim_signing_attributes(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    identity = await identities(ctx).require(ctx.account_id, params["EmailIdentity"])
    if identity.kind != DOMAIN:
        raise InvalidParameterValue("DKIM signing attributes apply to domain identities only.")
    origin = params["SigningAttributesOrigin"]
    signing = params.get("SigningAttributes") or {}
    if origin == "EXTERNAL":
        if not (signing.get("DomainSigningSelector") and signing.get("DomainSigningPrivateKey")):
            raise InvalidParameterValue("EXTERNAL signing needs DomainSigningSelector and DomainSigningPrivateKey.")
        identity = await identities(ctx).use_byodkim(ctx.services.accounts.box, ctx.account_id, identity.identity,
                                                     signing["DomainSigningSelector"],
                                                     signing["DomainSigningPrivateKey"])
    elif identity.dkim.get("origin") == "AWS_SES" and identity.dkim.get("tokens"):
        identity = await _rotate(ctx, identity.identity, signing.get("NextSigningKeyLength"))
    else:
        identity = await _easy_dkim(ctx, identity.identity,
                                    signing.get("NextSigningKeyLength") or dkim_keys.RSA_2048)
    dkim = v2_dkim(ctx, identity)
    return {"DkimStatus": dkim["Status"], "DkimTokens": dkim.get("Tokens", []),
            **({"SigningHostedZone": dkim["SigningHostedZone"]} if "SigningHostedZone" in dkim else {})}


# --- custom MAIL FROM -------------------------------------------------------------------------


def _check_mail_from(identity: Identity, mail_from: str) -> str:
    """SES: a subdomain of the identity's domain, not used to receive mail elsewhere."""
    name, kind = normalize(mail_from)
    parent = identity.identity if identity.kind == DOMAIN else domain_of(identity.identity)
    if kind != DOMAIN or not name.endswith("." + parent):
        raise InvalidParameterValue(f"Provided MAIL-FROM domain '{mail_from}' is not a subdomain of the "
                                    f"verified identity.")
    return name


async def _set_mail_from(ctx: RequestContext, name: str, mail_from: str | None, behavior: str) -> None:
    def change(i: Identity) -> dict[str, Any]:
        if not mail_from:
            return {"attributes": {k: v for k, v in i.attributes.items() if k != "mail_from"}}
        domain = _check_mail_from(i, mail_from)
        value = {"domain": domain, "behavior": behavior, "status": PENDING, "since": time.time()}
        return {"attributes": dict(i.attributes, mail_from=value)}

    await identities(ctx).update(ctx.account_id, name, change)


@operation("ses", "SetIdentityMailFromDomain")
async def set_identity_mail_from_domain(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    behavior = _BEHAVIOR_V1[params.get("BehaviorOnMXFailure") or "UseDefaultValue"]
    await _set_mail_from(ctx, params["Identity"], params.get("MailFromDomain"), behavior)
    return {}


@operation("sesv2", "PutEmailIdentityMailFromAttributes")
async def put_email_identity_mail_from_attributes(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await _set_mail_from(ctx, params["EmailIdentity"], params.get("MailFromDomain"),
                         params.get("BehaviorOnMxFailure") or "USE_DEFAULT_VALUE")
    return {}


@operation("ses", "GetIdentityMailFromDomainAttributes")
async def get_identity_mail_from_domain_attributes(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in params.get("Identities") or []:
        identity = await identities(ctx).get(ctx.account_id, name)
        if identity is None or not identity.mail_from.get("domain"):
            continue
        m = identity.mail_from
        out[name] = {"MailFromDomain": m["domain"], "MailFromDomainStatus": v1_status(m.get("status", PENDING)),
                     "BehaviorOnMXFailure": _BEHAVIOR_V2[m.get("behavior", "USE_DEFAULT_VALUE")]}
    return {"MailFromDomainAttributes": out}
