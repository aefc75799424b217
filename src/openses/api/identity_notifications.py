"""Identity feedback notifications (SES v1 SetIdentityNotificationTopic,
GetIdentityNotificationAttributes, SetIdentityHeadersInNotificationsEnabled,
SetIdentityFeedbackForwardingEnabled; SES v2 PutEmailIdentityFeedbackAttributes). The rules and
the publishing are in core/identity_notifications.py; these handlers read and change the
settings kept in the identity's attributes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from openses.api.context import RequestContext
from openses.api.registry import operation
from openses.core.identities import Identity
from openses.core.identity_notifications import NotificationSettings, check_type
from openses.errors import InvalidParameterValue, NotFound
from openses.store import feedback_repo as frepo

Change = Callable[[NotificationSettings], NotificationSettings]


def identity_name(value: str) -> str:
    """SES accepts an identity by name or by ARN (arn:aws:ses:<region>:<account>:identity/<name>)."""
    if value.startswith("arn:") and ":identity/" in value:
        return value.partition(":identity/")[2]
    return value


async def _change(ctx: RequestContext, identity: str, change: Change, *, v2: bool = False) -> Identity:
    """Read-modify-write of one identity's settings; SES v1 names an unknown identity invalid."""
    name = identity_name(identity)

    def update(i: Identity) -> dict[str, Any]:
        settings = change(NotificationSettings.from_attributes(i.attributes))
        return {"attributes": dict(i.attributes, **settings.as_attributes())}

    try:
        return await ctx.services.identities.update(ctx.account_id, name, update)
    except NotFound:
        if v2:
            raise
        raise InvalidParameterValue(f"Identity {name} is invalid. Must be a verified email address or domain.") \
            from None


async def _check_topic(ctx: RequestContext, arn: str) -> None:
    """The topic must be one of this account's openses topics (openses has no cross-account
    topic policies)."""
    topic = await ctx.services.store.read(lambda c: frepo.get_topic(c, arn))
    if topic is None or topic["account_id"] != ctx.account_id:
        raise InvalidParameterValue(f"SNS topic {arn} is invalid.")


@operation("ses", "SetIdentityNotificationTopic")
async def set_identity_notification_topic(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    kind = check_type(params["NotificationType"])
    arn = params.get("SnsTopic")
    if arn is not None:  # SES: omitted (or null) clears the topic; an empty string is an invalid topic
        await _check_topic(ctx, arn)
    await _change(ctx, params["Identity"], lambda s: s.with_topic(kind, arn))
    return {}


@operation("ses", "GetIdentityNotificationAttributes")
async def get_identity_notification_attributes(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in params.get("Identities") or []:
        identity = await ctx.services.identities.get(ctx.account_id, identity_name(name))
        if identity is not None:  # SES leaves unknown identities out
            out[name] = NotificationSettings.from_attributes(identity.attributes).as_v1()
    return {"NotificationAttributes": out}


@operation("ses", "SetIdentityHeadersInNotificationsEnabled")
async def set_identity_headers_in_notifications_enabled(ctx: RequestContext,
                                                        params: dict[str, Any]) -> dict[str, Any]:
    kind = check_type(params["NotificationType"])
    await _change(ctx, params["Identity"], lambda s: s.with_headers(kind, bool(params["Enabled"])))
    return {}


@operation("ses", "SetIdentityFeedbackForwardingEnabled")
async def set_identity_feedback_forwarding_enabled(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    enabled = bool(params["ForwardingEnabled"])
    await _change(ctx, params["Identity"], lambda s: s.with_forwarding(enabled))
    return {}


@operation("sesv2", "PutEmailIdentityFeedbackAttributes")
async def put_email_identity_feedback_attributes(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """SES v2 lets forwarding be turned off without topics; feedback that nothing else reports
    is mailed all the same (core/identity_notifications.should_forward)."""
    enabled = bool(params.get("EmailForwardingEnabled"))
    await _change(ctx, params["EmailIdentity"], lambda s: s.with_forwarding(enabled, strict=False), v2=True)
    return {}
