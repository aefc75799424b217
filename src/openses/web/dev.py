"""Development-mode endpoints for application test suites (never served outside dev mode).

GET  /_openses/messages[?id=…&email=…]  captured mail as JSON, with the raw MIME
POST /_openses/reset                    forget all state but accounts and keys
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

import orjson

from openses.api.context import Services
from openses.core.events import iso
from openses.store import repositories as repo

Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def message_json(row: dict[str, Any]) -> dict[str, Any]:
    raw: bytes = row["raw"]
    return {"Id": row["id"], "AccountId": row["account_id"], "Source": row["source"],
            "From": row["from_header"], "Destination": row["recipients"], "Subject": row["subject"],
            "Status": row["status"], "Timestamp": iso(row["created_at"]),
            "ConfigurationSet": row["configuration_set"], "Tags": row["tags"], "Channel": row["channel"],
            "Raw": raw.decode("utf-8", "replace"), "RawBase64": base64.b64encode(raw).decode()}


class DevRoutes:
    def __init__(self, services: Services, on_reset: Callable[[], None]) -> None:
        self._services = services
        self._on_reset = on_reset

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Send) -> None:
        route = (scope["method"], scope["path"].rstrip("/"))
        if route == ("GET", "/_openses/messages"):
            query = parse_qs(scope["query_string"].decode())
            await _json(send, 200, {"messages": await self._messages(query)})
        elif route == ("POST", "/_openses/reset"):
            await self._reset()
            await _json(send, 200, {"reset": True})
        else:
            await _json(send, 404, {"message": "Not Found"})

    async def _messages(self, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        rows = await self._services.store.read(lambda c: repo.list_messages(c, limit=10_000, with_raw=True))
        if "id" in query:
            rows = [r for r in rows if r["id"] in query["id"]]
        if "email" in query:
            wanted = {e.lower() for e in query["email"]}
            rows = [r for r in rows if wanted & {a.lower() for a in [r["source"], *r["recipients"]]}]
        return [message_json(r) for r in reversed(rows)]

    async def _reset(self) -> None:
        store = self._services.store
        accounts = await store.read(repo.list_accounts)

        def forget(conn: Any) -> None:
            for a in accounts:
                repo.forget_account_state(conn, a["id"])

        await store.write(forget)
        for a in accounts:
            self._services.limiter.forget(a["id"])
        self._services.directory.forget()
        self._on_reset()


async def _json(send: Send, status: int, body: Any) -> None:
    data = orjson.dumps(body)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})
