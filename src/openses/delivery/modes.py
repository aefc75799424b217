"""Builds the delivery worker for the configured mode (capture, mx, relay) from the settings."""

from __future__ import annotations

import socket

from openses.config import Settings
from openses.delivery.capture import CaptureTransport
from openses.delivery.dkim import KeyLookup
from openses.delivery.mx import MxTransport
from openses.delivery.pool import SessionPool
from openses.delivery.prepare import Preparer
from openses.delivery.relay import RelayTransport
from openses.delivery.retry import RetryPolicy
from openses.delivery.tracking import TrackingLookup
from openses.delivery.worker import DeliveryWorker, Transport
from openses.protocol.dns import DnsResolver
from openses.store.store import Store


def build_transport(settings: Settings, hostname: str) -> Transport:
    mode = settings.delivery_mode
    if mode == "capture":
        return CaptureTransport(hostname)
    pool = SessionPool(helo_name=hostname, timeout=settings.delivery_timeout, max_idle=settings.delivery_per_domain)
    if mode == "relay":
        if not settings.relay_host:
            raise SystemExit("delivery mode relay needs OPENSES_RELAY_HOST")
        return RelayTransport(pool, host=settings.relay_host, port=settings.relay_port, tls=settings.relay_tls,
                              username=settings.relay_username, password=settings.relay_password,
                              verify_certificate=settings.relay_tls_verify, reporting_mta=hostname)
    resolver = DnsResolver(settings.dns_nameservers)
    return MxTransport(resolver, pool, port=settings.mx_port, require_tls=settings.tls_policy == "require",
                       reporting_mta=hostname)


def build_worker(settings: Settings, store: Store, *, key_lookup: KeyLookup | None = None,
                 hostname: str | None = None, tracking: TrackingLookup | None = None) -> DeliveryWorker:
    hostname = hostname or socket.getfqdn()
    retry = RetryPolicy(first_delay=settings.retry_first_seconds,
                        max_delivery_seconds=settings.max_delivery_seconds)
    preparer = Preparer(bounce_domain=settings.bounce_domain or settings.message_id_domain, key_lookup=key_lookup,
                        tracking=tracking, key_ttl=settings.cache_ttl)  # a DKIM rotation is seen within cache_ttl
    return DeliveryWorker(store, build_transport(settings, hostname), lease_seconds=settings.lease_seconds,
                          poll_interval=settings.worker_poll_interval, max_in_flight=settings.delivery_concurrency,
                          per_domain=settings.delivery_per_domain, retry=retry, preparer=preparer)
