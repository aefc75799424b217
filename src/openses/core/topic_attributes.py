"""Attributes and tags of SNS topics and subscriptions, as the SNS API reads and sets them.

Settable topic attributes: DisplayName, SignatureVersion ("1" SHA1withRSA, "2" SHA256withRSA; the
outbox signs with it) and Policy (kept and shown, not evaluated: the account's key policy governs
its calls, and openses publishes only the account's own events to the account's own topics).
Subscriptions have RawMessageDelivery. Anything else SNS has (FIFO, KMS, delivery and filter
policies, data protection) is refused with InvalidParameter rather than stored and ignored.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy.engine import Connection

from openses.core.sns_signing import DEFAULT_SIGNATURE_VERSION, SIGNATURE_VERSIONS
from openses.errors import InvalidParameterValue
from openses.store import sns_repo

if TYPE_CHECKING:
    from openses.core.topics import Subscription

TOPIC_SETTABLE = ("DisplayName", "SignatureVersion", "Policy")
MAX_DISPLAY_NAME = 100  # SNS: up to 100 characters
MAX_TAGS = 50  # SNS: 50 tags a topic


def _invalid(what: str) -> InvalidParameterValue:
    return InvalidParameterValue(f"Invalid parameter: {what}")


def check_attribute(name: str, value: str) -> str:
    """`value` if `name` is a topic attribute openses sets and the value fits it."""
    if name not in TOPIC_SETTABLE:
        raise _invalid(f"AttributeName (openses sets only {', '.join(TOPIC_SETTABLE)})")
    if name == "SignatureVersion" and value not in SIGNATURE_VERSIONS:
        raise _invalid("SignatureVersion (must be 1 or 2)")
    if name == "DisplayName" and len(value) > MAX_DISPLAY_NAME:
        raise _invalid(f"DisplayName (at most {MAX_DISPLAY_NAME} characters)")
    if name == "Policy":
        try:
            if not isinstance(orjson.loads(value), dict):
                raise ValueError
        except ValueError:
            raise _invalid("Policy Error: the policy is not a JSON object") from None
    return value


def checked(attributes: dict[str, str]) -> dict[str, str]:
    try:
        return {name: check_attribute(name, value) for name, value in attributes.items()}
    except InvalidParameterValue as e:
        raise _invalid(f"Attributes Reason: {e.message.removeprefix('Invalid parameter: ')}") from None


def check_same(conn: Connection, arn: str, attributes: dict[str, str], tags: dict[str, str] | None) -> None:
    """CreateTopic of an existing topic: SNS answers it only when nothing given differs."""
    row = sns_repo.get_topic_attributes(conn, arn) or {"attributes": {}, "tags": {}}
    if any(row["attributes"].get(k, _default(k)) != v for k, v in attributes.items()):
        raise _invalid("Attributes Reason: Topic already exists with different attributes")
    if tags is not None and tags and tags != row["tags"]:
        raise _invalid("Tags Reason: Topic already exists with different tags")


def _default(name: str) -> str | None:
    return DEFAULT_SIGNATURE_VERSION if name == "SignatureVersion" else None


def topic_attributes(conn: Connection, topic: dict[str, Any]) -> dict[str, str]:
    """GetTopicAttributes' map for a topic row."""
    arn, owner = topic["arn"], topic["account_id"]
    row = sns_repo.get_topic_attributes(conn, arn) or {"attributes": {}, "deleted_subscriptions": 0}
    stored, deleted = row["attributes"], row["deleted_subscriptions"]
    counts = sns_repo.subscription_counts(conn, arn)
    return {"TopicArn": arn, "Owner": owner, "DisplayName": stored.get("DisplayName", ""),
            "Policy": stored.get("Policy") or default_policy(arn, owner),
            "SignatureVersion": stored.get("SignatureVersion", DEFAULT_SIGNATURE_VERSION),
            "SubscriptionsConfirmed": str(counts.get("Confirmed", 0)),
            "SubscriptionsPending": str(counts.get("PendingConfirmation", 0)),
            "SubscriptionsDeleted": str(deleted)}


def default_policy(arn: str, owner: str) -> str:
    """The policy SNS gives a new topic: its owner's account may do everything with it."""
    actions = ["SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission", "SNS:RemovePermission",
               "SNS:DeleteTopic", "SNS:Subscribe", "SNS:ListSubscriptionsByTopic", "SNS:Publish"]
    return orjson.dumps({"Version": "2008-10-17", "Id": "__default_policy_ID", "Statement": [{
        "Sid": "__default_statement_ID", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": actions,
        "Resource": arn, "Condition": {"StringEquals": {"AWS:SourceOwner": owner}}}]}).decode()


def set_topic_attribute(conn: Connection, arn: str, name: str, value: str | None) -> None:
    """Set (or, with an empty value, reset) one attribute; the others and the tags are kept (the
    row is locked until the caller's transaction ends)."""
    now = time.time()
    row = sns_repo.lock_topic_attributes(conn, arn, now)
    attributes = dict(row["attributes"])
    if name not in TOPIC_SETTABLE or value:
        attributes[name] = check_attribute(name, value or "")
    else:
        attributes.pop(name, None)
    sns_repo.put_topic_attributes(conn, arn, attributes, row["tags"], now)


# --- tags -----------------------------------------------------------------------------------------

def tags_of(conn: Connection, arn: str) -> dict[str, str]:
    return dict((sns_repo.get_topic_attributes(conn, arn) or {}).get("tags") or {})


def change_tags(conn: Connection, arn: str, add: dict[str, str], remove: list[str]) -> None:
    """Add and remove tags; the other tags and the attributes are kept (as set_topic_attribute)."""
    now = time.time()
    row = sns_repo.lock_topic_attributes(conn, arn, now)
    tags = {k: v for k, v in {**row["tags"], **add}.items() if k not in remove}
    if len(tags) > MAX_TAGS:
        raise _invalid(f"Tags Reason: a topic has at most {MAX_TAGS} tags")
    sns_repo.put_topic_attributes(conn, arn, row["attributes"], tags, now)


# --- subscriptions ----------------------------------------------------------------------------------

def subscription_attributes(sub: Subscription, owner: str) -> dict[str, str]:
    pending = sub.status != "Confirmed"
    return {"SubscriptionArn": sub.arn, "TopicArn": sub.topic_arn, "Owner": owner, "Protocol": sub.protocol,
            "Endpoint": sub.endpoint, "PendingConfirmation": _bool(pending),
            "ConfirmationWasAuthenticated": _bool(not pending), "RawMessageDelivery": _bool(sub.raw)}


def _bool(value: bool) -> str:
    return "true" if value else "false"


def raw_delivery(name: str, value: str, protocol: str) -> bool:
    """The RawMessageDelivery value to store (the only subscription attribute openses sets)."""
    if name != "RawMessageDelivery":
        raise _invalid(f"AttributeName (openses sets only RawMessageDelivery, not {name})")
    if value.lower() not in ("true", "false"):
        raise _invalid("RawMessageDelivery (must be true or false)")
    if protocol == "webhook" and value.lower() == "false":
        raise _invalid("RawMessageDelivery (webhook subscriptions always receive the bare event)")
    return value.lower() == "true"
