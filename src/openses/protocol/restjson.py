"""AWS rest-json for SES v2 (2019-09-27): routing by URI template, JSON bodies via orjson.

Routes are compiled from every operation's `http.requestUri` into a segment trie, so finding the
operation costs one dict lookup per path segment whatever the number of operations.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Any
from urllib.parse import unquote

import orjson

from openses.errors import InvalidAction, SESError, ValidationError
from openses.protocol.models import (
    ListNode, MapNode, Member, Node, Operation, StructNode, body_only, query_only, service,
)
from openses.protocol.query import (
    BadValue, null_problem, parse_timestamp, scalar_from_text, type_problem, validation_error,
)

_STRING_MAP = MapNode("string", "string", "key", "value", False)

#: Routes that models moved. botocore 1.44 (PyPI) sends ListEmailIdentities and
#: ListConfigurationSets as POST with every list parameter in the JSON body, plus a new `Filter`
#: map (string → string); botocore 1.43 and AWS CLI v1 send `GET /v2/email/identities?PageSize=…`
#: and `GET /v2/email/configuration-sets?…`. Both forms are served whichever model is installed:
#: (method, requestUri, operation, where the list parameters are, members only newer models have)
ALTERNATE_ROUTES: tuple[tuple[str, str, str, str, dict[str, Node]], ...] = (
    ("GET", "/v2/email/identities", "ListEmailIdentities", "query", {}),
    ("POST", "/v2/email/list-identities", "ListEmailIdentities", "body", {"Filter": _STRING_MAP}),
    ("GET", "/v2/email/configuration-sets", "ListConfigurationSets", "query", {}),
    ("POST", "/v2/email/list-configuration-sets", "ListConfigurationSets", "body", {"Filter": _STRING_MAP}),
)

_JSON = (b"content-type", b"application/json")


class _RouteNode:
    """One path segment of the routing trie."""

    __slots__ = ("literal", "label", "label_next", "greedy", "ends")

    def __init__(self) -> None:
        self.literal: dict[str, _RouteNode] = {}
        self.label: str | None = None  # `{Name}` at this position
        self.label_next: _RouteNode | None = None
        self.greedy: dict[str, tuple[str, str]] = {}  # method → (operation, `{Name+}` label)
        self.ends: dict[str, str] = {}  # method → operation ending here


def _add_route(root: _RouteNode, method: str, uri: str, operation: str) -> None:
    node = root
    for segment in _segments(uri):
        if segment.startswith("{") and segment.endswith("+}"):
            node.greedy[method] = (operation, segment[1:-2])
            return
        if segment.startswith("{") and segment.endswith("}"):
            label = segment[1:-1]
            if node.label_next is None:
                node.label, node.label_next = label, _RouteNode()
            elif node.label != label:
                raise ValueError(f"{uri}: label {label} clashes with {node.label}")
            node = node.label_next
        else:
            node = node.literal.setdefault(segment, _RouteNode())
    node.ends[method] = operation


def _segments(path: str) -> list[str]:
    parts = path.split("/")[1:]
    if parts and parts[-1] == "":
        parts.pop()  # a trailing slash names the same resource
    return parts


def _match(node: _RouteNode, parts: list[str], i: int, method: str,
           params: dict[str, str]) -> str | None:
    if i == len(parts):
        return node.ends.get(method)
    child = node.literal.get(parts[i])
    if child is not None:
        found = _match(child, parts, i + 1, method, params)
        if found is not None:
            return found
    if node.label_next is not None and parts[i]:
        found = _match(node.label_next, parts, i + 1, method, params)
        if found is not None:
            params[node.label] = unquote(parts[i])  # type: ignore[index]
            return found
    greedy = node.greedy.get(method)
    if greedy is not None:
        params[greedy[1]] = unquote("/".join(parts[i:]))
        return greedy[0]
    return None


class RestJsonCodec:
    """Route, parse and render SES v2 requests and responses."""

    def __init__(self, service_name: str = "sesv2") -> None:
        self.service = service(service_name)
        if self.service.protocol != "rest-json":
            raise ValueError(f"{service_name} does not speak rest-json")
        self._name = service_name
        self._ops: dict[str, Operation] = self.service.operations
        self._routes = _RouteNode()
        for op in self._ops.values():
            _add_route(self._routes, op.method, op.uri, op.name)
        self._forms: dict[tuple[str, str], StructNode] = {}  # (method, operation) → input form
        for method, uri, name, form, extra in ALTERNATE_ROUTES:
            alt = self._ops.get(name)
            if alt is None or alt.input is None or (alt.method, alt.uri) == (method, uri):
                continue  # the installed model's own route: its input shape already fits
            _add_route(self._routes, method, uri, name)
            known = {m.name for m in alt.input.members}
            self._forms[(method, name)] = (query_only(alt.input) if form == "query" else
                                           body_only(alt.input, {k: v for k, v in extra.items() if k not in known}))

    # -- requests

    def route(self, method: str, path: str) -> tuple[str, dict[str, str]]:
        """(operation, percent-decoded path labels) for the request line.

        `path` is the raw (still percent-encoded) path, so an encoded `/` inside a label stays
        in the label: pass ASGI's `raw_path`, not `path`.
        """
        path = path.split("?", 1)[0]
        params: dict[str, str] = {}
        found = _match(self._routes, _segments(path), 0, method.upper(), params)
        if found is None:
            raise InvalidAction(f"Unknown operation: {method} {path}")
        return found, params

    def parse(self, operation: str, path_params: Mapping[str, str],
              query: list[tuple[str, str]], headers: Mapping[str, str], body: bytes,
              method: str | None = None) -> dict:
        """The input dict of `operation` from every part of the request (`method` tells which
        form of a moved route was used; without it, a non-empty body means the POST form)."""
        op = self._ops.get(operation)
        if op is None:
            raise InvalidAction(f"Unknown operation: {operation}")
        struct = op.input
        if struct is None:
            return {}
        if method is None:
            method = "POST" if body.strip() else "GET"
        struct = self._forms.get((method.upper(), operation), struct)
        request = _Request(path_params, query, headers, body)
        data: dict | None = None
        problems: list[str] = []
        out = {}
        for member in struct.members:
            if member.location is None:
                if data is None:
                    data = request.json()
                value = data.get(member.wire)
            else:
                value = request.raw(member)
            if value is None:
                if member.name in struct.required:
                    problems.append(null_problem(member.path))
                continue
            if member.location is None:
                out[member.name] = _from_json(value, member.node, member.path, problems)
            else:
                out[member.name] = _from_text(value, member, problems)
        if problems:
            raise validation_error(problems)
        return out

    # -- responses

    def serialize(self, operation: str, output: dict) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """(status, headers, body) of a successful `operation`."""
        op = self._ops[operation]
        struct = op.output
        headers = [_JSON]
        if struct is None or not output:
            return op.response_code, headers, b"{}"
        if struct.plain_json:
            return op.response_code, headers, orjson.dumps(output)
        status = op.response_code
        body: dict[str, Any] = {}
        for member in struct.members:
            value = output.get(member.name)
            if value is None:
                continue
            if member.location is None:
                body[member.wire] = _to_json(value, member.node)
            elif member.location == "header":
                headers.append((member.wire.lower().encode(), _header_text(value, member.node)))
            elif member.location == "headers":
                prefix = member.wire.lower()
                headers += [((prefix + k).lower().encode(), str(v).encode())
                            for k, v in value.items()]
            elif member.location == "statusCode":
                status = int(value)
        return status, headers, orjson.dumps(body)

    def serialize_error(self, err: SESError, request_id: str
                        ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """(status, headers, body) botocore's RestJSONParser turns back into `err`:
        the code comes from `x-amzn-ErrorType`, the message from the body's `message`."""
        headers = [
            _JSON,
            (b"x-amzn-requestid", request_id.encode()),
            (b"x-amzn-errortype", err.code_for(self._name).encode()),
        ]
        return err.status_for(self._name), headers, orjson.dumps({"message": err.message})


