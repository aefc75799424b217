"""STS GetCallerIdentity: the first troubleshooting step (`aws sts get-caller-identity`)."""

from __future__ import annotations

from typing import Any

from openses.api.context import RequestContext
from openses.api.registry import operation


@operation("sts", "GetCallerIdentity")
async def get_caller_identity(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    p = ctx.principal
    # IAM user ids start with AIDA; derive a stable one from the key id.
    return {"UserId": "AIDA" + p.key_id[4:], "Account": p.account_id, "Arn": p.arn}
