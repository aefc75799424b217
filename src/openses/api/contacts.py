"""Contact lists and contacts (SES v2): topics, subscription preferences, filters."""

from __future__ import annotations

import datetime as dt
from typing import Any

from openses.api.context import RequestContext
from openses.api.registry import operation
from openses.api.templates import _page
from openses.core.contacts import ContactService


def _service(ctx: RequestContext) -> ContactService:
    return ContactService(ctx.services.store)


def _ts(value: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(value, dt.timezone.utc)


def _preferences(own: dict[str, str] | None) -> list[dict[str, str]]:
    return [{"TopicName": k, "SubscriptionStatus": v} for k, v in (own or {}).items()]


def _defaults(topics: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [{"TopicName": t["TopicName"], "SubscriptionStatus": t["DefaultSubscriptionStatus"]} for t in topics]


@operation("sesv2", "CreateContactList")
async def create_contact_list(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await _service(ctx).create_list(ctx.account_id, params["ContactListName"], params.get("Topics") or [],
                                    params.get("Description"), params.get("Tags"))
    return {}


@operation("sesv2", "GetContactList")
async def get_contact_list(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    row = await _service(ctx).get_list(ctx.account_id, params["ContactListName"])
    out = {"ContactListName": row["name"], "Topics": row["topics"], "CreatedTimestamp": _ts(row["created_at"]),
           "LastUpdatedTimestamp": _ts(row["updated_at"]), "Tags": row["tags"] or []}
    return {**out, **({"Description": row["description"]} if row["description"] is not None else {})}


@operation("sesv2", "UpdateContactList")
async def update_contact_list(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await _service(ctx).update_list(ctx.account_id, params["ContactListName"], params.get("Topics"),
                                    params.get("Description"))
    return {}


@operation("sesv2", "DeleteContactList")
async def delete_contact_list(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await _service(ctx).delete_list(ctx.account_id, params["ContactListName"])
    return {}


@operation("sesv2", "ListContactLists")
async def list_contact_lists(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    rows = await _service(ctx).lists(ctx.account_id)
    page, token = _page(rows, params.get("NextToken"), params.get("PageSize"))
    out: dict[str, Any] = {"ContactLists": [{"ContactListName": r["name"],
                                             "LastUpdatedTimestamp": _ts(r["updated_at"])} for r in page]}
    return {**out, **({"NextToken": token} if token else {})}


@operation("sesv2", "CreateContact")
async def create_contact(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await _service(ctx).create_contact(ctx.account_id, params["ContactListName"], params["EmailAddress"],
                                       params.get("TopicPreferences") or [], bool(params.get("UnsubscribeAll")),
                                       params.get("AttributesData"))
    return {}


@operation("sesv2", "GetContact")
async def get_contact(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    row, topics = await _service(ctx).get_contact(ctx.account_id, params["ContactListName"], params["EmailAddress"])
    out = {"ContactListName": row["list_name"], "EmailAddress": row["email"],
           "TopicPreferences": _preferences(row["topic_preferences"]), "TopicDefaultPreferences": _defaults(topics),
           "UnsubscribeAll": bool(row["unsubscribe_all"]), "CreatedTimestamp": _ts(row["created_at"]),
           "LastUpdatedTimestamp": _ts(row["updated_at"])}
    return {**out, **({"AttributesData": row["attributes"]} if row["attributes"] is not None else {})}


@operation("sesv2", "UpdateContact")
async def update_contact(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await _service(ctx).update_contact(ctx.account_id, params["ContactListName"], params["EmailAddress"],
                                       params.get("TopicPreferences"), params.get("UnsubscribeAll"),
                                       params.get("AttributesData"))
    return {}


@operation("sesv2", "DeleteContact")
async def delete_contact(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    await _service(ctx).delete_contact(ctx.account_id, params["ContactListName"], params["EmailAddress"])
    return {}


@operation("sesv2", "ListContacts")
async def list_contacts(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    f = params.get("Filter") or {}
    topic_filter = f.get("TopicFilter") or {}
    rows, topics = await _service(ctx).contacts(
        ctx.account_id, params["ContactListName"], f.get("FilteredStatus"), topic_filter.get("TopicName"),
        bool(topic_filter.get("UseDefaultIfPreferenceUnavailable")))
    page, token = _page(rows, params.get("NextToken"), params.get("PageSize"), maximum=1000)
    out: dict[str, Any] = {"Contacts": [
        {"EmailAddress": r["email"], "TopicPreferences": _preferences(r["topic_preferences"]),
         "TopicDefaultPreferences": _defaults(topics), "UnsubscribeAll": bool(r["unsubscribe_all"]),
         "LastUpdatedTimestamp": _ts(r["updated_at"])} for r in page]}
    return {**out, **({"NextToken": token} if token else {})}
