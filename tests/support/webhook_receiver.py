"""A tiny threaded HTTP server that records POSTed notifications (SNS envelopes or raw webhook
JSON) and can confirm SNS subscriptions by fetching their SubscribeURL; it can be stopped and
started again on the same port (a receiver that was down)."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def event(self) -> dict[str, Any]:
        """The SES event: the envelope's Message, or the raw body."""
        data = self.json
        return json.loads(data["Message"]) if "Type" in data and "Message" in data else data


@dataclass
class Receiver:
    port: int
    confirm: bool = True
    received: list[Received] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                item = Received({k.lower(): v for k, v in self.headers.items()}, body)
                owner.received.append(item)
                self.send_response(200)
                self.end_headers()
                if owner.confirm and item.headers.get("x-amz-sns-message-type") == "SubscriptionConfirmation":
                    url = item.json["SubscribeURL"]
                    threading.Thread(target=lambda: urllib.request.urlopen(url, timeout=10).read()).start()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def notifications(self) -> list[Received]:
        return [r for r in self.received if r.headers.get("x-amz-sns-message-type") == "Notification"]

    def wait_for(self, predicate: Any, timeout: float = 20.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            items = self.notifications()
            if predicate(items):
                return items
            time.sleep(0.05)
        raise AssertionError(f"timed out; received {[r.event.get('eventType') for r in self.notifications()]}")
