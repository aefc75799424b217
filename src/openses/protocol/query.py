"""The AWS Query protocol: SES v1 (2010-12-01) and STS (2011-06-15).

Requests are flat `Name.member.1=value` pairs (a form body or a query string); responses are XML
`<OpResponse><OpResult>…</OpResult><ResponseMetadata/></OpResponse>`. Both directions are driven
by the compiled botocore model, so the XML is built from string pieces, never a DOM.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

from openses.errors import InvalidAction, MissingAction, SESError, ValidationError
from openses.protocol.models import ListNode, MapNode, Node, StructNode, service

# --- text scalars (shared with rest-json's URI, query-string and header members) ---------------

_BOOLEANS = {"true": True, "false": False}
_TYPE_WORDS = {
    "integer": "an integer",
    "long": "an integer",
    "double": "a number",
    "float": "a number",
    "boolean": "a boolean (true or false)",
    "timestamp": "a timestamp",
    "blob": "base64-encoded",
    "structure": "an object",
    "map": "an object",
    "list": "a list",
}


class BadValue(Exception):
    """A value that does not fit its type; the caller knows the member path."""


def parse_timestamp(text: str) -> datetime:
    """ISO 8601 (what botocore sends), epoch seconds, or RFC 822 (headers) → aware UTC."""
    text = text.strip()
    try:
        if text[:1].isdigit() and text.replace(".", "", 1).isdigit():
            return datetime.fromtimestamp(float(text), timezone.utc)
        if text[:1].isdigit():
            value = datetime.fromisoformat(text)
        else:
            value = parsedate_to_datetime(text)
    except (ValueError, TypeError, IndexError, OverflowError, OSError) as exc:
        raise BadValue(text) from exc
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def scalar_from_text(kind: str, text: str) -> Any:
    """The value of a scalar sent as text; raises BadValue when it does not fit."""
    if kind == "string":
        return text
    try:
        if kind in ("integer", "long"):
            return int(text)
        if kind in ("double", "float"):
            return float(text)
        if kind == "boolean":
            return _BOOLEANS[text.lower()]
        if kind == "timestamp":
            return parse_timestamp(text)
        if kind == "blob":
            return base64.b64decode(text, validate=True)
    except (ValueError, KeyError, binascii.Error) as exc:
        raise BadValue(text) from exc
    return text


def null_problem(path: str) -> str:
    return f"Value null at '{path}' failed to satisfy constraint: Member must not be null"


def type_problem(kind: str, value: object, path: str) -> str:
    shown = value if isinstance(value, str) else repr(value)
    if isinstance(shown, str) and len(shown) > 64:
        shown = shown[:61] + "..."
    word = _TYPE_WORDS.get(kind, f"of type {kind}")
    return f"Value '{shown}' at '{path}' failed to satisfy constraint: Member must be {word}"


def validation_error(problems: list[str]) -> ValidationError:
    """AWS wording: `2 validation errors detected: A; B`."""
    count = len(problems)
    noun = "validation error" if count == 1 else "validation errors"
    return ValidationError(f"{count} {noun} detected: " + "; ".join(problems))


# --- XML text ----------------------------------------------------------------------------------


def xml_escape(text: str) -> str:
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if "\r" in text:  # XML 1.0 §2.11: a literal CR would be read back as LF
        text = text.replace("\r", "&#xD;")
    return text


def iso8601(value: datetime) -> str:
    """`2024-05-01T12:00:00Z`, or with milliseconds when there are any, as AWS sends them."""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc)
    if value.microsecond:
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _scalar_to_xml(kind: str, value: Any) -> str:
    if kind == "string":
        return xml_escape(value if isinstance(value, str) else str(value))
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "timestamp":
        return iso8601(value)
    if kind == "blob":
        raw = value.encode() if isinstance(value, str) else value
        return base64.b64encode(raw).decode("ascii")
    if kind in ("double", "float"):
        return repr(float(value))
    return str(int(value)) if kind in ("integer", "long") else xml_escape(str(value))


# --- the codec -----------------------------------------------------------------------------------

_Tree = dict[str, Any]  # dotted parameter names split into nested dicts; a leaf is a str


def _tree(params: list[tuple[str, str]]) -> _Tree:
    """`A.member.1=x` → {'A': {'member': {'1': 'x'}}}. A name that is both a leaf and a prefix
    (`A=` and `A.member.1=x`) keeps its own value under the key ''."""
    root: _Tree = {}
    for name, value in params:
        node = root
        parts = name.split(".")
        for part in parts[:-1]:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            elif isinstance(child, str):
                child = node[part] = {"": child}
            node = child
        last = parts[-1]
        if isinstance(node.get(last), dict):
            node[last][""] = value
        else:
            node[last] = value
    return root


def _indexed(items: dict[str, Any]) -> list[Any]:
    """Values of `{'1': a, '2': b}` in index order; names that are not numbers are ignored."""
    numbered = [(int(k), v) for k, v in items.items() if k.isdigit()]
    numbered.sort(key=lambda pair: pair[0])
    return [v for _, v in numbered]


class QueryCodec:
    """Parse Query requests and render Query/XML responses for "ses" or "sts"."""

    def __init__(self, service_name: str) -> None:
        self.service = service(service_name)
        if self.service.protocol != "query":
            raise ValueError(f"{service_name} does not speak the query protocol")
        self._service_name = service_name
        self._xmlns = self.service.xmlns
        self._operations = self.service.operations

    # -- requests

    def parse(self, params: list[tuple[str, str]]) -> tuple[str, dict]:
        """(operation, input dict) from the decoded form or query-string pairs."""
        action = None
        for name, value in params:
            if name == "Action":
                action = value
                break
        if not action:
            raise MissingAction("Missing Action")
        op = self._operations.get(action)
        if op is None:
            raise InvalidAction(f"Could not find operation {action} for version "
                                f"{self.service.api_version}")
        if op.input is None:
            return action, {}
        problems: list[str] = []
        result = self._struct(_tree(params), op.input, "", problems)
        if problems:
            raise validation_error(problems)
        return action, result

    def _value(self, raw: Any, node: Node, path: str, problems: list[str]) -> Any:
        if isinstance(node, str):
            if isinstance(raw, dict):
                raw = raw.get("", "")
            try:
                return scalar_from_text(node, raw)
            except BadValue:
                problems.append(type_problem(node, raw, path))
                return None
        if isinstance(node, StructNode):
            return self._struct(raw if isinstance(raw, dict) else {}, node, path, problems)
        if isinstance(node, ListNode):
            return self._list(raw, node, path, problems)
        return self._map(raw, node, path, problems)

    def _struct(self, raw: _Tree, node: StructNode, path: str, problems: list[str]) -> dict:
        out = {}
        prefix = path + "." if path else ""
        for member in node.members:
            value = raw.get(member.wire)
            if value is None:
                if member.name in node.required:
                    problems.append(null_problem(prefix + member.path))
                continue
            out[member.name] = self._value(value, member.node, prefix + member.path, problems)
        return out

    def _list(self, raw: Any, node: ListNode, path: str, problems: list[str]) -> list:
        if not isinstance(raw, dict):
            return []  # `Name=` is how the protocol sends an empty list
        items = raw if node.flattened else raw.get(node.member_wire)
        if not isinstance(items, dict):
            return []
        return [
            self._value(item, node.member, f"{path}.{i}.member", problems)
            for i, item in enumerate(_indexed(items), 1)
        ]

    def _map(self, raw: Any, node: MapNode, path: str, problems: list[str]) -> dict:
        if not isinstance(raw, dict):
            return {}
        entries = raw if node.flattened else raw.get("entry")
        out = {}
        for i, entry in enumerate(_indexed(entries) if isinstance(entries, dict) else [], 1):
            if not isinstance(entry, dict) or entry.get(node.key_wire) is None:
                problems.append(null_problem(f"{path}.{i}.member.key"))
                continue
            key = self._value(entry[node.key_wire], node.key, f"{path}.{i}.member.key", problems)
            value = entry.get(node.value_wire)
            out[key] = (None if value is None else
                        self._value(value, node.value, f"{path}.{i}.member.value", problems))
        return out

    # -- responses

    def serialize(self, operation: str, output: dict, request_id: str) -> bytes:
        """The XML document AWS sends for a successful `operation`."""
        op = self._operations[operation]
        out = [f'<{operation}Response xmlns="{self._xmlns}">']
        if op.result_wrapper:
            if op.output is not None and output:
                out.append(f"<{op.result_wrapper}>")
                self._members(out, output, op.output)
                out.append(f"</{op.result_wrapper}>")
            else:
                out.append(f"<{op.result_wrapper}/>")
        out.append(f"<ResponseMetadata><RequestId>{xml_escape(request_id)}</RequestId>"
                   f"</ResponseMetadata></{operation}Response>")
        return "".join(out).encode()

    def serialize_error(self, err: SESError, request_id: str) -> tuple[int, bytes]:
        """(HTTP status, `<ErrorResponse>` document) for `err`."""
        kind = "Sender" if err.sender_fault else "Receiver"
        body = (
            f'<ErrorResponse xmlns="{self._xmlns}"><Error><Type>{kind}</Type>'
            f"<Code>{xml_escape(err.code_for(self._service_name))}</Code>"
            f"<Message>{xml_escape(err.message)}</Message></Error>"
            f"<RequestId>{xml_escape(request_id)}</RequestId></ErrorResponse>"
        )
        return err.status_for(self._service_name), body.encode()

    def _members(self, out: list[str], value: dict, node: StructNode) -> None:
        for member in node.members:
            item = value.get(member.name)
            if item is not None:
                self._element(out, member.wire, item, member.node)

    def _element(self, out: list[str], tag: str, value: Any, node: Node) -> None:
        if isinstance(node, str):
            out.append(f"<{tag}>{_scalar_to_xml(node, value)}</{tag}>")
        elif isinstance(node, StructNode):
            out.append(f"<{tag}>")
            self._members(out, value, node)
            out.append(f"</{tag}>")
        elif isinstance(node, ListNode):
            if node.flattened:
                for item in value:
                    self._element(out, tag, item, node.member)
                return
            out.append(f"<{tag}>")
            for item in value:
                self._element(out, node.member_wire, item, node.member)
            out.append(f"</{tag}>")
        else:
            if not node.flattened:
                out.append(f"<{tag}>")
            entry = tag if node.flattened else "entry"
            for key, item in value.items():
                out.append(f"<{entry}>")
                self._element(out, node.key_wire, key, node.key)
                if item is not None:
                    self._element(out, node.value_wire, item, node.value)
                out.append(f"</{entry}>")
            if not node.flattened:
                out.append(f"</{tag}>")
