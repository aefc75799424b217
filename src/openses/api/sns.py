"""The SNS API (Query protocol, SigV4 service "sns") over openses's own topics: what boto3's `sns`
client and `aws sns` call to manage the topics SES event destinations and identity notifications
name. Only http and https subscriptions are delivered; every SNS operation without a handler here
answers NotImplemented (api/app.py). Another account's topics and subscriptions are NotFound."""

from __future__ import annotations

import base64
import time
from typing import Any

from sqlalchemy.engine import Connection

from openses.api.context import RequestContext
from openses.api.registry import operation
from openses.core import topic_attributes as attrs
from openses.core import topics
from openses.errors import InvalidParameterValue
from openses.store import sns_repo

PAGE = 100  # SNS lists 100 topics or subscriptions a page
PENDING = "PendingConfirmation"  # what listings show instead of a pending subscription's ARN
_SNS_PROTOCOLS = ("http", "https")


def _invalid(what: str) -> InvalidParameterValue:
    return InvalidParameterValue(f"Invalid parameter: {what}")


def _tags(items: list[dict[str, str]] | None) -> dict[str, str] | None:
    return None if items is None else {t["Key"]: t.get("Value", "") for t in items}


# --- topics ---------------------------------------------------------------------------------------

@operation("sns", "CreateTopic")
async def create_topic(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    if params.get("DataProtectionPolicy"):
        raise _invalid("DataProtectionPolicy (openses has no data protection policies)")
    name, attributes, tags = params["Name"], params.get("Attributes") or {}, _tags(params.get("Tags"))
    arn = await ctx.services.store.write(
        lambda c: topics.create_topic(c, ctx.region, ctx.account_id, name, attributes, tags))
    return {"TopicArn": arn}


@operation("sns", "DeleteTopic")
async def delete_topic(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["TopicArn"]
    await ctx.services.store.write(lambda c: topics.delete_owned_topic(c, arn, ctx.account_id))
    return {}


@operation("sns", "ListTopics")
async def list_topics(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    after = params.get("NextToken") or ""
    rows = await ctx.services.store.read(lambda c: sns_repo.topics_page(c, ctx.account_id, after, PAGE + 1))
    out: dict[str, Any] = {"Topics": [{"TopicArn": r["arn"]} for r in rows[:PAGE]]}
    if len(rows) > PAGE:
        out["NextToken"] = rows[PAGE - 1]["arn"]
    return out


@operation("sns", "GetTopicAttributes")
async def get_topic_attributes(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["TopicArn"]
    found = await ctx.services.store.read(
        lambda c: attrs.topic_attributes(c, topics.owned_topic(c, arn, ctx.account_id)))
    return {"Attributes": found}


@operation("sns", "SetTopicAttributes")
async def set_topic_attributes(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    arn, name, value = params["TopicArn"], params["AttributeName"], params.get("AttributeValue")

    def update(conn: Connection) -> None:
        topics.owned_topic(conn, arn, ctx.account_id)
        attrs.set_topic_attribute(conn, arn, name, value)

    await ctx.services.store.write(update)
    return {}


# --- tags -----------------------------------------------------------------------------------------

@operation("sns", "ListTagsForResource")
async def list_tags_for_resource(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["ResourceArn"]

    def read(conn: Connection) -> dict[str, str]:
        topics.owned_topic(conn, arn, ctx.account_id)
        return attrs.tags_of(conn, arn)

    tags = await ctx.services.store.read(read)
    return {"Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]}


@operation("sns", "TagResource")
async def tag_resource(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    return await _change_tags(ctx, params["ResourceArn"], _tags(params["Tags"]) or {}, [])


@operation("sns", "UntagResource")
async def untag_resource(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    return await _change_tags(ctx, params["ResourceArn"], {}, params["TagKeys"])


async def _change_tags(ctx: RequestContext, arn: str, add: dict[str, str], remove: list[str]) -> dict[str, Any]:
    def change(conn: Connection) -> None:
        topics.owned_topic(conn, arn, ctx.account_id)
        attrs.change_tags(conn, arn, add, remove)

    await ctx.services.store.write(change)
    return {}


# --- subscriptions -----------------------------------------------------------------------------------

@operation("sns", "Subscribe")
async def subscribe(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    arn, protocol, endpoint = params["TopicArn"], params["Protocol"].lower(), params.get("Endpoint") or ""
    if protocol not in _SNS_PROTOCOLS:
        raise _invalid(f"Invalid protocol type: {params['Protocol']} (openses delivers only http and https)")
    raw = any(attrs.raw_delivery(k, v, protocol) for k, v in (params.get("Attributes") or {}).items())
    settings = ctx.services.settings

    def add(conn: Connection) -> topics.Subscription:
        topics.owned_topic(conn, arn, ctx.account_id)
        return topics.subscribe(conn, arn, protocol, endpoint, raw=raw, public_url=settings.effective_public_url,
                                allow_private=settings.webhook_allow_private)

    try:
        sub = await ctx.services.store.write(add)
    except topics.UnsafeTarget as e:
        raise _invalid(f"Endpoint Reason: {e}") from None
    shown = sub.arn if sub.status == "Confirmed" or params.get("ReturnSubscriptionArn") else "pending confirmation"
    return {"SubscriptionArn": shown}


@operation("sns", "ConfirmSubscription")
async def confirm_subscription(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    arn, token = params["TopicArn"], params["Token"]

    def confirm(conn: Connection) -> topics.Subscription | None:
        topics.owned_topic(conn, arn, ctx.account_id)
        return topics.confirm(conn, arn, token)

    sub = await ctx.services.store.write(confirm)
    if sub is None:
        raise _invalid("Invalid token")
    return {"SubscriptionArn": sub.arn}


@operation("sns", "Unsubscribe")
async def unsubscribe(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["SubscriptionArn"]
    await ctx.services.store.write(
        lambda c: topics.unsubscribe(c, topics.owned_subscription(c, arn, ctx.account_id)))
    return {}


@operation("sns", "ListSubscriptions")
async def list_subscriptions(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    return await _subscriptions_page(ctx, None, params.get("NextToken"))


@operation("sns", "ListSubscriptionsByTopic")
async def list_subscriptions_by_topic(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    return await _subscriptions_page(ctx, params["TopicArn"], params.get("NextToken"))


async def _subscriptions_page(ctx: RequestContext, topic_arn: str | None, token: str | None) -> dict[str, Any]:
    if token is not None and not token.isdigit():
        raise _invalid("NextToken")
    offset = int(token or 0)

    def read(conn: Connection) -> list[dict[str, Any]]:
        if topic_arn is not None:
            topics.owned_topic(conn, topic_arn, ctx.account_id)
        return sns_repo.subscriptions_page(conn, ctx.account_id, topic_arn, offset, PAGE + 1)

    rows = await ctx.services.store.read(read)
    out: dict[str, Any] = {"Subscriptions": [_listed(topics.Subscription.from_row(r), ctx.account_id)
                                             for r in rows[:PAGE]]}
    if len(rows) > PAGE:
        out["NextToken"] = str(offset + PAGE)
    return out


def _listed(sub: topics.Subscription, owner: str) -> dict[str, str]:
    return {"SubscriptionArn": sub.arn if sub.status == "Confirmed" else PENDING, "Owner": owner,
            "Protocol": sub.protocol, "Endpoint": sub.endpoint, "TopicArn": sub.topic_arn}


@operation("sns", "GetSubscriptionAttributes")
async def get_subscription_attributes(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    arn = params["SubscriptionArn"]
    sub = await ctx.services.store.read(lambda c: topics.owned_subscription(c, arn, ctx.account_id))
    return {"Attributes": attrs.subscription_attributes(sub, ctx.account_id)}


@operation("sns", "SetSubscriptionAttributes")
async def set_subscription_attributes(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    arn, name, value = params["SubscriptionArn"], params["AttributeName"], params.get("AttributeValue") or ""

    def update(conn: Connection) -> None:
        sub = topics.owned_subscription(conn, arn, ctx.account_id)
        sns_repo.set_subscription_raw(conn, sub.id, attrs.raw_delivery(name, value, sub.protocol))

    await ctx.services.store.write(update)
    return {}


# --- publishing ----------------------------------------------------------------------------------------

@operation("sns", "Publish")
async def publish(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    arn = _publish_target(params)
    message = topics.message_from(params["Message"], subject=params.get("Subject"),
                                  structure=params.get("MessageStructure"),
                                  attributes=_message_attributes(params.get("MessageAttributes") or {}))
    public_url = ctx.services.settings.effective_public_url

    def publish_to(conn: Connection) -> None:
        topics.owned_topic(conn, arn, ctx.account_id)
        topics.publish(conn, arn, message, public_url, time.time())

    await ctx.services.store.write(publish_to)
    return {"MessageId": message.id}


def _publish_target(params: dict[str, Any]) -> str:
    if params.get("PhoneNumber") or params.get("TargetArn"):
        raise _invalid("openses publishes only to topics: give TopicArn, not TargetArn or PhoneNumber")
    if params.get("MessageGroupId") or params.get("MessageDeduplicationId"):
        raise _invalid("MessageGroupId Reason: The request includes MessageGroupId parameter that is not valid "
                       "for this topic type")
    if not params.get("TopicArn"):
        raise _invalid("TopicArn or TargetArn Reason: no value for required parameter")
    return str(params["TopicArn"])


def _message_attributes(given: dict[str, dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Publish's MessageAttributes as the HTTP envelope carries them: {name: {Type, Value}}."""
    out = {}
    for name, value in given.items():
        kind = value.get("DataType") or ""
        if kind.partition(".")[0] not in ("String", "Number", "Binary"):
            raise _invalid(f"The message attribute '{name}' has an invalid message attribute type")
        if kind.startswith("Binary"):
            text = base64.b64encode(value.get("BinaryValue") or b"").decode("ascii")
        else:
            text = value.get("StringValue") or ""
        out[name] = {"Type": kind, "Value": text}
    return out
