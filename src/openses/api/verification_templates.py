"""Custom verification email templates (SES v1 and v2 CRUD) and SendCustomVerificationEmail."""

from __future__ import annotations

import time
from typing import Any

from openses.api.context import RequestContext
from openses.api.identities import email_verifier, page
from openses.api.registry import operation
from openses.core.identities import covers
from openses.errors import (
    ConfigurationSetDoesNotExist,
    CustomVerificationEmailInvalidContent,
    CustomVerificationEmailTemplateAlreadyExists,
    CustomVerificationEmailTemplateDoesNotExist,
    FromEmailAddressNotVerified,
)
from openses.store import identities_repo as irepo

MAX_CONTENT = 10 * 1024 * 1024  # SES: template content up to 10 MB
_FIELDS = {"FromEmailAddress": "from_address", "TemplateSubject": "subject", "TemplateContent": "content",
           "SuccessRedirectionURL": "success_url", "FailureRedirectionURL": "failure_url"}


async def _check_from(ctx: RequestContext, address: str) -> None:
    verified = await ctx.services.directory.verified(ctx.account_id)
    if not covers(verified, address):
        raise FromEmailAddressNotVerified(f"From email address '{address}' is not verified.")


def _out(row: dict[str, Any], with_content: bool) -> dict[str, Any]:
    out = {"TemplateName": row["name"], **{k: row[v] for k, v in _FIELDS.items() if k != "TemplateContent"}}
    if with_content:
        out["TemplateContent"] = row["content"]
    return out


async def _get(ctx: RequestContext, name: str) -> dict[str, Any]:
    row = await ctx.services.store.read(lambda c: irepo.get_template(c, ctx.account_id, name))
    if row is None:
        raise CustomVerificationEmailTemplateDoesNotExist(f"Custom verification email template {name} does not exist.")
    return row


async def _create(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    if len(params["TemplateContent"].encode()) > MAX_CONTENT:
        raise CustomVerificationEmailInvalidContent("Template content exceeds 10 MB.")
    await _check_from(ctx, params["FromEmailAddress"])
    name = params["TemplateName"]
    if await ctx.services.store.read(lambda c: irepo.get_template(c, ctx.account_id, name)):
        raise CustomVerificationEmailTemplateAlreadyExists(f"Custom verification email template {name} already exists.")
    row = {"account_id": ctx.account_id, "name": name, "tags": params.get("Tags"), "created_at": time.time(),
           **{v: params[k] for k, v in _FIELDS.items()}}
    await ctx.services.store.write(lambda c: irepo.insert_template(c, row))
    return {}


async def _update(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await _get(ctx, params["TemplateName"])
    values = {v: params[k] for k, v in _FIELDS.items() if params.get(k) is not None}
    if "from_address" in values:
        await _check_from(ctx, values["from_address"])
    await ctx.services.store.write(lambda c: irepo.update_template(c, ctx.account_id, params["TemplateName"], **values))
    return {}


async def _delete(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await ctx.services.store.write(lambda c: irepo.delete_template(c, ctx.account_id, params["TemplateName"]))
    return {}


async def _list(ctx: RequestContext, params: dict[str, Any], size_key: str) -> dict[str, Any]:
    rows = await ctx.services.store.read(lambda c: irepo.list_templates(c, ctx.account_id))
    chunk, token = page([_out(r, False) for r in rows], params.get("NextToken"), params.get(size_key), 50)
    return {"CustomVerificationEmailTemplates": chunk, **({"NextToken": token} if token else {})}


async def _send(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    if params.get("ConfigurationSetName"):
        raise ConfigurationSetDoesNotExist(f"Configuration set <{params['ConfigurationSetName']}> does not exist.")
    template = await _get(ctx, params["TemplateName"])
    await _check_from(ctx, template["from_address"])
    message_id = await email_verifier(ctx).start(ctx.account_id, params["EmailAddress"], template=template,
                                                 principal=ctx.principal)
    return {"MessageId": message_id}


for _service in ("ses", "sesv2"):
    operation(_service, "CreateCustomVerificationEmailTemplate")(_create)
    operation(_service, "UpdateCustomVerificationEmailTemplate")(_update)
    operation(_service, "DeleteCustomVerificationEmailTemplate")(_delete)
    operation(_service, "SendCustomVerificationEmail")(_send)


@operation("ses", "GetCustomVerificationEmailTemplate")
@operation("sesv2", "GetCustomVerificationEmailTemplate")
async def get_custom_verification_email_template(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    return _out(await _get(ctx, params["TemplateName"]), True)


@operation("ses", "ListCustomVerificationEmailTemplates")
async def list_custom_verification_email_templates_v1(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    return await _list(ctx, params, "MaxResults")


@operation("sesv2", "ListCustomVerificationEmailTemplates")
async def list_custom_verification_email_templates_v2(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    return await _list(ctx, params, "PageSize")
