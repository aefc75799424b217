"""Builds every object from the settings and runs the roles: the one place things are wired."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import socket
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from openses.api.context import Services
from openses.config import Settings
from openses.core.accounts import UNLIMITED, AccountService
from openses.core.directory import Directory
from openses.core.identities import IdentityService
from openses.core.quota import DAY_MINUTES, SendLimiter, SharedSendLimiter
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
SCALABLE_ROLES = ("api", "smtp", "worker")  # what the extra processes of --processes N run


def open_store(settings: Settings) -> Store:
    return Store.open(settings.effective_database_url, max_batch=settings.group_commit_max)


def account_service(settings: Settings, store: Store) -> AccountService:
    box = SecretBox(load_master_key(settings.master_key, settings.data_dir))
    return AccountService(store, box, settings.region)


def build_services(settings: Settings, store: Store, *, on_accepted: object = None,
                   limiter: SendLimiter | None = None) -> Services:
    accounts = account_service(settings, store)
    directory = Directory(store, accounts, settings.cache_ttl)
    limiter = limiter or SendLimiter()
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


SYNC_MINUTES = 5  # how far back each merge looks: a late commit, a clock a few minutes apart


async def merge_send_counts(store: Store, limiter: SendLimiter) -> None:
    """One pass of sync_send_counts: the database's counts of the last minutes into `limiter`."""
    since = int(time.time() // 60) - SYNC_MINUTES
    forgets = limiter.forgets()
    counts = await store.read(lambda c: repo.sent_by_account_since(c, since))
    if limiter.forgets() != forgets:  # a development-mode reset meanwhile: these counts are gone
        return
    for account_id, minutes in counts.items():
        limiter.merge(account_id, minutes)


async def sync_send_counts(services: Services, interval: float) -> None:
    """Every `interval` s, merge the database's counts of the last minutes into the limiter:
    nodes sharing one database (PostgreSQL) then count each other's sends against the 24-hour
    quotas, one interval behind at most (core/quota.SendLimiter.merge)."""
    while True:
        await asyncio.sleep(interval)
        try:
            await merge_send_counts(services.store, services.limiter)
        except Exception:  # the database is away: the next pass tries again
            log.warning("could not merge the send counts for the 24-hour quotas", exc_info=True)


@dataclass
class Server:
    """Everything `openses serve` runs, started and stopped together (in one of its processes).

    `primary` is false in the extra processes of `--processes N`: they run the delivery worker but
    not the events processor and feedback forwarder, which the primary runs once for the host;
    `limiter` is then the limiter shared by the processes, seeded by serve_processes."""

    settings: Settings
    roles: tuple[str, ...] = ROLES
    primary: bool = True
    limiter: SendLimiter | None = None
    reuse_port: bool = False
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
        self.store.start(checkpoint=self.primary)
        self.worker = build_worker(settings, self.store, key_lookup=dkim_key_lookup(settings, self.store),
                                   tracking=tracking_lookup(settings, self.store))
        self.services = build_services(settings, self.store, on_accepted=self.worker.wake, limiter=self.limiter)
        if settings.dev_mode:
            ensure_dev_account(self.services)
            if self.primary:
                log.warning("DEVELOPMENT MODE: any access key is accepted as account %s. Never use this in "
                            "production.", settings.dev_account_id)
        if self.limiter is None:
            load_send_counts(self.services)
        if "worker" in self.roles:
            self.tasks.append(asyncio.create_task(self.worker.run(), name="delivery-worker"))
        if "worker" in self.roles and self.primary:  # events → suppression, reputation, webhooks
            from openses.core.feedback_loop import FeedbackLoop

            self.tasks += FeedbackLoop(settings, self.store, self.services.directory.forget).start()
            from openses.core.feedback_forwarding import start_forwarder  # bounce/complaint mail to senders

            self.tasks.append(start_forwarder(self.store, self.services.sending, self.services.accounts,
                                              sender_domain=settings.message_id_domain,
                                              interval=settings.event_poll_interval))
        if self.primary and settings.quota_sync_interval > 0 and {"api", "smtp"} & set(self.roles):
            # The primary's limiter is the host's (shared with the other processes, if any).
            self.tasks.append(asyncio.create_task(
                sync_send_counts(self.services, settings.quota_sync_interval), name="quota-sync"))
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
                               tls_ports=[s.smtps_port], ssl_context=context, hostname=s.smtp_hostname,
                               reuse_port=self.reuse_port)
        await self.smtp.start()
        if self.primary:
            log.info("SMTP listening on %s: STARTTLS %s, TLS %s; certificate SHA-256 %s", s.smtp_host,
                     s.smtp_port, s.smtps_port, fingerprint)

    async def _serve_http(self) -> None:
        from openses.api.app import MAX_BODY, ApiApp
        from openses.protocol.http_server import HttpServer
        from openses.web.app import create_web_app
        from openses.web.dev import DevRoutes

        assert self.services is not None and self.worker is not None
        dev = DevRoutes(self.services, self.worker.wake) if self.settings.dev_mode else None
        app = ApiApp(self.services, dev_routes=dev, fallback=create_web_app(self.services))
        server = HttpServer(app, max_body=MAX_BODY, keep_alive=75)
        host, port = self.settings.http_host, self.settings.http_port
        if self.reuse_port:
            sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
            await server.start(sock=sock)
        else:
            await server.start(host, port)
        if self.primary:
            log.info("SES API listening on http://%s:%s", host, port)
        try:
            await asyncio.Event().wait()  # until cancelled by stop()
        finally:
            await server.stop(grace=5.0)

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


