"""The SES, SES v2, STS and SNS service models from botocore, compiled once into plain values.

botocore's `Shape` objects compute their members on every attribute access; walking them per
request would cost more than the rest of the request. Each model is therefore compiled once into
tuples and dicts the codecs read with plain lookups:

- a scalar shape is its type name (`"string"`, `"integer"`, `"timestamp"`, …);
- a list is a `ListNode`, a map a `MapNode`, a structure a `StructNode`.

The only module that imports botocore outside the tests.
"""

from __future__ import annotations

import functools
from typing import NamedTuple, Union

import botocore.session

SERVICES = ("ses", "sesv2", "sts", "sns")

#: Scalar type names as botocore spells them.
SCALARS = frozenset(
    {"string", "integer", "long", "boolean", "double", "float", "timestamp", "blob"}
)


class ListNode(NamedTuple):
    member: Node
    member_wire: str  # query/XML element name of each item ("member" unless renamed)
    flattened: bool


class MapNode(NamedTuple):
    key: Node
    value: Node
    key_wire: str
    value_wire: str
    flattened: bool


class Member(NamedTuple):
    name: str  # the key in input and output dicts, as in the model
    wire: str  # serialized name: locationName if given, else `name`
    node: Node
    location: str | None  # "uri", "querystring", "header", "headers", "statusCode" or None (body)
    path: str  # camelCase name, as AWS validation messages spell it


class StructNode:
    """A structure shape. Mutable only while compiling (shapes may refer to themselves)."""

    __slots__ = ("name", "members", "by_wire", "required", "plain_json")

    def __init__(self, name: str) -> None:
        self.name = name
        self.members: tuple[Member, ...] = ()
        self.by_wire: dict[str, Member] = {}
        self.required: frozenset[str] = frozenset()
        # True when the JSON form equals the Python form (no timestamps, blobs or located
        # members anywhere below), so rest-json can hand the dict to orjson as it is.
        self.plain_json = True


Node = Union[str, ListNode, MapNode, StructNode]


class Operation(NamedTuple):
    name: str
    input: StructNode | None
    output: StructNode | None
    result_wrapper: str | None  # query protocol: element wrapping the output members
    method: str
    uri: str  # rest-json requestUri (without any literal query part)
    response_code: int


class Service(NamedTuple):
    name: str
    protocol: str
    api_version: str
    xmlns: str  # query protocol response namespace ("" for rest-json)
    operations: dict[str, Operation]


def camel(name: str) -> str:
    """`ToAddresses` → `toAddresses`: the member path AWS uses in validation messages."""
    return name[:1].lower() + name[1:]


class _Compiler:
    """Turns botocore shapes into nodes, each named shape compiled once."""

    def __init__(self) -> None:
        self._structs: dict[str, StructNode] = {}

    def node(self, shape) -> Node:  # type: ignore[no-untyped-def]
        kind = shape.type_name
        if kind == "structure":
            return self.struct(shape)
        if kind == "list":
            member = shape.member
            return ListNode(
                self.node(member),
                member.serialization.get("name", "member"),
                bool(shape.serialization.get("flattened")),
            )
        if kind == "map":
            return MapNode(
                self.node(shape.key),
                self.node(shape.value),
                shape.key.serialization.get("name", "key"),
                shape.value.serialization.get("name", "value"),
                bool(shape.serialization.get("flattened")),
            )
        return kind if kind in SCALARS else "string"

    def struct(self, shape) -> StructNode:  # type: ignore[no-untyped-def]
        cached = self._structs.get(shape.name)
        if cached is not None:
            return cached
        struct = StructNode(shape.name)
        self._structs[shape.name] = struct  # before the members: a recursive shape finds it
        members = []
        for name, member_shape in shape.members.items():
            ser = member_shape.serialization
            members.append(
                Member(name, ser.get("name", name), self.node(member_shape),
                       ser.get("location"), camel(name))
            )
        struct.members = tuple(members)
        struct.by_wire = {m.wire: m for m in members}
        struct.required = frozenset(shape.required_members)
        struct.plain_json = all(_plain_json(m) for m in members)
        return struct


def _plain_json(member: Member) -> bool:
    return member.location is None and _plain_node(member.node, set())


def _plain_node(node: Node, seen: set[int]) -> bool:
    if isinstance(node, str):
        return node not in ("timestamp", "blob")
    if isinstance(node, ListNode):
        return _plain_node(node.member, seen)
    if isinstance(node, MapNode):
        return _plain_node(node.value, seen)
    if id(node) in seen:
        return True
    seen.add(id(node))
    return all(m.location is None and _plain_node(m.node, seen) for m in node.members)


@functools.cache
def botocore_model(service: str):  # type: ignore[no-untyped-def]
    """botocore's ServiceModel for `service`, loaded once per process."""
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}")
    return botocore.session.get_session().get_service_model(service)


@functools.cache
def service(name: str) -> Service:
    """The compiled model of `name` ("ses", "sesv2", "sts" or "sns")."""
    model = botocore_model(name)
    compiler = _Compiler()
    operations = {}
    for op_name in model.operation_names:
        op = model.operation_model(op_name)
        out = op.output_shape
        operations[op_name] = Operation(
            name=op_name,
            input=compiler.struct(op.input_shape) if op.input_shape is not None else None,
            output=compiler.struct(out) if out is not None else None,
            result_wrapper=out.serialization.get("resultWrapper") if out is not None else None,
            method=op.http.get("method", "POST"),
            uri=op.http.get("requestUri", "/").split("?", 1)[0],
            response_code=int(op.http.get("responseCode", 200)),
        )
    metadata = model.metadata
    return Service(
        name=name,
        protocol=metadata["protocol"],
        api_version=metadata["apiVersion"],
        xmlns=metadata.get("xmlNamespace", ""),
        operations=operations,
    )


def query_only(struct: StructNode) -> StructNode:
    """A copy of `struct` with every scalar member read from the query string by its own name.

    Used for the older GET form of list operations when the installed model has the newer
    POST form (members in the body): AWS CLI v1 still sends `GET …?PageSize=…&NextToken=…`.
    """
    copy = StructNode(struct.name)
    members = [m._replace(location="querystring", wire=m.name) if m.location is None and isinstance(m.node, str)
               else m for m in struct.members if m.location is not None or isinstance(m.node, str)]
    copy.members = tuple(members)
    copy.by_wire = {m.wire: m for m in members}
    copy.required = struct.required
    copy.plain_json = all(_plain_json(m) for m in members)
    return copy


def body_only(struct: StructNode, extra: dict[str, Node]) -> StructNode:
    """A copy of `struct` with every member read from the JSON body, plus `extra` members.

    Used for routes where a newer model moved query-string members into the body.
    """
    copy = StructNode(struct.name)
    members = [m._replace(location=None) for m in struct.members if m.location != "uri"]
    members += [Member(name, name, node, None, camel(name)) for name, node in extra.items()]
    copy.members = tuple(members)
    copy.by_wire = {m.wire: m for m in members}
    copy.required = struct.required
    copy.plain_json = all(_plain_json(m) for m in members)
    return copy
