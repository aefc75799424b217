"""The account-level suppression list (SES v2), the account's suppression attributes, and the
default configuration set of an identity."""

from __future__ import annotations

import datetime as dt
from typing import Any

from openses.api.context import RequestContext
from openses.api.registry import operation
from openses.core.addresses import identity_key
from openses.core.configuration_sets import check_name
from openses.core.suppression import SuppressionService
from openses.errors import InvalidParameterValue, NotFound
from openses.store import repositories as repo


def _service(ctx: RequestContext) -> SuppressionService:
    return SuppressionService(ctx.services.store, ctx.services.directory)


def _when(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc)


def _epoch(value: Any) -> float | None:
    if value is None:
        return None
    return value.timestamp() if hasattr(value, "timestamp") else float(value)


@operation("sesv2", "PutSuppressedDestination")
async def put_suppressed_destination(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await _service(ctx).put(ctx.account_id, params["EmailAddress"], params["Reason"])
    return {}


@operation("sesv2", "GetSuppressedDestination")
async def get_suppressed_destination(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    row = await _service(ctx).get(ctx.account_id, params["EmailAddress"])
    out: dict[str, Any] = {"EmailAddress": row["email"], "Reason": row["reason"],
                           "LastUpdateTime": _when(row["updated_at"])}
    if row["message_id"]:
        out["Attributes"] = {"MessageId": row["message_id"], "FeedbackId": row["feedback_id"] or ""}
    return {"SuppressedDestination": out}


@operation("sesv2", "DeleteSuppressedDestination")
async def delete_suppressed_destination(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await _service(ctx).delete(ctx.account_id, params["EmailAddress"])
    return {}


@operation("sesv2", "ListSuppressedDestinations")
async def list_suppressed_destinations(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    token = params.get("NextToken")
    if token is not None and not str(token).isdigit():
        raise InvalidParameterValue("Invalid NextToken.")
    rows, following = await _service(ctx).page(
        ctx.account_id, reasons=params.get("Reasons"), start=_epoch(params.get("StartDate")),
        end=_epoch(params.get("EndDate")), offset=int(token or 0), size=int(params.get("PageSize") or 1000))
    out: dict[str, Any] = {"SuppressedDestinationSummaries": [
        {"EmailAddress": r["email"], "Reason": r["reason"], "LastUpdateTime": _when(r["updated_at"])} for r in rows]}
    if following is not None:
        out["NextToken"] = str(following)
    return out


@operation("sesv2", "PutAccountSuppressionAttributes")
async def put_account_suppression_attributes(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await _service(ctx).set_reasons(ctx.account_id, params.get("SuppressedReasons") or [])
    return {}


@operation("sesv2", "PutEmailIdentityConfigurationSetAttributes")
async def put_identity_configuration_set(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """The identity's default configuration set, used by sends from it that name none."""
    identity = params["EmailIdentity"]
    key = identity_key(identity) if "@" in identity else identity.lower()
    if await ctx.services.store.read(lambda c: repo.get_identity(c, ctx.account_id, key)) is None:
        raise NotFound(f"Email identity {identity} does not exist.")
    name = params.get("ConfigurationSetName")
    if name:
        check_name(name)
    await _service(ctx).update_settings(ctx.account_id, key, ConfigurationSetName=name)
    return {}


async def suppression_attributes(ctx: RequestContext) -> dict[str, Any]:
    """GetAccount's SuppressionAttributes."""
    return {"SuppressedReasons": list(await _service(ctx).reasons(ctx.account_id))}