async def serve_forever(settings: Settings, roles: tuple[str, ...] = ROLES, *, primary: bool = True,
                        limiter: SendLimiter | None = None, reuse_port: bool = False,
                        children: list[int] | None = None) -> int:
    """Run until SIGINT/SIGTERM, a role's task ends, or (the primary of several) a process dies;
    the exit status: 1 when another process died, else 0."""
    server = Server(settings, roles, primary=primary, limiter=limiter, reuse_port=reuse_port)
    await server.start()
    tune_gc()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    waiters = [asyncio.create_task(stop.wait())]
    if children:
        waiters.append(asyncio.create_task(_first_exit(children)))  # removes the dead one
    try:
        await asyncio.wait([*waiters, *server.tasks], return_when=asyncio.FIRST_COMPLETED)
        return 1 if len(waiters) > 1 and waiters[1].done() and not stop.is_set() else 0
    finally:
        for waiter in waiters:
            waiter.cancel()
        if children:
            await asyncio.to_thread(_stop_children, children, settings.delivery_grace_seconds + 5)
        await server.stop()


# Python's cyclic GC at its defaults (a young collection every 700 allocations, the old
# generations after 10 of those) cost the API a fifth of its throughput and most of its p99
# (measured, api role, one process: 2,930 req/s with p99 107 ms; frozen start-up heap and these
# thresholds: 3,690 req/s with p99 29 ms; no GC at all: 3,850 with p99 27 ms). Cycles are still
# collected, just in larger batches.
GC_THRESHOLDS = (200_000, 50, 100)


