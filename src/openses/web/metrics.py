"""Prometheus metrics at /metrics, read from the database so that every node reports the same
totals: events by account and type (recipients), the webhook outbox and the delivery queue."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from openses.api.context import Services
from openses.store import feedback_repo as frepo
from openses.store import repositories as repo

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def snapshot(conn: Any) -> dict[str, Any]:
    return {"events": frepo.totals_by_type(conn), "outbox": frepo.outbox_counts(conn),
            "attempts": frepo.attempt_count(conn), "queue": repo.queue_depth(conn)}


class _Snapshot(Collector):
    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def collect(self) -> Iterator[Any]:
        events = CounterMetricFamily("openses_event_recipients", "Recipients concerned by SES events, by type "
                                     "(HardBounce: the bounces that count for reputation).",
                                     labels=["account", "type"])
        for account, kind, n in self._data["events"]:
            events.add_metric([account, kind], n)
        yield events
        outbox = GaugeMetricFamily("openses_webhook_outbox", "Webhook notifications by state.", labels=["state"])
        for state in ("pending", "delivered", "failed"):
            outbox.add_metric([state], self._data["outbox"].get(state, 0))
        yield outbox
        yield CounterMetricFamily("openses_webhook_attempts", "Webhook POST attempts.", value=self._data["attempts"])
        yield GaugeMetricFamily("openses_queue_entries", "Delivery queue entries (message × domain).",
                                value=self._data["queue"])


def render(data: dict[str, Any]) -> bytes:
    registry = CollectorRegistry()
    registry.register(_Snapshot(data))
    return generate_latest(registry)


def routes(services: Services) -> list[BaseRoute]:
    async def metrics(request: Request) -> Response:
        data = await services.store.read(snapshot)
        return Response(render(data), media_type=CONTENT_TYPE)

    return [Route("/metrics", metrics, methods=["GET"])]
