"""Open and click tracking endpoints (the URLs delivery/tracking.py writes into HTML mail).

GET /track/open/<token>   records an Open event and answers a 1x1 transparent GIF, never cached
                          (every open is an event, as in SES).
GET /track/click/<token>  records a Click event and redirects (302) to the link the token carries.

A token that does not verify gets 404 and no redirect: the target comes only from a token we
signed (core/tracking_tokens.py), so these URLs cannot be used as an open redirector. HEAD
requests (link checkers) get the same answer but record nothing. The ipAddress is the peer of
the connection (the API port is served without proxy headers).
"""

from __future__ import annotations

import base64

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from openses.api.context import Services
from openses.core.tracking import CLICK_PATH, OPEN_PATH, TrackingEvents, codec_from

# The smallest transparent GIF89a: 1x1, one transparent colour (GIF89a spec, graphic control ext.).
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NO_CACHE = {"Cache-Control": "no-cache, no-store, must-revalidate, private, max-age=0",
            "Pragma": "no-cache", "Expires": "0"}


def _who(request: Request) -> tuple[str, str]:
    return (request.client.host if request.client else ""), request.headers.get("user-agent", "")


def routes(services: Services) -> list[BaseRoute]:
    events = TrackingEvents(services.store, codec_from(services.settings))

    async def opened(request: Request) -> Response:
        ip, agent = _who(request)
        if not await events.opened(request.path_params["token"], ip, agent, record=request.method == "GET"):
            return PlainTextResponse("Not Found", status_code=404)
        return Response(PIXEL, media_type="image/gif", headers=NO_CACHE)

    async def clicked(request: Request) -> Response:
        ip, agent = _who(request)
        target = await events.clicked(request.path_params["token"], ip, agent, record=request.method == "GET")
        if target is None:
            return PlainTextResponse("This link is not valid.", status_code=404)
        return RedirectResponse(target, status_code=302, headers={"Cache-Control": "no-store"})

    return [Route(OPEN_PATH + "{token}", opened, methods=["GET"]),
            Route(CLICK_PATH + "{token}", clicked, methods=["GET"])]
