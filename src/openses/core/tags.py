"""Resource tags (SES v2 TagResource, UntagResource, ListTagsForResource) with SES's rules.

A resource is named by its ARN, `arn:aws:ses:<region>:<account>:<type>/<name>`, where type is
`identity`, `configuration-set` or `contact-list`: the resources openses has that SES tags. An
ARN of another account or region, or of a resource that does not exist, is NotFoundException.
SES's limits (API reference, Tag): at most 50 tags; keys of 1 to 128 characters, values of up to
256; letters, digits, white space and `_ . : / = + -`; the `aws:` prefix is reserved.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from openses.core.addresses import identity_key
from openses.errors import InvalidParameterValue, NotFound
from openses.store import tags_repo
from openses.store.store import Store

MAX_TAGS = 50
MAX_KEY, MAX_VALUE = 128, 256
_ALLOWED = re.compile(r"^[\w\s.:/=+\-]*$", re.UNICODE)
_ARN = re.compile(r"^arn:aws[a-z-]*:ses:([a-z0-9-]+):(\d{12}):([a-z-]+)/(.+)$")


@dataclass(frozen=True)
class Resource:
    kind: str
    account_id: str
    name: str  # as stored: identities by their lookup key


def parse_arn(arn: str, account_id: str, region: str) -> Resource:
    """The caller's resource an ARN names; NotFound when it names anything else."""
    found = _ARN.match(arn or "")
    if found is None:
        raise InvalidParameterValue(f"Invalid ResourceArn: {arn}")
    arn_region, owner, kind, name = found.groups()
    if kind not in tags_repo.KINDS or owner != account_id or arn_region != region:
        raise NotFound(f"Resource not found: {arn}")
    return Resource(kind, owner, identity_key(name) if kind == "identity" else name)


def check_tag(tag: dict[str, Any]) -> None:
    key, value = tag.get("Key"), tag.get("Value")
    if not isinstance(key, str) or not 1 <= len(key) <= MAX_KEY or not _ALLOWED.match(key):
        raise InvalidParameterValue(f"Invalid tag key: {key!r}. Keys have 1 to {MAX_KEY} characters.")
    if not isinstance(value, str) or len(value) > MAX_VALUE or not _ALLOWED.match(value):
        raise InvalidParameterValue(f"Invalid tag value for key {key}: values have up to {MAX_VALUE} characters.")
    if key.lower().startswith("aws:") or value.lower().startswith("aws:"):
        raise InvalidParameterValue("The aws: prefix is reserved for use by AWS; you can't use it in tag keys "
                                    "or values.")


def merged(current: list[dict[str, str]], new: list[dict[str, Any]]) -> list[dict[str, str]]:
    """`current` with `new` added; a key given again takes the new value (SES: a key is unique)."""
    if not new:
        raise InvalidParameterValue("Tags must contain at least one tag.")
    for tag in new:
        check_tag(tag)
    values = {t["Key"]: t["Value"] for t in current}
    values.update({t["Key"]: t["Value"] for t in new})
    if len(values) > MAX_TAGS:
        raise InvalidParameterValue(f"A resource can have at most {MAX_TAGS} tags.")
    return [{"Key": k, "Value": v} for k, v in values.items()]


def without(current: list[dict[str, str]], keys: list[str]) -> list[dict[str, str]]:
    if not keys:
        raise InvalidParameterValue("TagKeys must contain at least one key.")
    if any(k.lower().startswith("aws:") for k in keys):
        raise InvalidParameterValue("Tags with the aws: prefix can't be removed.")
    return [t for t in current if t["Key"] not in set(keys)]


class TagService:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def list(self, resource: Resource) -> list[dict[str, str]]:
        found = await self._store.read(lambda c: tags_repo.get_tags(c, resource.kind, resource.account_id,
                                                                    resource.name))
        if found is None:
            raise NotFound(f"Resource not found: {resource.kind}/{resource.name}")
        return found

    async def change(self, resource: Resource,
                     edit: Callable[[builtins.list[dict[str, str]]], builtins.list[dict[str, str]]]) -> None:
        """Read, edit and write the tags in one transaction, the resource's row locked: a tag
        added or removed meanwhile (another request, another node) is kept."""
        def write(conn: Any) -> None:
            current = tags_repo.lock_tags(conn, resource.kind, resource.account_id, resource.name)
            if current is None:
                raise NotFound(f"Resource not found: {resource.kind}/{resource.name}")
            tags_repo.set_tags(conn, resource.kind, resource.account_id, resource.name, edit(current))

        await self._store.write(write)
