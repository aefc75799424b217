"""One-click unsubscribe (RFC 8058) for mail sent with ListManagementOptions.

POST /unsubscribe/<token> with `List-Unsubscribe=One-Click` (urlencoded or multipart/form-data,
as mail clients send it) unsubscribes at once and answers 200. GET shows a page with a button
that makes the same POST: RFC 8058 §1 notes that link scanners fetch URLs (GET) on their own,
so a GET never unsubscribes by itself.
"""

from __future__ import annotations

import html
from email.parser import BytesParser
from email.policy import default as default_policy
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from openses.api.context import Services
from openses.core.contacts import ContactService

ONE_CLICK = ("List-Unsubscribe", "One-Click")
_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1><p>{body}</p>{form}</body></html>"""
_FORM = """<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">
<input type="hidden" name="via" value="page"><button type="submit">Unsubscribe</button></form>"""


def _page(status: int, title: str, body: str, form: str = "") -> HTMLResponse:
    return HTMLResponse(_PAGE.format(title=html.escape(title), body=html.escape(body), form=form),
                        status_code=status)


def form_fields(content_type: str, body: bytes) -> dict[str, str]:
    """Fields of an urlencoded or multipart/form-data body (RFC 8058 §3.1 allows both)."""
    if content_type.startswith("multipart/form-data"):
        message = BytesParser(policy=default_policy).parsebytes(
            b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
        fields = {}
        for part in message.iter_parts() if message.is_multipart() else []:
            name = part.get_param("name", header="content-disposition")
            if name:
                fields[str(name)] = str(part.get_content()).strip()
        return fields
    parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {k: v[0] for k, v in parsed.items()}


def routes(services: Services) -> list[BaseRoute]:
    contacts = ContactService(services.store)

    async def show(request: Request) -> Response:
        link = await contacts.link(request.path_params["token"])
        if link is None:
            return _page(404, "Link not found", "This unsubscribe link is not valid.")
        what = f"topic {link['topic']} of list {link['list_name']}" if link["topic"] else f"list {link['list_name']}"
        return _page(200, "Unsubscribe", f"Unsubscribe {', '.join(link['recipients'])} from {what}?", _FORM)

    async def one_click(request: Request) -> Response:
        fields = form_fields(request.headers.get("content-type", ""), await request.body())
        if fields.get(ONE_CLICK[0]) != ONE_CLICK[1]:
            return _page(400, "Bad request", "The request must contain List-Unsubscribe=One-Click.")
        source = "UnsubscribeLink" if fields.get("via") == "page" else "UnsubscribeHeader"
        if not await contacts.unsubscribe(request.path_params["token"], source):
            return _page(404, "Link not found", "This unsubscribe link is not valid.")
        return _page(200, "Unsubscribed", "You have been unsubscribed.")

    return [Route("/unsubscribe/{token}", show, methods=["GET"]),
            Route("/unsubscribe/{token}", one_click, methods=["POST"])]
