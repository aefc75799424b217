"""Account operations: quotas, sending switch, production access request, statistics."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from sqlalchemy.engine import Connection

from openses.api.context import RequestContext
from openses.api.registry import operation
from openses.api.suppression import suppression_attributes
from openses.core.accounts import Account, review_status
from openses.core import statistics
from openses.errors import InternalFailure
from openses.store import repositories as repo


async def _account(ctx: RequestContext) -> Account:
    account = await ctx.services.directory.account(ctx.account_id)
    if account is None:
        raise InternalFailure("The account of this access key no longer exists.")
    return account


async def _sent_last_24h(ctx: RequestContext) -> int:
    since = int(time.time() // 60) - 24 * 60 + 1
    return await ctx.services.store.read(lambda c: repo.sent_since(c, ctx.account_id, since))


async def _update(ctx: RequestContext, **values: Any) -> None:
    await ctx.services.store.write(lambda c: repo.update_account(c, ctx.account_id, **values))
    ctx.services.directory.forget(ctx.account_id)


@operation("ses", "GetSendQuota")
async def get_send_quota(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    account = await _account(ctx)
    return {"Max24HourSend": account.max_24h_send, "MaxSendRate": account.max_send_rate,
            "SentLast24Hours": float(await _sent_last_24h(ctx))}


@operation("ses", "GetSendStatistics")
async def get_send_statistics(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    since = time.time() - statistics.WINDOW_SECONDS
    rows = await ctx.services.store.read(lambda c: repo.list_events(c, ctx.account_id, since))
    points = statistics.send_data_points(rows)
    return {"SendDataPoints": [
        {"Timestamp": dt.datetime.fromtimestamp(p.start, dt.timezone.utc),
         "DeliveryAttempts": p.delivery_attempts, "Bounces": p.bounces,
         "Complaints": p.complaints, "Rejects": p.rejects} for p in points]}


@operation("ses", "GetAccountSendingEnabled")
async def get_account_sending_enabled(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    return {"Enabled": (await _account(ctx)).sending_enabled}


@operation("ses", "UpdateAccountSendingEnabled")
async def update_account_sending_enabled(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await _update(ctx, sending_enabled=bool(params.get("Enabled", False)))
    return {}


@operation("sesv2", "PutAccountSendingAttributes")
async def put_account_sending_attributes(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await _update(ctx, sending_enabled=bool(params.get("SendingEnabled", False)))
    return {}


@operation("sesv2", "GetAccount")
async def get_account(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    account = await _account(ctx)
    out: dict[str, Any] = {
        "DedicatedIpAutoWarmupEnabled": False,
        "EnforcementStatus": account.enforcement_status,
        "ProductionAccessEnabled": account.production,
        "SendQuota": {"Max24HourSend": account.max_24h_send, "MaxSendRate": account.max_send_rate,
                      "SentLast24Hours": float(await _sent_last_24h(ctx))},
        "SendingEnabled": account.sending_enabled and not account.paused_by_operator
        and account.enforcement_status != "SHUTDOWN",
        "SuppressionAttributes": await suppression_attributes(ctx),
    }
    if account.details:
        out["Details"] = account.details
    return out


@operation("sesv2", "PutAccountDetails")
async def put_account_details(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    fields = ("MailType", "WebsiteURL", "ContactLanguage", "UseCaseDescription", "AdditionalContactEmailAddresses")
    details: dict[str, Any] = {k: params[k] for k in fields if k in params}
    case = f"openses-{ctx.request_id[:8]}"

    def write(conn: Connection) -> None:
        # The status follows production access as the database has it, not the cached account:
        # under the row's lock, an operator granting it meanwhile (the CLI) is seen.
        row = repo.lock_account(conn, ctx.account_id)
        if row is None:
            raise InternalFailure("The account of this access key no longer exists.")
        review = {"Status": review_status(row["production"]), "CaseId": case}
        repo.update_account(conn, ctx.account_id, details=dict(details, ReviewDetails=review))

    await ctx.services.store.write(write)
    ctx.services.directory.forget(ctx.account_id)
    return {}
