"""Email templates (SES v1 *Template, v2 *EmailTemplate), their test rendering, and templated
and bulk sends (v1 SendTemplatedEmail and SendBulkTemplatedEmail, v2 SendBulkEmail and the
Template content of v2 SendEmail)."""

from __future__ import annotations

import base64
from dataclasses import replace
from typing import Any

from openses.api.context import RequestContext
from openses.api.registry import operation
from openses.api.sending import _destination, _options, _simple
from openses.core.contacts import ContactService
from openses.core.email_templates import EmailTemplate, TemplateService, render_for_test
from openses.core.sending import V1_MAX_BYTES, V2_MAX_BYTES, SendOptions
from openses.core.templated_sending import (
    BulkEntry,
    BulkResult,
    ListManagement,
    TemplatedMessage,
    TemplatedSender,
    bulk_status,
)
from openses.errors import InvalidParameterValue, TemplateDoesNotExist


def _templates(ctx: RequestContext) -> TemplateService:
    return TemplateService(ctx.services.store, region=ctx.region)


def _sender(ctx: RequestContext) -> TemplatedSender:
    s = ctx.services
    return TemplatedSender(s.sending, ContactService(s.store), s.store, region=ctx.region,
                           public_url=s.settings.effective_public_url)


def _page(items: list[Any], token: str | None, size: int | None, *,
          maximum: int = 100) -> tuple[list[Any], str | None]:
    """SES pages templates 10 at a time by default, at most 100 (contacts: 1,000)."""
    if size is not None and not 1 <= size <= maximum:
        raise InvalidParameterValue(f"The page size must be between 1 and {maximum}.")
    try:
        start = int(base64.urlsafe_b64decode(token.encode()).decode()) if token else 0
    except ValueError:
        raise InvalidParameterValue("Invalid NextToken.") from None
    end = start + (size or 10)
    nxt = base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(items) else None
    return items[start:end], nxt


# --- SES v1 -----------------------------------------------------------------------------------


