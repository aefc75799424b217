"""Sending authorization: identity policies that let other accounts send as an identity.

An identity owner attaches policies (PutIdentityPolicy / CreateEmailIdentityPolicy). Another
account then sends with SourceArn / FromArn / ReturnPathArn naming the identity's ARN; the send is
allowed when the identity is verified and some statement whose Principal names the sending
account (its id, `arn:aws:iam::<id>:root` or one of its users) allows the action on the identity
ARN, and no such statement denies it. Conditions (ses:FromAddress, ses:Recipients, …) are those
core/policy.py evaluates.

`authorize_cross_account` is the rule the send pipeline calls (see docs/identities.md).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from openses.core.addresses import identity_key
from openses.core.policy import PolicyError, parse_policy
from openses.errors import AccessDenied, InvalidParameterValue, InvalidPolicy, MessageRejected
from openses.store import identities_repo as irepo
from openses.store.store import Store

MAX_POLICIES = 20  # SES: up to 20 policies per identity
MAX_POLICY_BYTES = 4096
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")
_IDENTITY_ARN = re.compile(r"arn:aws:ses:(?P<region>[^:]+):(?P<account>\d{12}):identity/(?P<identity>.+)\Z")


@dataclass(frozen=True)
class IdentityArn:
    region: str
    account_id: str
    identity: str

    @classmethod
    def parse(cls, arn: str) -> IdentityArn:
        m = _IDENTITY_ARN.match(arn)
        if m is None:
            raise InvalidParameterValue(f"Illegal ARN: {arn}")
        return cls(m["region"], m["account"], m["identity"])

    def __str__(self) -> str:
        return f"arn:aws:ses:{self.region}:{self.account_id}:identity/{self.identity}"


def check_name(name: str) -> None:
    if not _NAME.match(name):
        raise InvalidParameterValue("Policy name must be 1 to 64 letters, digits, dashes and underscores.")


def validate(document: str, identity_arn: str) -> dict[str, Any]:
    """The parsed policy, or InvalidPolicy saying why (SES checks Principal, Action, Resource)."""
    if len(document.encode()) > MAX_POLICY_BYTES:
        raise InvalidPolicy(f"Policy exceeds the maximum size of {MAX_POLICY_BYTES} bytes.")
    try:
        parsed = json.loads(document)
        parse_policy(parsed)
    except (json.JSONDecodeError, PolicyError) as e:
        raise InvalidPolicy(f"Policy is not valid: {e}") from None
    for st in _statements(parsed):
        if "Principal" not in st:
            raise InvalidPolicy("Policy has a statement without a Principal.")
        for resource in _list(st.get("Resource", [])):
            if not re.fullmatch(_glob(resource), identity_arn):
                raise InvalidPolicy(f"Policy has invalid resource: {resource}")
    return dict(parsed)


def _statements(doc: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [s for s in _list(doc.get("Statement", [])) if isinstance(s, Mapping)]


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _glob(pattern: str) -> str:
    return ".*".join(re.escape(part) for part in pattern.split("*"))


def _principal_matches(principal: Any, account_id: str, caller_arn: str) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        return False
    for value in _list(principal.get("AWS", [])):
        if value in ("*", account_id, f"arn:aws:iam::{account_id}:root", caller_arn):
            return True
    return False


def allows(documents: Sequence[str], *, account_id: str, caller_arn: str, action: str,
           resource: str, context: Mapping[str, Sequence[str]]) -> bool:
    """True when the policies let `account_id` (calling as `caller_arn`) do `action` on `resource`."""
    statements = [st for doc in documents for st in _statements(json.loads(doc))
                  if _principal_matches(st.get("Principal"), account_id, caller_arn)]
    if not statements:
        return False
    return parse_policy({"Statement": statements}).decide(action, resource, context)


async def authorize_cross_account(store: Store, *, caller_account_id: str, caller_arn: str, arn: str,
                                  action: str, context: Mapping[str, Sequence[str]]) -> IdentityArn:
    """For the send pipeline: may `caller_account_id` send as the identity `arn` names?

    Returns the parsed ARN (the owner account is `.account_id`); raises MessageRejected when the
    identity is not verified in its owner account, AccessDenied when no policy allows the send.
    An ARN of the caller's own account needs no policy.
    """
    target = IdentityArn.parse(arn)
    key = identity_key(target.identity)
    row = await store.read(lambda c: irepo.get_identity(c, target.account_id, key))
    if row is None or row["status"] != "SUCCESS":
        raise MessageRejected(f"Email address is not verified. The following identities failed the "
                              f"check in region {target.region.upper()}: {target.identity}")
    if target.account_id == caller_account_id:
        return target
    documents = list((await store.read(lambda c: irepo.list_policies(c, target.account_id, key))).values())
    if not allows(documents, account_id=caller_account_id, caller_arn=caller_arn, action=action,
                  resource=str(target), context=context):
        raise AccessDenied(f"User `{caller_arn}' is not authorized to perform `{action}' on resource `{arn}'")
    return target