class _Request:
    """The raw parts of one request, each decoded only when a member asks for it."""

    __slots__ = ("path_params", "query", "headers", "body", "_json", "_query")

    def __init__(self, path_params: Mapping[str, str], query: list[tuple[str, str]],
                 headers: Mapping[str, str], body: bytes) -> None:
        self.path_params = path_params
        self.query = query
        self.headers = headers
        self.body = body
        self._json: dict | None = None
        self._query: dict[str, list[str]] | None = None

    def raw(self, member: Member) -> Any:
        location = member.location
        if location is None:
            return self.json().get(member.wire)
        if location == "uri":
            return self.path_params.get(member.wire)
        if location == "querystring":
            return self._query_value(member)
        if location == "header":
            return self.headers.get(member.wire.lower())
        if location == "headers":
            prefix = member.wire.lower()
            found = {k[len(prefix):]: v for k, v in self.headers.items() if k.startswith(prefix)}
            return found or None
        return None

    def json(self) -> dict:
        if self._json is None:
            self._json = _decode_json(self.body)
        return self._json

    def _query_value(self, member: Member) -> Any:
        if self._query is None:
            self._query = {}
            for key, value in self.query:
                self._query.setdefault(key, []).append(value)
        node = member.node
        if isinstance(node, MapNode):  # a query-string map takes the pairs nobody else named
            return {k: v[0] for k, v in self._query.items()} or None
        values = self._query.get(member.wire)
        if values is None:
            return None
        return values if isinstance(node, ListNode) else values[0]


