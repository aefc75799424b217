"""The verification link people click: `/verify/<token>` verifies the address it was sent to.

A custom verification template redirects to its success or failure URL; otherwise a small page
says what happened.
"""

from __future__ import annotations

import html

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from openses.api.context import Services
from openses.core.verification import EmailVerifier

_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1><p>{body}</p></body></html>"""


def _page(status: int, title: str, body: str) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(title=html.escape(title), body=html.escape(body)), status_code=status)


def routes(services: Services) -> list[BaseRoute]:
    settings = services.settings

    async def verify(request: Request) -> Response:
        verifier = EmailVerifier(services.store, services.sending, services.accounts,
                                 public_url=settings.effective_public_url,
                                 sender_domain=settings.message_id_domain, region=settings.region)
        followed = await verifier.follow(request.path_params["token"])
        if followed.account_id:
            services.directory.forget(followed.account_id)
        if followed.redirect:
            return RedirectResponse(followed.redirect, status_code=302)
        if followed.verified:
            return _page(200, "Congratulations!", f"You have successfully verified {followed.identity}. "
                         "You can now start sending email from this address.")
        return _page(400, "Verification failed", followed.reason)

    return [Route("/verify/{token}", verify, methods=["GET"])]