@operation("ses", "CreateTemplate")
async def create_template(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    t = params["Template"]
    await _templates(ctx).create(ctx.account_id, t["TemplateName"], t.get("SubjectPart"), t.get("TextPart"),
                                 t.get("HtmlPart"))
    return {}


@operation("ses", "UpdateTemplate")
async def update_template(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    t = params["Template"]
    await _templates(ctx).update(ctx.account_id, t["TemplateName"], t.get("SubjectPart"), t.get("TextPart"),
                                 t.get("HtmlPart"))
    return {}


@operation("ses", "GetTemplate")
async def get_template(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    t = await _templates(ctx).get(ctx.account_id, params["TemplateName"])
    parts = {"SubjectPart": t.subject, "TextPart": t.text, "HtmlPart": t.html}
    return {"Template": {"TemplateName": t.name, **{k: v for k, v in parts.items() if v is not None}}}


@operation("ses", "DeleteTemplate")
async def delete_template(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await _templates(ctx).delete(ctx.account_id, params["TemplateName"])  # SES v1: no error when absent
    return {}


@operation("ses", "ListTemplates")
async def list_templates(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    rows = await _templates(ctx).list(ctx.account_id)
    size = params.get("MaxItems")
    page, token = _page(rows, params.get("NextToken"), min(size, 100) if size else None)
    out: dict[str, Any] = {"TemplatesMetadata": [{"Name": r["name"], "CreatedTimestamp": _ts(r["created_at"])}
                                                 for r in page]}
    return {**out, **({"NextToken": token} if token else {})}


@operation("ses", "TestRenderTemplate")
async def test_render_template(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    template = await _templates(ctx).get(ctx.account_id, params["TemplateName"])
    return {"RenderedTemplate": render_for_test(template, params["TemplateData"])}


@operation("ses", "SendTemplatedEmail", self_authorizing=True)
async def send_templated_email(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    template = await _templates(ctx).find(ctx.account_id, params.get("Template"), params.get("TemplateArn"))
    to, cc, bcc = _destination(params)
    message = TemplatedMessage(
        from_address=params["Source"], to=to, cc=cc, bcc=bcc, reply_to=params.get("ReplyToAddresses") or [],
        data=params["TemplateData"], return_path=params.get("ReturnPath"),
        options=_options(ctx, params, action="ses:SendTemplatedEmail", version="1", tags_key="Tags",
                         max_bytes=V1_MAX_BYTES))
    return {"MessageId": await _sender(ctx).send(ctx.principal, template, message)}


@operation("ses", "SendBulkTemplatedEmail", self_authorizing=True)
async def send_bulk_templated_email(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    template = await _templates(ctx).find(ctx.account_id, params.get("Template"), params.get("TemplateArn"))
    base = TemplatedMessage(
        from_address=params["Source"], to=(), cc=(), bcc=(), reply_to=params.get("ReplyToAddresses") or [],
        data=params["DefaultTemplateData"], return_path=params.get("ReturnPath"),
        options=_options(ctx, params, action="ses:SendBulkTemplatedEmail", version="1", tags_key="DefaultTags",
                         max_bytes=V1_MAX_BYTES))
    entries = [BulkEntry(*_destination(d), data=d.get("ReplacementTemplateData"),
                         tags=_options(ctx, d, action="", version="1", tags_key="ReplacementTags",
                                       max_bytes=0).tags)
               for d in params["Destinations"]]
    results = await _sender(ctx).send_bulk(ctx.principal, template, base, entries)
    return {"Status": [_result(r, "1") for r in results]}


def _result(r: BulkResult, version: str) -> dict[str, Any]:
    out: dict[str, Any] = {"Status": bulk_status(r, version)}
    if r.error is not None:
        out["Error"] = r.error.message
    if r.message_id is not None:
        out["MessageId"] = r.message_id
    return out


def _ts(value: float) -> Any:
    import datetime as dt

    return dt.datetime.fromtimestamp(value, dt.timezone.utc)


# --- SES v2 -----------------------------------------------------------------------------------


@operation("sesv2", "CreateEmailTemplate")
async def create_email_template(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    c = params["TemplateContent"]
    await _templates(ctx).create(ctx.account_id, params["TemplateName"], c.get("Subject"), c.get("Text"),
                                 c.get("Html"), params.get("Tags"))
    return {}


@operation("sesv2", "UpdateEmailTemplate")
async def update_email_template(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    c = params["TemplateContent"]
    await _templates(ctx).update(ctx.account_id, params["TemplateName"], c.get("Subject"), c.get("Text"),
                                 c.get("Html"))
    return {}


@operation("sesv2", "GetEmailTemplate")
async def get_email_template(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    t = await _templates(ctx).get(ctx.account_id, params["TemplateName"])
    content = {k: v for k, v in (("Subject", t.subject), ("Text", t.text), ("Html", t.html)) if v is not None}
    return {"TemplateName": t.name, "TemplateContent": content, **({"Tags": t.tags} if t.tags else {})}


@operation("sesv2", "DeleteEmailTemplate")
async def delete_email_template(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    if not await _templates(ctx).delete(ctx.account_id, params["TemplateName"]):
        raise TemplateDoesNotExist(f"Template {params['TemplateName']} does not exist.")
    return {}


@operation("sesv2", "ListEmailTemplates")
async def list_email_templates(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    rows = await _templates(ctx).list(ctx.account_id)
    page, token = _page(rows, params.get("NextToken"), params.get("PageSize"))
    out: dict[str, Any] = {"TemplatesMetadata": [
        {"TemplateName": r["name"], "CreatedTimestamp": _ts(r["created_at"])} for r in page]}
    return {**out, **({"NextToken": token} if token else {})}


@operation("sesv2", "TestRenderEmailTemplate")
async def test_render_email_template(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    template = await _templates(ctx).get(ctx.account_id, params["TemplateName"])
    return {"RenderedTemplate": render_for_test(template, params["TemplateData"])}


async def _v2_template(ctx: RequestContext, spec: dict[str, Any]) -> EmailTemplate:
    """A stored template (by name or ARN) or an inline one (TemplateContent)."""
    inline = spec.get("TemplateContent")
    if inline is not None:
        if spec.get("TemplateName") or spec.get("TemplateArn"):
            raise InvalidParameterValue("Specify either a template name or ARN, or TemplateContent, not both.")
        return EmailTemplate("inline", inline.get("Subject"), inline.get("Text"), inline.get("Html"), [], 0.0)
    return await _templates(ctx).find(ctx.account_id, spec.get("TemplateName"), spec.get("TemplateArn"))


def _v2_base(ctx: RequestContext, params: dict[str, Any], spec: dict[str, Any], *, action: str,
             tags_key: str) -> TemplatedMessage:
    if not params.get("FromEmailAddress"):
        raise InvalidParameterValue("FromEmailAddress is required when the content is a template.")
    extras = _simple({"Data": ""}, {}, spec.get("Headers"), spec.get("Attachments"))
    lm = params.get("ListManagementOptions")
    return TemplatedMessage(
        from_address=params["FromEmailAddress"], to=(), cc=(), bcc=(),
        reply_to=params.get("ReplyToAddresses") or [], data=spec.get("TemplateData"),
        return_path=params.get("FeedbackForwardingEmailAddress"),
        options=_options(ctx, params, action=action, version="2", tags_key=tags_key, max_bytes=V2_MAX_BYTES),
        headers=extras.headers, attachments=extras.attachments,
        list_management=ListManagement(lm["ContactListName"], lm.get("TopicName")) if lm else None)


async def send_email_v2_template(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """v2 SendEmail with Template content (called from api/sending.py's SendEmail)."""
    spec = params["Content"]["Template"]
    template = await _v2_template(ctx, spec)
    base = _v2_base(ctx, params, spec, action="ses:SendEmail", tags_key="EmailTags")
    to, cc, bcc = _destination(params)
    message_id = await _sender(ctx).send(ctx.principal, template, replace(base, to=to, cc=cc, bcc=bcc))
    return {"MessageId": message_id}


async def send_email_v2_listed_simple(ctx: RequestContext, params: dict[str, Any],
                                      options: SendOptions) -> dict[str, Any]:
    """v2 SendEmail with Simple content and ListManagementOptions (from api/sending.py)."""
    simple = params["Content"]["Simple"]
    lm = params["ListManagementOptions"]
    to, cc, bcc = _destination(params)
    message = TemplatedMessage(
        from_address=params["FromEmailAddress"], to=to, cc=cc, bcc=bcc,
        reply_to=params.get("ReplyToAddresses") or [], data=None, options=options,
        return_path=params.get("FeedbackForwardingEmailAddress"),
        list_management=ListManagement(lm["ContactListName"], lm.get("TopicName")))
    content = _simple(simple["Subject"], simple["Body"], simple.get("Headers"), simple.get("Attachments"))
    return {"MessageId": await _sender(ctx).send_listed_simple(ctx.principal, message, content)}


@operation("sesv2", "SendBulkEmail", self_authorizing=True)
async def send_bulk_email(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    spec = (params["DefaultContent"] or {}).get("Template")
    if not spec:
        raise InvalidParameterValue("DefaultContent must contain a Template.")
    template = await _v2_template(ctx, spec)
    base = _v2_base(ctx, params, spec, action="ses:SendBulkEmail", tags_key="DefaultEmailTags")
    entries = []
    for e in params["BulkEmailEntries"]:
        replacement = ((e.get("ReplacementEmailContent") or {}).get("ReplacementTemplate") or {})
        headers = _simple({"Data": ""}, {}, e.get("ReplacementHeaders")).headers
        tags = _options(ctx, e, action="", version="2", tags_key="ReplacementTags", max_bytes=0).tags
        entries.append(BulkEntry(*_destination(e), data=replacement.get("ReplacementTemplateData"), tags=tags,
                                 headers=headers))
    results = await _sender(ctx).send_bulk(ctx.principal, template, base, entries)
    return {"BulkEmailEntryResults": [_result(r, "2") for r in results]}
