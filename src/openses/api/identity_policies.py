"""Identity policies for sending authorization (SES v1 and v2). Enforcement on send is
core/identity_policies.authorize_cross_account."""

from __future__ import annotations

from typing import Any

from openses.api.context import RequestContext
from openses.api.identities import identities
from openses.api.registry import operation
from openses.core import identity_policies as policies
from openses.errors import AlreadyExists, LimitExceeded, NotFound


async def _put(ctx: RequestContext, identity_name: str, name: str, document: str, *,
               must_exist: bool | None) -> None:
    policies.check_name(name)
    identity = await identities(ctx).require(ctx.account_id, identity_name)
    arn = f"arn:aws:ses:{ctx.region}:{ctx.account_id}:identity/{identity.identity}"
    policies.validate(document, arn)
    existing = await identities(ctx).policies(ctx.account_id, identity.identity)
    if must_exist is True and name not in existing:
        raise NotFound(f"Policy {name} does not exist for identity {identity.identity}.")
    if must_exist is False and name in existing:
        raise AlreadyExists(f"Policy {name} already exists for identity {identity.identity}.")
    if name not in existing and len(existing) >= policies.MAX_POLICIES:
        raise LimitExceeded(f"An identity can have at most {policies.MAX_POLICIES} policies.")
    await identities(ctx).put_policy(ctx.account_id, identity.identity, name, document)


@operation("ses", "PutIdentityPolicy")
async def put_identity_policy(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await _put(ctx, params["Identity"], params["PolicyName"], params["Policy"], must_exist=None)
    return {}


@operation("ses", "GetIdentityPolicies")
async def get_identity_policies(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    found = await identities(ctx).policies(ctx.account_id, params["Identity"])
    return {"Policies": {n: found[n] for n in params.get("PolicyNames") or [] if n in found}}


@operation("ses", "ListIdentityPolicies")
async def list_identity_policies(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    return {"PolicyNames": list(await identities(ctx).policies(ctx.account_id, params["Identity"]))}


@operation("ses", "DeleteIdentityPolicy")
async def delete_identity_policy(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await identities(ctx).delete_policy(ctx.account_id, params["Identity"], params["PolicyName"])
    return {}


@operation("sesv2", "CreateEmailIdentityPolicy")
async def create_email_identity_policy(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await _put(ctx, params["EmailIdentity"], params["PolicyName"], params["Policy"], must_exist=False)
    return {}


@operation("sesv2", "UpdateEmailIdentityPolicy")
async def update_email_identity_policy(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await _put(ctx, params["EmailIdentity"], params["PolicyName"], params["Policy"], must_exist=True)
    return {}


@operation("sesv2", "GetEmailIdentityPolicies")
async def get_email_identity_policies(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    identity = await identities(ctx).require(ctx.account_id, params["EmailIdentity"])
    return {"Policies": await identities(ctx).policies(ctx.account_id, identity.identity)}


@operation("sesv2", "DeleteEmailIdentityPolicy")
async def delete_email_identity_policy(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    identity = await identities(ctx).require(ctx.account_id, params["EmailIdentity"])
    if not await identities(ctx).delete_policy(ctx.account_id, identity.identity, params["PolicyName"]):
        raise NotFound(f"Policy {params['PolicyName']} does not exist for identity {identity.identity}.")
    return {}
