"""One SMTP submission connection, on top of aiosmtpd (the only module that imports it).

aiosmtpd does the command loop, STARTTLS, SIZE, dot-unstuffing and line limits; `SubmissionHandler`
supplies the decisions (EHLO keywords, AUTH against the backend, DATA to the backend) and
`SubmissionSession` works around what aiosmtpd gets wrong for us (each place says why).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import collections
import logging
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

from aiosmtpd.smtp import MISSING, SMTP, AuthResult, Envelope, Session, TLSSetupException

from openses import errors
from openses.smtp import replies
from openses.smtp.auth_throttle import AuthThrottle
from openses.smtp.backend import Receiver, SmtpBackend

log = logging.getLogger(__name__)
# aiosmtpd logs every command and connection at INFO ("mail.log"): ~5 lines a message, a
# measurable share of the SMTP path's CPU. Our own log says what matters.
logging.getLogger("mail.log").setLevel(logging.WARNING)

Sleep = Callable[[float], Awaitable[None]]

# SES accepts at most 50 recipients per message (SES quotas); RFC 5321 §4.5.3.1.10 says to
# answer the one too many with 452 and keep the transaction.
MAX_RECIPIENTS = 50


def has_bare_newline(data: bytes) -> bool:
    """RFC 5321 §2.3.8: CR and LF appear in DATA only as the pair CRLF. Three C-speed counts
    (≈ 3 µs for 2 KB) rather than a look-around regex (≈ 47 µs), on every message."""
    pairs = data.count(b"\r\n")
    return data.count(b"\r") != pairs or data.count(b"\n") != pairs


class _QuietSession(Session):
    # aiosmtpd's Session.login_data is a property that logs a deprecation warning on every
    # access, and SMTP.smtp_AUTH sets it after every successful AUTH. A plain attribute here
    # shadows the property, so successful logins stay silent without muting aiosmtpd's logger.
    login_data: Any = None


class SubmissionSession(SMTP):
    # The usual LOGIN challenges (draft-murchison-sasl-login), as SES sends them; aiosmtpd's
    # default "User Name\x00" confuses some clients' prompts.
    AuthLoginUsernameChallenge = "Username:"
    AuthLoginPasswordChallenge = "Password:"

    def __init__(
        self,
        handler: SubmissionHandler,
        *,
        implicit_tls: bool,
        tls_context: ssl.SSLContext,
        hostname: str,
        max_message_size: int,
        require_auth: bool = True,
    ) -> None:
        super().__init__(
            handler,
            data_size_limit=max_message_size,
            enable_SMTPUTF8=True,  # RFC 6531
            decode_data=False,  # keep bytes: 8BITMIME (RFC 6152) is advertised
            hostname=hostname,
            ident=replies.GREETING_IDENT,
            tls_context=None if implicit_tls else tls_context,
            require_starttls=require_auth and not implicit_tls,  # RFC 3207 §4: nothing but EHLO/NOOP/QUIT first
            # no open relay: MAIL, RCPT, DATA need AUTH (RFC 4954 §6). An MX listener (require_auth
            # False) instead refuses every recipient outside its own domain at RCPT.
            auth_required=require_auth,
            auth_require_tls=True,
            loop=asyncio.get_running_loop(),
        )
        self.implicit_tls = implicit_tls
        self.on_close: Callable[[SubmissionSession], None] | None = None
        if implicit_tls:
            # aiosmtpd only counts its own STARTTLS as TLS and would answer AUTH with 538;
            # asking for auth_require_tls=False in the constructor emits a UserWarning.
            self._auth_require_tls = False
        # aiosmtpd keeps these limits in a class attribute shared by every connection and
        # grows them on each EHLO; give each connection its own.
        self.command_size_limits = collections.defaultdict(lambda: SMTP.command_size_limit)

    def _create_session(self) -> Session:
        return _QuietSession(self.loop)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        if self.implicit_tls and self.session is not None and self.session.ssl is None:
            # Mark the session secure as aiosmtpd does after STARTTLS; its eof_received
            # also relies on this to avoid returning True on a TLS transport.
            self.session.ssl = {"ssl_object": transport.get_extra_info("ssl_object")}

    async def push(self, status: str | bytes) -> None:
        # Every reply line passes here: give aiosmtpd's own texts enhanced status codes.
        if isinstance(status, str):
            status = replies.translate(status)
        await super().push(status)

    def connection_lost(self, error: Exception | None) -> None:
        try:
            super().connection_lost(error)
        finally:
            if self.on_close is not None:
                self.on_close(self)

    def close(self) -> asyncio.Task[None] | None:
        """Close the connection; returns the command loop's task, to await its end."""
        if self.transport is not None:
            self.transport.close()
        return self._handler_coroutine


