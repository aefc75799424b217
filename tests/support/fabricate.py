"""Sample values for any botocore shape: every member filled, all values different."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any


def fabricate(shape: Any, counter: list[int], *, text: str = "v{n} <a&b> \"ü\"\r\n",
              key: str = "key-{n}&", micros: int = 123000) -> Any:
    """A value for `shape`; `text` and `key` (formatted with the running number `n`) carry the
    characters the codec under test must escape."""
    counter[0] += 1
    n = counter[0]
    kind = shape.type_name
    again = lambda s: fabricate(s, counter, text=text, key=key, micros=micros)  # noqa: E731
    if kind == "structure":
        members = list(shape.members.items())
        if shape.metadata.get("union"):  # a union carries exactly one member
            members = members[:1]
        return {name: again(member) for name, member in members}
    if kind == "list":
        return [again(shape.member), again(shape.member)]
    if kind == "map":
        keys = shape.key.enum[:2] if shape.key.enum else [f"key{n}", key.format(n=n)]
        return {k: again(shape.value) for k in keys}
    if kind == "string":
        return shape.enum[n % len(shape.enum)] if shape.enum else text.format(n=n)
    if kind in ("integer", "long"):
        return n * 7
    if kind in ("double", "float"):
        return n + 0.25
    if kind == "boolean":
        return n % 2 == 0
    if kind == "timestamp":
        return datetime(2024, 5, 1, 12, 30, n % 60, micros, tzinfo=timezone.utc)
    if kind == "blob":
        return bytes([0, 255, n % 256]) + b"raw"
    raise AssertionError(kind)
