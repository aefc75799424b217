"""The links an SNS-style subscriber follows: SubscribeURL (confirms a pending http/https
subscription, as SNS's ConfirmSubscription does), UnsubscribeURL, and SigningCertURL (the
certificate whose key signs the messages, core/sns_signing.py)."""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from openses.api.context import Services
from openses.core import sns_signing, topics
from openses.errors import NotFound
from openses.store import sns_repo

_XML = "text/xml"
_NS = "http://sns.amazonaws.com/doc/2010-03-31/"


def _reply(action: str, inner: str) -> Response:
    body = (f'<{action}Response xmlns="{_NS}"><{action}Result>{inner}</{action}Result>'
            f"<ResponseMetadata><RequestId>openses</RequestId></ResponseMetadata></{action}Response>")
    return Response(body, media_type=_XML)


def _error(status: int, code: str, message: str) -> Response:
    body = (f'<ErrorResponse xmlns="{_NS}"><Error><Type>Sender</Type><Code>{code}</Code>'
            f"<Message>{escape(message)}</Message></Error></ErrorResponse>")
    return Response(body, status_code=status, media_type=_XML)


def routes(services: Services) -> list[BaseRoute]:
    store = services.store

    async def confirm(request: Request) -> Response:
        arn, token = request.query_params.get("TopicArn", ""), request.query_params.get("Token", "")
        sub = await store.write(lambda c: topics.confirm(c, arn, token))
        if sub is None:
            return _error(404, "NotFound", "No pending subscription matches this topic and token.")
        return _reply("ConfirmSubscription", f"<SubscriptionArn>{escape(sub.arn)}</SubscriptionArn>")

    async def unsubscribe(request: Request) -> Response:
        arn = request.query_params.get("SubscriptionArn", "")
        try:
            # the link is the capability, as SNS's UnsubscribeURL: no account to check
            await store.write(lambda c: topics.unsubscribe(c, topics.owned_subscription(c, arn, None)))
        except NotFound:
            return _error(404, "NotFound", "Subscription does not exist.")
        return _reply("Unsubscribe", "")

    async def certificate(request: Request) -> Response:
        key_id = sns_signing.key_id_from_path_name(request.path_params["name"])
        pem = await store.read(lambda c: sns_repo.get_signing_certificate(c, key_id)) if key_id else None
        if pem is None:
            return _error(404, "NotFound", "No such signing certificate.")
        return Response(pem, media_type="application/x-pem-file")

    return [Route("/sns/confirm", confirm, methods=["GET"]), Route("/sns/unsubscribe", unsubscribe, methods=["GET"]),
            Route("/sns/{name}", certificate, methods=["GET"])]