def _decode_json(body: bytes) -> dict:
    if not body.strip():
        return {}
    try:
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ValidationError(f"The request body is not valid JSON: {exc}") from None
    if not isinstance(decoded, dict):
        raise ValidationError("The request body must be a JSON object")
    return decoded


def _from_text(value: Any, member: Member, problems: list[str]) -> Any:
    node = member.node
    if isinstance(node, ListNode):
        return [_text_scalar(v, node.member, f"{member.path}.{i}.member", problems)
                for i, v in enumerate(value, 1)]
    if isinstance(node, MapNode):
        return {k: _text_scalar(v, node.value, member.path, problems) for k, v in value.items()}
    return _text_scalar(value, node, member.path, problems)


def _text_scalar(text: str, node: Node, path: str, problems: list[str]) -> Any:
    kind = node if isinstance(node, str) else "string"
    try:
        return scalar_from_text(kind, text)
    except BadValue:
        problems.append(type_problem(kind, text, path))
        return None


def _from_json(value: Any, node: Node, path: str, problems: list[str]) -> Any:
    if isinstance(node, str):
        return _json_scalar(value, node, path, problems)
    if isinstance(node, StructNode):
        if not isinstance(value, dict):
            problems.append(type_problem("structure", value, path))
            return None
        out = {}
        for member in node.members:
            item = value.get(member.wire)
            if item is None:
                if member.name in node.required:
                    problems.append(null_problem(f"{path}.{member.path}"))
                continue
            if member.node == "string" and type(item) is str:
                out[member.name] = item  # the common case, without building a path
            else:
                out[member.name] = _from_json(item, member.node, f"{path}.{member.path}",
                                              problems)
        return out
    if isinstance(node, ListNode):
        if not isinstance(value, list):
            problems.append(type_problem("list", value, path))
            return None
        if node.member == "string" and all(type(item) is str for item in value):
            return value
        return [_from_json(item, node.member, f"{path}.{i}.member", problems)
                for i, item in enumerate(value, 1) if item is not None]
    if not isinstance(value, dict):
        problems.append(type_problem("map", value, path))
        return None
    return {k: _from_json(v, node.value, f"{path}.{k}", problems)
            for k, v in value.items() if v is not None}


def _json_scalar(value: Any, kind: str, path: str, problems: list[str]) -> Any:
    cls = type(value)
    if kind == "string":
        if cls is str:
            return value
    elif kind in ("integer", "long"):
        if cls is int:
            return value
    elif kind in ("double", "float"):
        if cls is float or cls is int:
            return float(value)
    elif kind == "boolean":
        if cls is bool:
            return value
    elif kind == "timestamp":
        try:
            if cls is int or cls is float:
                return datetime.fromtimestamp(value, timezone.utc)
            if cls is str:
                return parse_timestamp(value)
        except (BadValue, ValueError, OverflowError, OSError):
            pass
    elif kind == "blob":
        if cls is str:
            try:
                return base64.b64decode(value, validate=True)
            except binascii.Error:
                pass
    else:
        return value
    problems.append(type_problem(kind, value, path))
    return None


def _to_json(value: Any, node: Node) -> Any:
    if isinstance(node, str):
        if node == "timestamp":
            if value.tzinfo is None:
                value = value.replace(tzinfo=timezone.utc)
            return value.timestamp()  # rest-json: epoch seconds, as AWS sends them
        if node == "blob":
            raw = value.encode() if isinstance(value, str) else value
            return base64.b64encode(raw).decode("ascii")
        return value
    if isinstance(node, StructNode):
        if node.plain_json:
            return value
        return {m.wire: _to_json(value[m.name], m.node) for m in node.members
                if value.get(m.name) is not None}
    if isinstance(node, ListNode):
        return [_to_json(item, node.member) for item in value]
    return {k: _to_json(v, node.value) for k, v in value.items()}


def _header_text(value: Any, node: Node) -> bytes:
    if node == "timestamp":
        return format_datetime(value.astimezone(timezone.utc), usegmt=True).encode()
    if node == "boolean":
        return b"true" if value else b"false"
    return str(value).encode()
