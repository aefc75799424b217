"""SendEmail and SendRawEmail (SES v1) and SendEmail (SES v2): translate, then the pipeline."""

from __future__ import annotations

import re
from typing import Any

from openses.api.context import RequestContext
from openses.api.registry import operation
from openses.core.mime import Attachment, SimpleContent
from openses.core.sending import V1_MAX_BYTES, V2_MAX_BYTES, SendOptions, check_configuration_set
from openses.errors import InvalidParameterValue

_TAG = re.compile(r"[A-Za-z0-9_-]{1,256}\Z")


def _tags(raw: list[dict[str, str]] | None) -> tuple[tuple[str, str], ...]:
    tags = tuple((t["Name"], t["Value"]) for t in raw or ())
    for name, value in tags:
        if not _TAG.match(name) or not _TAG.match(value):
            raise InvalidParameterValue(
                "Tag names and values may contain only ASCII letters, numbers, underscores and "
                "dashes, at most 256 characters.")
    return tags


def _options(ctx: RequestContext, params: dict[str, Any], *, action: str, version: str,
             tags_key: str, max_bytes: int) -> SendOptions:
    config_set = params.get("ConfigurationSetName")
    if config_set:
        check_configuration_set(config_set)
    arn = params.get("FromArn") or params.get("SourceArn") or params.get("FromEmailAddressIdentityArn")
    return SendOptions(action=action, api_version=version, configuration_set=config_set,
                       tags=_tags(params.get(tags_key)), max_bytes=max_bytes, identity_arn=arn)


def _simple(subject: dict[str, Any], body: dict[str, Any], headers: list[dict[str, str]] | None = None,
            attachments: list[dict[str, Any]] | None = None) -> SimpleContent:
    text, html = body.get("Text"), body.get("Html")
    return SimpleContent(
        subject=subject["Data"], subject_charset=subject.get("Charset"),
        text=text["Data"] if text else None, text_charset=text.get("Charset") if text else None,
        html=html["Data"] if html else None, html_charset=html.get("Charset") if html else None,
        headers=tuple((h["Name"], h["Value"]) for h in headers or ()),
        attachments=tuple(Attachment(
            content=a["RawContent"], filename=a["FileName"],
            content_type=a.get("ContentType") or "application/octet-stream",
            disposition=(a.get("ContentDisposition") or "ATTACHMENT").lower(),
            content_id=a.get("ContentId"), description=a.get("ContentDescription"))
            for a in attachments or ()),
    )


def _destination(params: dict[str, Any]) -> tuple[list[str], list[str], list[str]]:
    d = params.get("Destination") or {}
    return d.get("ToAddresses") or [], d.get("CcAddresses") or [], d.get("BccAddresses") or []


@operation("ses", "SendEmail", self_authorizing=True)
async def send_email_v1(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    options = _options(ctx, params, action="ses:SendEmail", version="1", tags_key="Tags",
                       max_bytes=V1_MAX_BYTES)
    to, cc, bcc = _destination(params)
    message = params["Message"]
    message_id = await ctx.services.sending.send_simple(
        ctx.principal, from_address=params["Source"], to=to, cc=cc, bcc=bcc,
        reply_to=params.get("ReplyToAddresses") or [],
        content=_simple(message["Subject"], message["Body"]),
        return_path=params.get("ReturnPath"), options=options)
    return {"MessageId": message_id}


@operation("ses", "SendRawEmail", self_authorizing=True)
async def send_raw_email_v1(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    options = _options(ctx, params, action="ses:SendRawEmail", version="1", tags_key="Tags",
                       max_bytes=V1_MAX_BYTES)
    message_id = await ctx.services.sending.send_raw(
        ctx.principal, raw=params["RawMessage"]["Data"], source=params.get("Source"),
        destinations=params.get("Destinations"), options=options)
    return {"MessageId": message_id}


@operation("sesv2", "SendEmail", self_authorizing=True)
async def send_email_v2(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    content = params["Content"]
    sending = ctx.services.sending
    if "Raw" in content:
        options = _options(ctx, params, action="ses:SendRawEmail", version="2", tags_key="EmailTags",
                           max_bytes=V2_MAX_BYTES)
        to, cc, bcc = _destination(params)
        message_id = await sending.send_raw(
            ctx.principal, raw=content["Raw"]["Data"], source=params.get("FromEmailAddress"),
            destinations=(to + cc + bcc) or None, options=options)
        return {"MessageId": message_id}
    if "Simple" in content:
        options = _options(ctx, params, action="ses:SendEmail", version="2", tags_key="EmailTags",
                           max_bytes=V2_MAX_BYTES)
        if not params.get("FromEmailAddress"):
            raise InvalidParameterValue("FromEmailAddress is required when the content is Simple.")
        simple = content["Simple"]
        to, cc, bcc = _destination(params)
        if params.get("ListManagementOptions"):
            from openses.api.templates import send_email_v2_listed_simple  # builds on this module

            return await send_email_v2_listed_simple(ctx, params, options)
        message_id = await sending.send_simple(
            ctx.principal, from_address=params["FromEmailAddress"], to=to, cc=cc, bcc=bcc,
            reply_to=params.get("ReplyToAddresses") or [],
            content=_simple(simple["Subject"], simple["Body"], simple.get("Headers"), simple.get("Attachments")),
            return_path=params.get("FeedbackForwardingEmailAddress"), options=options)
        return {"MessageId": message_id}
    if "Template" in content:
        from openses.api.templates import send_email_v2_template  # templates build on this module

        return await send_email_v2_template(ctx, params)
    raise InvalidParameterValue("Content must have one of Simple, Raw or Template.")