class SubmissionHandler:
    """aiosmtpd handler hooks (`handle_VERB`) and AUTH mechanisms (`auth_MECH`)."""

    def __init__(
        self, backend: SmtpBackend, throttle: AuthThrottle, *, max_message_size: int, sleep: Sleep
    ) -> None:
        self._backend = backend
        self._throttle = throttle
        self._max_message_size = max_message_size
        self._sleep = sleep

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        keywords = [
            f"SIZE {self._max_message_size}",  # RFC 1870
            "8BITMIME",  # RFC 6152
            "PIPELINING",  # RFC 2920
            "SMTPUTF8",  # RFC 6531
            "ENHANCEDSTATUSCODES",  # RFC 2034
        ]
        # RFC 3207 §4.2: no STARTTLS once secure; RFC 4954 §4: AUTH only over TLS.
        keywords.append("AUTH PLAIN LOGIN" if session.ssl is not None else "STARTTLS")
        lines = [server.hostname, *keywords]
        return [f"250-{line}" for line in lines[:-1]] + [f"250 {lines[-1]}"]

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return replies.MAIL_OK

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return replies.TOO_MANY_RECIPIENTS
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return replies.RCPT_OK

    async def handle_RSET(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        return replies.OK

    async def handle_NOOP(self, server: SMTP, session: Session, envelope: Envelope, arg: str) -> str:
        return replies.OK

    async def handle_QUIT(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        return replies.BYE

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or b""
        if has_bare_newline(data):
            return replies.BARE_NEWLINE
        assert envelope.mail_from is not None
        submit = self._backend.submit(
            session.auth_data, envelope.mail_from, list(envelope.rcpt_tos), data
        )
        try:
            # Shielded: a client hanging up must not cancel a commit half-way.
            message_id = await asyncio.shield(submit)
        except errors.SESError as error:
            return replies.for_error(error)
        except Exception:
            log.exception("SMTP submission failed for %r", session.peer)
            return replies.LOCAL_ERROR
        return replies.message_accepted(message_id)

    async def handle_exception(self, error: Exception) -> str:
        if isinstance(error, TLSSetupException):  # a client that gave up on the handshake
            log.info("STARTTLS handshake failed: %r", error.__cause__)
        else:
            log.error("SMTP session error", exc_info=error)
        return replies.LOCAL_ERROR

    async def auth_PLAIN(self, server: SubmissionSession, args: list[str]) -> AuthResult:
        # RFC 4616 §2: [authzid] NUL authcid NUL passwd; the initial response may be sent
        # with the command or after an empty 334 challenge (RFC 4954 §4).
        blob = await _initial_response(server, args, challenge="")
        if blob is None:
            return AuthResult(success=False, handled=True)
        parts = blob.split(b"\x00")
        if len(parts) != 3:
            await server.push("501 5.5.2 Can't split auth value")
            return AuthResult(success=False, handled=True)
        return await self._check(server, parts[1], parts[2])

    async def auth_LOGIN(self, server: SubmissionSession, args: list[str]) -> AuthResult:
        login = await _initial_response(server, args, challenge=server.AuthLoginUsernameChallenge)
        if login is None:
            return AuthResult(success=False, handled=True)
        password = await server.challenge_auth(server.AuthLoginPasswordChallenge)
        if password is MISSING:
            return AuthResult(success=False, handled=True)
        assert isinstance(password, bytes)
        return await self._check(server, login, password)

    async def _check(self, server: SubmissionSession, login: bytes, password: bytes) -> AuthResult:
        # aiosmtpd sends no reply for AuthResult(success=False) unless handled=False: every
        # failure path below either pushes its own reply or sets handled=False with a message.
        client = _client_ip(server.session)
        if self._throttle.is_locked(client):
            return await _lock_out(server)
        try:
            principal = await self._backend.authenticate(_text(login), _text(password))
        except Exception:
            log.exception("SMTP AUTH backend failure for %r", client)
            return AuthResult(success=False, handled=False, message=replies.AUTH_TEMPORARY)
        if principal is not None:
            self._throttle.record_success(client)
            return AuthResult(success=True, auth_data=principal)
        verdict = self._throttle.record_failure(client)
        if verdict.locked:
            return await _lock_out(server)
        if verdict.delay:
            await self._sleep(verdict.delay)
        return AuthResult(success=False, handled=False, message=replies.AUTH_INVALID)


async def _initial_response(
    server: SubmissionSession, args: list[str], *, challenge: str
) -> bytes | None:
    """The decoded client response: given with the AUTH command, or asked for with 334.
    None when a reply was already sent (aborted with "*", bad base64)."""
    if len(args) == 1:
        blob = await server.challenge_auth(challenge)
        return None if blob is MISSING else blob  # type: ignore[return-value]
    if args[1] == "=":  # RFC 4954 §4: "=" is an empty initial response
        return b""
    try:
        return base64.b64decode(args[1], validate=True)
    except binascii.Error:
        await server.push("501 5.5.2 Can't decode base64")
        return None


async def _lock_out(server: SubmissionSession) -> AuthResult:
    await server.push(replies.AUTH_LOCKED_OUT)  # RFC 5321 §3.8: 421, then close
    server.close()
    return AuthResult(success=False, handled=True)


def _client_ip(session: Session | None) -> str:
    peer = session.peer if session is not None else None
    return str(peer[0]) if isinstance(peer, tuple) and peer else str(peer)


def _text(value: bytes) -> str:
    return value.decode("utf-8", "surrogateescape")


class ReceivingHandler:
    """aiosmtpd hooks for an MX listener (the inbound feedback door): no AUTH; STARTTLS offered but
    never required (RFC 3207 §4: a publicly-referenced server must not require it); the receiver
    decides which recipients are taken (never another domain: no open relay) and stores the data.
    MAIL, RSET, NOOP and QUIT keep aiosmtpd's own behaviour."""

    def __init__(self, receiver: Receiver, *, max_message_size: int) -> None:
        self._receiver = receiver
        self._max_message_size = max_message_size

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        keywords = [f"SIZE {self._max_message_size}", "8BITMIME", "PIPELINING", "SMTPUTF8",
                    "ENHANCEDSTATUSCODES"]
        if session.ssl is None and server.tls_context is not None:
            keywords.append("STARTTLS")
        lines = [server.hostname, *keywords]
        return [f"250-{line}" for line in lines[:-1]] + [f"250 {lines[-1]}"]

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        refusal = self._receiver.recipient_reply(address)
        if refusal is not None:
            return refusal
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return replies.TOO_MANY_RECIPIENTS
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return replies.RCPT_OK

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or b""
        if has_bare_newline(data):
            return replies.BARE_NEWLINE
        receive = self._receiver.receive(_client_ip(session), envelope.mail_from or "",
                                         list(envelope.rcpt_tos), data)
        try:
            return await asyncio.shield(receive)  # a hang-up must not cancel the store half-way
        except Exception:
            log.exception("inbound mail from %r could not be stored", session.peer)
            return replies.LOCAL_ERROR

    async def handle_exception(self, error: Exception) -> str:
        if isinstance(error, TLSSetupException):
            log.info("STARTTLS handshake failed: %r", error.__cause__)
        else:
            log.error("SMTP session error", exc_info=error)
        return replies.LOCAL_ERROR
