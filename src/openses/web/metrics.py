"""Prometheus metrics at /metrics, read from the database so that every node reports the same
totals: events by account and type (recipients), the webhook outbox, the delivery queue, and the
reputation rates per account and per configuration set with ReputationMetricsEnabled (SES's
Reputation.BounceRate and Reputation.ComplaintRate CloudWatch metrics)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from openses.api.context import Services
from openses.core import reputation
from openses.core.feedback_loop import reputation_policy
from openses.store import feedback_repo as frepo
from openses.store import repositories as repo
from openses.store import reputation_repo

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def snapshot(conn: Any, policy: reputation.Policy, now: float) -> dict[str, Any]:
    rates = [(a, "", bounce, complaint) for a, _, bounce, complaint in reputation_repo.account_reputations(conn)]
    rates += [(a, name, r.bounce_rate, r.complaint_rate)
              for a, name, r in reputation.config_set_reputation(conn, now, policy)]
    return {"events": frepo.totals_by_type(conn), "outbox": frepo.outbox_counts(conn),
            "attempts": frepo.attempt_count(conn), "queue": repo.queue_depth(conn), "reputation": rates}


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
        yield from self._reputation()

    def _reputation(self) -> Iterator[Any]:
        labels = ["account", "configuration_set"]  # configuration_set "": the whole account
        bounce = GaugeMetricFamily("openses_reputation_bounce_rate", "Hard bounces / recipients sent over the "
                                   "reputation window (SES Reputation.BounceRate).", labels=labels)
        complaint = GaugeMetricFamily("openses_reputation_complaint_rate", "Complaints / recipients sent over the "
                                      "reputation window (SES Reputation.ComplaintRate).", labels=labels)
        for account, name, bounce_rate, complaint_rate in self._data["reputation"]:
            bounce.add_metric([account, name], bounce_rate)
            complaint.add_metric([account, name], complaint_rate)
        yield bounce
        yield complaint


def render(data: dict[str, Any]) -> bytes:
    registry = CollectorRegistry()
    registry.register(_Snapshot(data))
    return generate_latest(registry)


def routes(services: Services) -> list[BaseRoute]:
    async def metrics(request: Request) -> Response:
        policy = reputation_policy(services.settings)
        data = await services.store.read(lambda c: snapshot(c, policy, time.time()))
        return Response(render(data), media_type=CONTENT_TYPE)

    return [Route("/metrics", metrics, methods=["GET"])]
