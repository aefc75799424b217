"""The submission server over real sockets, in the test's event loop: smtplib (run in a thread
so the loop keeps serving) for what real clients do, a raw socket for what they never would."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from collections.abc import Callable

import pytest
from smtp_test_support import (
    ACCESS_KEY_ID,
    TEST_MAX_MESSAGE_SIZE,
    FakeClock,
    RawClient,
    RecordingSleep,
    auth_plain_argument,
)

from openses import errors
from openses.smtp.backend import FakeBackend, FakePrincipal
from openses.smtp.server import SmtpServer

FIRST_ID = "0000000000000001-00000001-0000-0000-0000-000000000001-000000"
MESSAGE = (
    b"From: sender@example.com\r\n"
    b"To: rcpt@example.net\r\n"
    b"Subject: hello\r\n"
    b"\r\n"
    b".a line that starts with a dot, stuffed on the wire\r\n"
    b"..two dots\r\n"
    b"the end\r\n"
)


def _starttls_session(port: int, context: ssl.SSLContext) -> smtplib.SMTP:
    smtp = smtplib.SMTP("127.0.0.1", port, timeout=10)
    smtp.starttls(context=context)
    smtp.ehlo()
    return smtp


def _send(smtp: smtplib.SMTP, data: bytes = MESSAGE) -> tuple[int, bytes]:
    assert smtp.mail("sender@example.com")[0] == 250
    assert smtp.rcpt("rcpt@example.net")[0] == 250
    return smtp.data(data)


def _login_raw(client: RawClient, password: str) -> None:
    client.read_reply()
    client.command("EHLO client.example")
    client.starttls()
    client.command("EHLO client.example")
    reply = client.command(f"AUTH PLAIN {auth_plain_argument(ACCESS_KEY_ID, password)}")
    assert reply == ["235 2.7.0 Authentication successful"]


async def test_starttls_and_auth_login_send_a_message_and_reply_250_ok_with_its_message_id(
    starttls_port: int, client_tls: ssl.SSLContext, backend: FakeBackend, smtp_password: str
) -> None:
    def run() -> tuple[int, bytes]:
        with _starttls_session(starttls_port, client_tls) as smtp:
            smtp.user, smtp.password = ACCESS_KEY_ID, smtp_password
            code, _ = smtp.auth("LOGIN", smtp.auth_login, initial_response_ok=False)
            assert code == 235
            return _send(smtp)

    assert await asyncio.to_thread(run) == (250, f"Ok {FIRST_ID}".encode())
    [submission] = backend.submissions
    assert submission.data == MESSAGE  # dot-unstuffed, byte for byte
    assert submission.principal == FakePrincipal(ACCESS_KEY_ID)
    assert (submission.mail_from, submission.rcpt_tos) == ("sender@example.com", ["rcpt@example.net"])


async def test_auth_plain_through_smtplib_login_is_accepted(
    starttls_port: int, client_tls: ssl.SSLContext, backend: FakeBackend, smtp_password: str
) -> None:
    def run() -> tuple[int, bytes]:
        with _starttls_session(starttls_port, client_tls) as smtp:
            assert smtp.login(ACCESS_KEY_ID, smtp_password)[0] == 235
            return _send(smtp)

    assert (await asyncio.to_thread(run))[0] == 250
    assert len(backend.submissions) == 1


async def test_implicit_tls_port_advertises_auth_without_starttls_and_sends(
    tls_port: int, client_tls: ssl.SSLContext, backend: FakeBackend, smtp_password: str
) -> None:
    def run() -> tuple[dict[str, str], tuple[int, bytes]]:
        with smtplib.SMTP_SSL("127.0.0.1", tls_port, context=client_tls, timeout=10) as smtp:
            smtp.ehlo()
            features = dict(smtp.esmtp_features)
            smtp.login(ACCESS_KEY_ID, smtp_password)
            return features, _send(smtp)

    features, reply = await asyncio.to_thread(run)
    assert "starttls" not in features and features["auth"].split() == ["PLAIN", "LOGIN"]
    assert reply == (250, f"Ok {FIRST_ID}".encode())
    assert backend.submissions[0].data == MESSAGE


async def test_ehlo_advertises_the_extensions_and_the_ses_size_limit_by_default(
    backend: FakeBackend, server_tls: ssl.SSLContext
) -> None:
    server = SmtpServer(
        backend, host="127.0.0.1", starttls_ports=[0], tls_ports=[], ssl_context=server_tls,
        hostname="smtp.openses.test",
    )
    await server.start()

    def run() -> dict[str, str]:
        with smtplib.SMTP("127.0.0.1", server.bound_ports["starttls"][0], timeout=10) as smtp:
            smtp.ehlo()
            return dict(smtp.esmtp_features)

    try:
        features = await asyncio.to_thread(run)
    finally:
        await server.stop()
    assert features["size"] == "41943040"
    for keyword in ("8bitmime", "pipelining", "smtputf8", "enhancedstatuscodes", "starttls"):
        assert keyword in features
    assert "auth" not in features  # RFC 4954 §4: not before TLS


@pytest.mark.parametrize("command", ["AUTH PLAIN AGFiYwBkZWY=", "MAIL FROM:<a@example.com>"])
async def test_auth_and_mail_before_starttls_are_refused_with_530(
    raw_client: Callable[..., RawClient], backend: FakeBackend, command: str
) -> None:
    def run() -> list[str]:
        client = raw_client()
        client.read_reply()
        client.command("EHLO client.example")
        return client.command(command)

    assert await asyncio.to_thread(run) == ["530 5.7.0 Must issue a STARTTLS command first"]
    assert backend.auth_attempts == 0


@pytest.mark.parametrize(
    "command", ["MAIL FROM:<a@example.com>", "RCPT TO:<b@example.com>", "DATA"]
)
async def test_mail_rcpt_and_data_without_auth_get_530_authentication_required(
    raw_client: Callable[..., RawClient], command: str
) -> None:
    def run() -> list[str]:
        client = raw_client()
        client.read_reply()
        client.command("EHLO client.example")
        client.starttls()
        client.command("EHLO client.example")
        return client.command(command)

    assert await asyncio.to_thread(run) == ["530 5.7.0 Authentication required"]


async def test_wrong_password_gets_535_authentication_credentials_invalid(
    starttls_port: int, client_tls: ssl.SSLContext, recorded_sleep: RecordingSleep
) -> None:
    def run() -> None:
        with _starttls_session(starttls_port, client_tls) as smtp:
            smtp.user, smtp.password = ACCESS_KEY_ID, "not-the-password"
            smtp.auth("PLAIN", smtp.auth_plain)

    with pytest.raises(smtplib.SMTPAuthenticationError) as raised:
        await asyncio.to_thread(run)
    assert raised.value.smtp_code == 535
    assert raised.value.smtp_error == b"5.7.8 Authentication Credentials Invalid"
    assert recorded_sleep.delays == []  # the first failures are not slowed down


async def test_repeated_auth_failures_are_delayed_then_refused_until_the_lockout_ends(
    raw_client: Callable[..., RawClient],
    smtp_password: str,
    clock: FakeClock,
    recorded_sleep: RecordingSleep,
) -> None:
    bad = f"AUTH PLAIN {auth_plain_argument(ACCESS_KEY_ID, 'wrong')}"

    def fail_until_locked_out() -> list[list[str]]:
        client = raw_client()
        client.read_reply()
        client.command("EHLO client.example")
        client.starttls()
        client.command("EHLO client.example")
        replies = [client.command(bad) for _ in range(4)]
        return replies + [[client.read_line()]]  # "" once the server has closed

    def try_again() -> list[str]:
        client = raw_client()
        client.read_reply()
        client.command("EHLO client.example")
        client.starttls()
        client.command("EHLO client.example")
        return client.command(f"AUTH PLAIN {auth_plain_argument(ACCESS_KEY_ID, smtp_password)}")

    invalid = ["535 5.7.8 Authentication Credentials Invalid"]
    locked = ["421 4.7.0 Too many failed authentication attempts, try again later"]
    assert await asyncio.to_thread(fail_until_locked_out) == [invalid, invalid, invalid, locked, [""]]
    assert recorded_sleep.delays == [1.0]  # the third failure, past the two free ones
    assert await asyncio.to_thread(try_again) == locked  # even with the right password
    clock.advance(901)
    assert await asyncio.to_thread(try_again) == ["235 2.7.0 Authentication successful"]


@pytest.mark.parametrize(
    ("error", "reply"),
    [
        (
            errors.MessageRejected("Email address is not verified. The following identities "
                                   "failed the check in region US-EAST-1: a@example.com"),
            (554, b"Message rejected: Email address is not verified. The following identities "
                  b"failed the check in region US-EAST-1: a@example.com"),
        ),
        (errors.Throttling("Maximum sending rate exceeded."),
         (454, b"Throttling failure: Maximum sending rate exceeded.")),
        (errors.AccessDenied("User is not authorized to perform ses:SendRawEmail"),
         (554, b"Access denied: User is not authorized to perform ses:SendRawEmail")),
        (errors.InvalidParameterValue("Illegal address"), (554, b"Transaction failed: Illegal address")),
        (RuntimeError("database on fire"), (451, b"4.3.0 Local error")),
    ],
)
async def test_backend_errors_become_ses_style_replies_to_data(
    starttls_port: int,
    client_tls: ssl.SSLContext,
    backend: FakeBackend,
    smtp_password: str,
    error: Exception,
    reply: tuple[int, bytes],
) -> None:
    backend.fail_with = error

    def run() -> tuple[int, bytes]:
        with _starttls_session(starttls_port, client_tls) as smtp:
            smtp.login(ACCESS_KEY_ID, smtp_password)
            return _send(smtp)

    assert await asyncio.to_thread(run) == reply


async def test_mail_declaring_a_size_over_the_limit_gets_552(
    starttls_port: int, client_tls: ssl.SSLContext, smtp_password: str
) -> None:
    def run() -> tuple[int, bytes]:
        with _starttls_session(starttls_port, client_tls) as smtp:
            smtp.login(ACCESS_KEY_ID, smtp_password)
            return smtp.mail("a@example.com", [f"SIZE={TEST_MAX_MESSAGE_SIZE + 1}"])

    assert await asyncio.to_thread(run) == (
        552, b"5.3.4 Message size exceeds fixed maximum message size"
    )


async def test_data_over_the_limit_gets_552_and_nothing_is_submitted(
    starttls_port: int, client_tls: ssl.SSLContext, backend: FakeBackend, smtp_password: str
) -> None:
    big = b"Subject: big\r\n\r\n" + b"x" * 900 + b"\r\n"
    big = big * (TEST_MAX_MESSAGE_SIZE // len(big) + 1)

    def run() -> tuple[int, bytes]:
        with _starttls_session(starttls_port, client_tls) as smtp:
            smtp.login(ACCESS_KEY_ID, smtp_password)
            return _send(smtp, big)

    assert await asyncio.to_thread(run) == (
        552, b"5.3.4 Message size exceeds fixed maximum message size"
    )
    assert backend.submissions == []


async def test_pipelined_commands_in_one_write_get_their_replies_in_order(
    raw_client: Callable[..., RawClient], backend: FakeBackend, smtp_password: str
) -> None:
    def run() -> list[list[str]]:
        client = raw_client()
        _login_raw(client, smtp_password)
        client.send(
            b"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n"
            b"RCPT TO:<c@example.com>\r\nDATA\r\n"
        )
        replies = [client.read_reply() for _ in range(4)]
        client.send(b"Subject: p\r\n\r\nbody\r\n.\r\nRSET\r\nNOOP\r\n")
        return replies + [client.read_reply() for _ in range(3)]

    assert await asyncio.to_thread(run) == [
        ["250 2.1.0 Ok"], ["250 2.1.5 Ok"], ["250 2.1.5 Ok"],
        ["354 End data with <CR><LF>.<CR><LF>"],
        [f"250 Ok {FIRST_ID}"], ["250 2.0.0 Ok"], ["250 2.0.0 Ok"],
    ]
    assert backend.submissions[0].rcpt_tos == ["b@example.com", "c@example.com"]
    assert backend.submissions[0].data == b"Subject: p\r\n\r\nbody\r\n"


@pytest.mark.parametrize(
    "fake_end", [b"\n.\n", b"\r.\r", b"\r\n.\n", b"\n.\r\n"], ids=["lf-dot-lf", "cr-dot-cr", "crlf-dot-lf", "lf-dot-crlf"]
)
async def test_smuggled_end_of_data_does_not_split_the_message_and_bare_newlines_are_rejected(
    raw_client: Callable[..., RawClient], backend: FakeBackend, smtp_password: str, fake_end: bytes
) -> None:
    def run() -> list[list[str]]:
        client = raw_client()
        _login_raw(client, smtp_password)
        client.command("MAIL FROM:<a@example.com>")
        client.command("RCPT TO:<b@example.com>")
        client.command("DATA")
        client.send(
            b"Subject: first\r\n\r\nbody" + fake_end
            + b"MAIL FROM:<admin@example.com>\r\nRCPT TO:<victim@example.net>\r\nDATA\r\n"
            + b"Subject: smuggled\r\n\r\nsmuggled\r\n.\r\n"
        )
        return [client.read_reply(), client.command("NOOP")]

    assert await asyncio.to_thread(run) == [
        ["554 5.5.2 Bare CR or LF in message data is not allowed; use CRLF"],
        ["250 2.0.0 Ok"],
    ]
    assert backend.submissions == []


async def test_a_data_line_over_1000_octets_gets_500_line_too_long(
    raw_client: Callable[..., RawClient], backend: FakeBackend, smtp_password: str
) -> None:
    def run() -> list[list[str]]:
        client = raw_client()
        _login_raw(client, smtp_password)
        client.command("MAIL FROM:<a@example.com>")
        client.command("RCPT TO:<b@example.com>")
        client.command("DATA")
        client.send(b"Subject: long\r\n\r\n" + b"y" * 1200 + b"\r\n.\r\n")
        return [client.read_reply(), client.command("NOOP " + "z" * 1100)]

    assert await asyncio.to_thread(run) == [
        ["500 5.5.2 Line too long"], ["500 5.5.2 Line too long"]
    ]
    assert backend.submissions == []


async def test_a_line_of_exactly_1000_octets_with_crlf_is_accepted(
    raw_client: Callable[..., RawClient], backend: FakeBackend, smtp_password: str
) -> None:
    line = b"w" * 998 + b"\r\n"  # RFC 5321 §4.5.3.1.6: the limit, CRLF included

    def run() -> list[str]:
        client = raw_client()
        _login_raw(client, smtp_password)
        client.command("MAIL FROM:<a@example.com>")
        client.command("RCPT TO:<b@example.com>")
        client.command("DATA")
        client.send(b"Subject: edge\r\n\r\n" + line + b".\r\n")
        return client.read_reply()

    assert await asyncio.to_thread(run) == [f"250 Ok {FIRST_ID}"]
    assert backend.submissions[0].data.endswith(line)


async def test_smtputf8_and_8bitmime_messages_arrive_byte_for_byte(
    starttls_port: int, client_tls: ssl.SSLContext, backend: FakeBackend, smtp_password: str
) -> None:
    message = "From: Jürgen <jürgen@exämple.de>\r\nSubject: Grüße\r\n\r\nÄÖÜ ✓\r\n".encode()

    def run() -> dict[str, tuple[int, bytes]]:
        with _starttls_session(starttls_port, client_tls) as smtp:
            smtp.login(ACCESS_KEY_ID, smtp_password)
            return smtp.sendmail(
                "jürgen@exämple.de", ["zoë@example.net"], message,
                mail_options=["SMTPUTF8", "BODY=8BITMIME"],
            )

    assert await asyncio.to_thread(run) == {}
    [submission] = backend.submissions
    assert (submission.mail_from, submission.rcpt_tos) == ("jürgen@exämple.de", ["zoë@example.net"])
    assert submission.data == message


async def test_the_fifty_first_recipient_gets_452_and_the_first_fifty_stay(
    raw_client: Callable[..., RawClient], smtp_password: str
) -> None:
    def run() -> list[list[str]]:
        client = raw_client()
        _login_raw(client, smtp_password)
        client.command("MAIL FROM:<a@example.com>")
        return [client.command(f"RCPT TO:<r{i}@example.com>") for i in range(51)]

    replies = await asyncio.to_thread(run)
    assert replies[:50] == [["250 2.1.5 Ok"]] * 50
    assert replies[50] == ["452 4.5.3 Too many recipients"]


async def test_stop_closes_open_connections(
    smtp_server: SmtpServer, raw_client: Callable[..., RawClient]
) -> None:
    client = await asyncio.to_thread(raw_client)
    assert (await asyncio.to_thread(client.read_reply))[0].startswith("220 smtp.openses.test ESMTP")
    await smtp_server.stop()
    assert await asyncio.to_thread(client.read_line) == ""


async def test_a_successful_auth_logs_no_warning(
    raw_client: Callable[..., RawClient], smtp_password: str, caplog: pytest.LogCaptureFixture
) -> None:
    # aiosmtpd logs "Session.login_data is deprecated" on every successful AUTH by default.
    await asyncio.to_thread(_login_raw, raw_client(), smtp_password)
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == []
