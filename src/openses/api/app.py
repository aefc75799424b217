"""The HTTP front door: a bare ASGI callable for the SES v1/v2, STS and SNS APIs.

Per request: read the body → find the service and codec → SigV4 → parse and validate from the
model → check the key's policy → the handler → serialize. Errors are SESError subclasses,
rendered once here per protocol. Anything else is logged and answered InternalFailure.
Starlette would cost ~25 µs a request on this path (ARCHITECTURE.md), so it serves only the
web pages mounted behind this app.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from openses.api import registry
from openses.api.context import RequestContext, Services
from openses.core import ids
from openses.core.accounts import Principal
from openses.core.policy import parse_policy
from openses.errors import (
    AccessDenied,
    InternalFailure,
    InvalidClientTokenId,
    NotImplementedOperation,
    RequestEntityTooLarge,
    SESError,
)
from openses.protocol.query import QueryCodec
from openses.protocol.restjson import RestJsonCodec
from openses.protocol.sigv4 import SigV4Verifier, SignedRequest, parse_signature

log = logging.getLogger("openses.api")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# A 40 MB v2 message base64-encoded in JSON, with room for the rest of the request.
MAX_BODY = 56 * 1024 * 1024
_XML = [(b"content-type", b"text/xml")]
_JSON = [(b"content-type", b"application/json")]
_ALLOW_ALL = parse_policy(None)


class ApiApp:
    def __init__(self, services: Services, *, fallback: ASGIApp | None = None,
                 dev_routes: ASGIApp | None = None) -> None:
        registry.load_all()
        self.services = services
        self.settings = services.settings
        self.query = {"ses": QueryCodec("ses"), "sts": QueryCodec("sts"), "sns": QueryCodec("sns")}
        self.rest = RestJsonCodec("sesv2")
        self.verifier = SigV4Verifier()
        self.fallback = fallback
        self.dev_routes = dev_routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await _lifespan(receive, send)
            return
        if kind != "http":
            return
        path: str = scope["path"]
        if path.startswith("/v2/"):
            await self._serve(scope, receive, send, rest=True)
        elif path == "/":
            await self._serve(scope, receive, send, rest=False)
        elif path.startswith("/_openses/") and self.dev_routes is not None:
            await self.dev_routes(scope, receive, send)
        elif self.fallback is not None:
            await self.fallback(scope, receive, send)
        else:
            await _respond(send, 404, _JSON, b'{"message": "Not Found"}')

    async def _serve(self, scope: Scope, receive: Receive, send: Send, *, rest: bool) -> None:
        request_id = ids.request_id()
        service = "sesv2" if rest else "ses"
        try:
            body = await _read_body(receive)
            headers = _headers(scope)
            query = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
            signed = parse_signature(headers, query)
            if not rest and signed.credential.service in ("sts", "sns"):
                service = signed.credential.service  # Query APIs sharing POST /: the scope says which
            raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
            principal = await self._authenticate(signed, scope["method"], raw_path, query, headers, body, service)
            if rest:
                operation, path_params = self.rest.route(scope["method"], raw_path)
                params = self.rest.parse(operation, path_params, query, headers, body, scope["method"])
            else:
                form = query + parse_qsl(body.decode("utf-8"), keep_blank_values=True) if body else query
                operation, params = self.query[service].parse(form)
            ctx = RequestContext(self.services, principal, service, operation, request_id)
            output = await self._call(ctx, params)
        except SESError as err:
            await self._error(send, err, service, request_id)
            return
        except Exception:
            log.exception("request %s failed", request_id)
            await self._error(send, InternalFailure("An internal error occurred."), service, request_id)
            return
        rid = (b"x-amzn-requestid", request_id.encode())
        if rest:
            status, out_headers, out = self.rest.serialize(operation, output)
            await _respond(send, status, [*out_headers, rid], out)
        else:
            out = self.query[service].serialize(operation, output, request_id)
            await _respond(send, 200, [*_XML, rid], out)

    async def _authenticate(self, signed: SignedRequest, method: str, raw_path: str,
                            query: list[tuple[str, str]], headers: dict[str, str], body: bytes,
                            service: str) -> Principal:
        key_id = signed.credential.access_key_id
        principal = await self.services.directory.principal(key_id)
        if principal is None:
            if self.settings.dev_mode:
                # Development mode: any key is the development account, with every permission.
                return Principal(key_id, self.settings.dev_account_id, "developer", "", _ALLOW_ALL)
            raise InvalidClientTokenId("The security token included in the request is invalid.")
        self.verifier.verify(signed, secret_key=principal.secret, method=method, path=raw_path,
                             query=query, headers=headers, body_sha256=None, body=body,
                             expected_region=self.settings.region,
                             expected_services=(service,) if service in ("sts", "sns") else ("ses",))
        return principal

    async def _call(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        key = (ctx.service, ctx.operation)
        if key not in registry.NO_POLICY and key not in registry.SELF_AUTHORIZING:
            action = f"{ctx.service if ctx.service in ('sts', 'sns') else 'ses'}:{ctx.operation}"
            resource = "*"
            if not ctx.principal.policy.decide(action, resource):
                raise AccessDenied(
                    f"User: {ctx.principal.arn} is not authorized to perform: {action} on resource: "
                    f"{resource} because no identity-based policy allows the {action} action")
        handler = registry.handler_for(ctx.service, ctx.operation)
        if handler is None:
            raise NotImplementedOperation(f"The {ctx.operation} operation is not implemented by openses yet.")
        return await handler(ctx, params)

    async def _error(self, send: Send, err: SESError, service: str, request_id: str) -> None:
        if isinstance(err, InternalFailure) or err.status_for(service) >= 500:
            log.warning("request %s: %s %s", request_id, err.code_for(service), err.message)
        if service == "sesv2":
            status, headers, body = self.rest.serialize_error(err, request_id)
            await _respond(send, status, headers, body)
        else:
            status, body = self.query[service].serialize_error(err, request_id)
            await _respond(send, status, [*_XML, (b"x-amzn-requestid", request_id.encode())], body)


def _headers(scope: Scope) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in scope["headers"]:
        name = k.decode("latin-1").lower()
        value = v.decode("latin-1")
        out[name] = f"{out[name]},{value}" if name in out else value
    return out


async def _read_body(receive: Receive) -> bytes:
    message = await receive()
    body: bytes = message.get("body", b"")
    if not message.get("more_body"):
        return body
    chunks = [body]
    size = len(body)
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise RequestEntityTooLarge(f"Request body is larger than {MAX_BODY} bytes.")
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _respond(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [*headers, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
