"""Resource tags, SES v2: TagResource, UntagResource, ListTagsForResource (core/tags.py)."""

from __future__ import annotations

from typing import Any

from openses.api.context import RequestContext
from openses.api.registry import operation
from openses.core.tags import Resource, TagService, merged, parse_arn, without


def _resource(ctx: RequestContext, params: dict[str, Any]) -> Resource:
    return parse_arn(params["ResourceArn"], ctx.account_id, ctx.region)


@operation("sesv2", "TagResource")
async def tag_resource(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    new = params.get("Tags") or []
    await TagService(ctx.services.store).change(_resource(ctx, params), lambda current: merged(current, new))
    return {}


@operation("sesv2", "UntagResource")
async def untag_resource(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    keys = list(params.get("TagKeys") or [])
    await TagService(ctx.services.store).change(_resource(ctx, params), lambda current: without(current, keys))
    return {}


@operation("sesv2", "ListTagsForResource")
async def list_tags_for_resource(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    return {"Tags": await TagService(ctx.services.store).list(_resource(ctx, params))}
