"""The SMTP submission listeners: STARTTLS ports (587, 2587, optionally 25) and implicit-TLS
ports (465, 2465, RFC 8314 §3), all served by one backend on the running event loop."""

from __future__ import annotations

import asyncio
import functools
import ssl
import time
from collections.abc import Callable

from openses.smtp.auth_throttle import AuthThrottle, ThrottlePolicy
from openses.smtp.backend import Receiver, SmtpBackend
from openses.smtp.session import ReceivingHandler, Sleep, SubmissionHandler, SubmissionSession

SES_MAX_MESSAGE_SIZE = 41_943_040  # 40 MB, SES's limit for a message sent over SMTP
TLS_HANDSHAKE_TIMEOUT = 30.0


class SmtpServer:
    def __init__(
        self,
        backend: SmtpBackend | None,
        *,
        host: str,
        starttls_ports: list[int],
        tls_ports: list[int],
        ssl_context: ssl.SSLContext,
        hostname: str,
        max_message_size: int = SES_MAX_MESSAGE_SIZE,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        throttle_policy: ThrottlePolicy = ThrottlePolicy(),
        receiver: Receiver | None = None,
        reuse_port: bool = False,
    ) -> None:
        """A submission server (AUTH against `backend`), or with `receiver` instead an MX
        listener: no AUTH, recipients and data left to the receiver (inbound feedback)."""
        self._host = host
        self._reuse_port = reuse_port  # several processes on the same ports (serve --processes N)
        self._ports = {"starttls": list(starttls_ports), "tls": list(tls_ports)}
        self._ssl_context = ssl_context
        self._hostname = hostname
        self._max_message_size = max_message_size
        self._require_auth = receiver is None
        self._handler: SubmissionHandler | ReceivingHandler
        if receiver is not None:
            self._handler = ReceivingHandler(receiver, max_message_size=max_message_size)
        else:
            assert backend is not None
            self._handler = SubmissionHandler(
                backend,
                AuthThrottle(clock, throttle_policy),
                max_message_size=max_message_size,
                sleep=sleep,
            )
        self._listeners: list[asyncio.Server] = []
        self._sessions: set[SubmissionSession] = set()
        self.bound_ports: dict[str, list[int]] = {"starttls": [], "tls": []}

    async def start(self) -> None:
        """Bind every listener; port 0 picks a free port, readable in `bound_ports`."""
        loop = asyncio.get_running_loop()
        for kind, ports in self._ports.items():
            implicit = kind == "tls"
            for port in ports:
                listener = await loop.create_server(
                    functools.partial(self._new_session, implicit),
                    self._host,
                    port,
                    ssl=self._ssl_context if implicit else None,
                    ssl_handshake_timeout=TLS_HANDSHAKE_TIMEOUT if implicit else None,
                    reuse_port=self._reuse_port or None,
                )
                self._listeners.append(listener)
                self.bound_ports[kind].append(listener.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Stop listening and close open connections (their current command is abandoned;
        a submission already handed to the backend completes, being shielded)."""
        for listener in self._listeners:
            listener.close()
        tasks = [task for s in list(self._sessions) if (task := s.close()) is not None]
        await asyncio.gather(*tasks, return_exceptions=True)
        for listener in self._listeners:
            await listener.wait_closed()
        self._listeners.clear()
        self.bound_ports = {"starttls": [], "tls": []}

    def _new_session(self, implicit_tls: bool) -> SubmissionSession:
        session = SubmissionSession(
            self._handler,
            implicit_tls=implicit_tls,
            tls_context=self._ssl_context,
            hostname=self._hostname,
            max_message_size=self._max_message_size,
            require_auth=self._require_auth,
        )
        self._sessions.add(session)
        session.on_close = self._sessions.discard
        return session