def tune_gc() -> None:
    """Move what start-up allocated out of the collector's way and collect less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


# --- several processes on one host (openses serve --processes N) -------------------------------


def processes_problem(settings: Settings) -> str | None:
    """Why settings.processes > 1 cannot work with these settings, if it cannot."""
    for name, port in (("http_port", settings.http_port), ("smtp_port", settings.smtp_port),
                       ("smtps_port", settings.smtps_port)):
        if port == 0:
            return f"OPENSES_{name.upper()} must be a fixed port (not 0) when processes > 1"
    return None


def serve_processes(settings: Settings, roles: tuple[str, ...],
                    run: Callable[[Coroutine[Any, Any, int]], int]) -> int:
    """Run `roles` in settings.processes processes: the primary runs them all; each other process
    runs the api, smtp and worker roles among them on the same ports (SO_REUSEPORT) and database.

    What must happen once is done here before forking: the schema migration, the TLS
    certificate, the development account, and the shared send limiter seeded from the database.
    Nothing before the fork starts a thread or an event loop. Returns the exit status."""
    problem = processes_problem(settings)
    if problem:
        raise ValueError(problem)
    limiter = SharedSendLimiter()
    store = open_store(settings)  # creates or migrates the schema
    try:
        services = build_services(settings, store, limiter=limiter)
        if settings.dev_mode:
            ensure_dev_account(services)
        load_send_counts(services)
    finally:
        store.close()
    if "smtp" in roles:
        from openses.smtp.tls import load_or_create_certificate

        load_or_create_certificate(settings.data_dir, settings.smtp_hostname, settings.tls_cert_file,
                                   settings.tls_key_file)
    extra_roles = tuple(r for r in roles if r in SCALABLE_ROLES)
    count = settings.processes if extra_roles else 1
    pinning = settings.pin_processes and hasattr(os, "sched_getaffinity")  # Linux
    cpus = process_cpus(sorted(os.sched_getaffinity(0)), count) if pinning else None
    children: list[int] = []
    for n in range(1, count):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child (the e2e test covers it)
            if cpus:
                pin_to(cpus[n])
            os._exit(_child(settings, extra_roles, limiter, run))
        children.append(pid)
    if cpus:
        pin_to(cpus[0])
    log.info("serving with %d processes (%s in each of the extra ones)%s", count,
             ",".join(extra_roles) or "nothing", f", on CPUs {', '.join(map(str, cpus))}" if cpus else "")
    return run(serve_forever(settings, roles, limiter=limiter, reuse_port=True, children=children))


def process_cpus(allowed: list[int], processes: int) -> list[int] | None:
    """The CPU of each of `processes` processes, the primary's first: one each, from those this
    server may use; None (no pinning) for one process, which needs a second core for its writer
    thread's commits (measured: −30 %), or for more processes than CPUs."""
    if not 2 <= processes <= len(allowed):
        return None
    return allowed[:processes]


def pin_to(cpu: int) -> None:
    """Run every thread of this process on `cpu` (threads started later inherit it). Measured on
    2 cores: the event loop and the writer thread of a process on one core serve more than each
    thread wherever the scheduler puts it (config.Settings.pin_processes)."""
    try:
        for task in os.listdir("/proc/self/task"):
            os.sched_setaffinity(int(task), {cpu})
    except OSError as e:  # a container that forbids it: run unpinned
        log.warning("could not pin process %d to CPU %d: %s", os.getpid(), cpu, e)


def _child(settings: Settings, roles: tuple[str, ...], limiter: SendLimiter,
           run: Callable[[Coroutine[Any, Any, int]], int]) -> int:  # pragma: no cover - in the child
    parent = os.getppid()
    try:
        _die_with_parent()
        if os.getppid() != parent:
            return 1
        run(serve_forever(settings, roles, primary=False, limiter=limiter, reuse_port=True))
        return 0
    except BaseException:
        log.exception("openses process %d failed", os.getpid())
        return 1


def _die_with_parent() -> None:  # pragma: no cover - in the child
    """Linux: SIGTERM this process when the primary dies, even by SIGKILL."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        log.warning("cannot ask the kernel to stop this process with its parent (not Linux?)")


async def _first_exit(children: list[int]) -> None:
    while True:
        for pid in children:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                children.remove(pid)
                log.error("openses process %d stopped (%s); stopping the others", pid,
                          f"exit code {os.waitstatus_to_exitcode(status)}")
                return
        await asyncio.sleep(0.5)


def _stop_children(children: list[int], grace: float) -> None:
    """SIGTERM every process left, wait for them to finish their deliveries, then SIGKILL."""
    for pid in children:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    while children:
        for pid in list(children):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done:
                children.remove(pid)
        if children and time.monotonic() > deadline:
            for pid in children:
                try:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                except (ProcessLookupError, ChildProcessError):
                    pass
            children.clear()
        time.sleep(0.05)
