"""Builds every object from the settings and runs the roles: the one place things are wired."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from dataclasses import dataclass, field
from typing import Any

from openses.api.context import Services
from openses.config import Settings
from openses.core.accounts import UNLIMITED, AccountService
from openses.core.directory import Directory
from openses.core.identities import IdentityService
from openses.core.quota import DAY_MINUTES, SendLimiter
from openses.core.secrets import SecretBox, load_master_key
from openses.core.sending import SendingService
from openses.delivery.dkim import KeyLookup
from openses.delivery.modes import build_worker
from openses.delivery.tracking import TrackingLookup
from openses.delivery.worker import DeliveryWorker
from openses.store import repositories as repo
from openses.store.store import Store

log = logging.getLogger("openses")
ROLES = ("api", "smtp", "worker", "scheduler", "dns", "inbound")


def open_store(settings: Settings) -> Store:
    return Store.open(settings.effective_database_url, max_batch=settings.group_commit_max)


def account_service(settings: Settings, store: Store) -> AccountService:
    box = SecretBox(load_master_key(settings.master_key, settings.data_dir))
    return AccountService(store, box, settings.region)


def build_services(settings: Settings, store: Store, *, on_accepted: object = None) -> Services:
    accounts = account_service(settings, store)
    directory = Directory(store, accounts, settings.cache_ttl)
    limiter = SendLimiter()
    sending = SendingService(store, directory, limiter, region=settings.region,
                             message_id_domain=settings.message_id_domain,
                             on_accepted=on_accepted)  # type: ignore[arg-type]
    return Services(settings, store, accounts, directory, limiter, IdentityService(store), sending)


def dkim_key_lookup(settings: Settings, store: Store) -> KeyLookup:
    """The delivery worker's view of core's DKIM keys (delivery sits below core)."""
    from openses.core.dkim_keys import signing_keys

    box = SecretBox(load_master_key(settings.master_key, settings.data_dir))
    return lambda account_id, domain: signing_keys(store, box, account_id, domain)


def tracking_lookup(settings: Settings, store: Store) -> TrackingLookup:
    """The delivery worker's view of configuration sets' open and click tracking (core/tracking.py)."""
    from openses.core.tracking import TrackingPlans, codec_from

    return TrackingPlans(store, codec_from(settings), settings.effective_public_url, ttl=settings.cache_ttl).lookup


def ensure_dev_account(services: Services) -> None:
    s = services.settings
    if services.accounts.find(s.dev_account_id) is None:
        services.accounts.create_account("development", production=True, account_id=s.dev_account_id,
                                         quota=UNLIMITED)


def load_send_counts(services: Services) -> None:
    """Seed the rolling 24-hour quota from the database (shared by every node)."""
    since = int(time.time() // 60) - DAY_MINUTES + 1
    counts = services.store.read_sync(lambda c: repo.sent_by_account_since(c, since))
    for account_id, minutes in counts.items():
        services.limiter.load(account_id, minutes)


@dataclass
class Server:
    """Everything `openses serve` runs, started and stopped together."""

    settings: Settings
    roles: tuple[str, ...] = ROLES
    store: Store | None = None
    services: Services | None = None
    worker: DeliveryWorker | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    smtp: Any = None
    dns: Any = None  # the DKIM zone's responder (role dns, cname mode only)
    inbound: Any = None  # the bounce domain's MX (role inbound)

    async def start(self) -> None:
        settings = self.settings
        self.store = open_store(settings)
        self.store.start()
        self.worker = build_worker(settings, self.store, key_lookup=dkim_key_lookup(settings, self.store),
                                   tracking=tracking_lookup(settings, self.store))
        self.services = build_services(settings, self.store, on_accepted=self.worker.wake)
        if settings.dev_mode:
            ensure_dev_account(self.services)
            log.warning("DEVELOPMENT MODE: any access key is accepted as account %s. Never use this in "
                        "production.", settings.dev_account_id)
        load_send_counts(self.services)
        if "worker" in self.roles:
            self.tasks.append(asyncio.create_task(self.worker.run(), name="delivery-worker"))
        if "worker" in self.roles:  # events → suppression, reputation, webhooks (core/feedback_loop.py)
            from openses.core.feedback_loop import FeedbackLoop

            self.tasks += FeedbackLoop(settings, self.store, self.services.directory.forget).start()
            from openses.core.feedback_forwarding import start_forwarder  # bounce/complaint mail to senders

            self.tasks.append(start_forwarder(self.store, self.services.sending, self.services.accounts,
                                              sender_domain=settings.message_id_domain,
                                              interval=settings.event_poll_interval))
        if "api" in self.roles:
            self.tasks.append(asyncio.create_task(self._serve_http(), name="http"))
        if "scheduler" in self.roles:  # DNS verification of identities (core/dns_verifier.py)
            from openses.core.dns_verifier import verifier_from

            verifier = verifier_from(settings, self.store, self.services.directory.forget)
            self.tasks.append(asyncio.create_task(verifier.run(settings.dns_check_interval), name="dns-verifier"))
        if "smtp" in self.roles:
            await self._start_smtp()
        if "dns" in self.roles and settings.dkim_mode == "cname":  # the DKIM zone (core/dkim_zone.py)
            from openses.core.dkim_zone import start_responder

            self.dns, refresher = await start_responder(settings, self.store)
            self.tasks.append(refresher)
        if "inbound" in self.roles:  # DSN bounces and ARF complaints (core/inbound_feedback.py)
            from openses.core.inbound_feedback import start_inbound

            self.inbound, refresher = await start_inbound(settings, self.store)
            self.tasks.append(refresher)

    async def _start_smtp(self) -> None:
        from openses.smtp.gateway import PipelineBackend
        from openses.smtp.server import SmtpServer
        from openses.smtp.tls import load_or_create_certificate

        s, services = self.settings, self.services
        assert services is not None
        context, fingerprint = load_or_create_certificate(s.data_dir, s.smtp_hostname, s.tls_cert_file,
                                                          s.tls_key_file)
        backend = PipelineBackend(services.directory, services.sending, region=s.region,
                                  dev_account_id=s.dev_account_id if s.dev_mode else None)
        self.smtp = SmtpServer(backend, host=s.smtp_host, starttls_ports=[s.smtp_port],
                               tls_ports=[s.smtps_port], ssl_context=context, hostname=s.smtp_hostname)
        await self.smtp.start()
        log.info("SMTP listening on %s: STARTTLS %s, TLS %s; certificate SHA-256 %s", s.smtp_host,
                 s.smtp_port, s.smtps_port, fingerprint)

    async def _serve_http(self) -> None:
        import uvicorn

        from openses.api.app import ApiApp
        from openses.web.app import create_web_app
        from openses.web.dev import DevRoutes

        assert self.services is not None and self.worker is not None
        dev = DevRoutes(self.services, self.worker.wake) if self.settings.dev_mode else None
        app = ApiApp(self.services, dev_routes=dev, fallback=create_web_app(self.services))
        config = uvicorn.Config(app, host=self.settings.http_host, port=self.settings.http_port,
                                log_level="warning", access_log=False, lifespan="off",
                                loop="none", http="httptools", timeout_keep_alive=75,
                                proxy_headers=False)
        server = uvicorn.Server(config)
        log.info("SES API listening on http://%s:%s", self.settings.http_host, self.settings.http_port)
        server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        await server.serve()

    async def stop(self) -> None:
        if self.smtp is not None:
            await self.smtp.stop()
        if self.dns is not None:
            await self.dns.stop()
        if self.inbound is not None:
            await self.inbound.stop()
        if self.worker is not None:
            await self.worker.shutdown(self.settings.delivery_grace_seconds)
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.store is not None:
            self.store.close()


async def serve_forever(settings: Settings, roles: tuple[str, ...] = ROLES) -> None:
    server = Server(settings, roles)
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    waiter = asyncio.create_task(stop.wait())
    await asyncio.wait([waiter, *server.tasks], return_when=asyncio.FIRST_COMPLETED)
    await server.stop()
