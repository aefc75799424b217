"""Relay mode: every message goes through one smarthost with AUTH and TLS (for clouds that
block outbound port 25: another provider's submission port, e.g. 587 or 2587)."""

from __future__ import annotations

from openses.delivery.bounce import failed_outcome, outcome_of
from openses.delivery.outcome import Outcome
from openses.delivery.parcel import Parcel
from openses.delivery.pool import SessionPool
from openses.delivery.smtp_client import Endpoint, SessionFailed, TlsMode


class RelayTransport:
    needs_data = True

    def __init__(self, pool: SessionPool, *, host: str, port: int, tls: TlsMode, username: str | None,
                 password: str | None, verify_certificate: bool, reporting_mta: str) -> None:
        # Unlike opportunistic MX TLS, a configured relay is one known host: TLS to it is required
        # unless "none" was asked for, and its certificate is checked unless told otherwise.
        self._endpoint = Endpoint(host, host, port, tls, require_tls=tls != "none",
                                  verify_certificate=verify_certificate, username=username or None,
                                  password=password)
        self._pool = pool
        self._reporting = reporting_mta

    async def deliver(self, parcel: Parcel) -> Outcome:
        if parcel.require_tls and not self._endpoint.require_tls:
            # TlsPolicy REQUIRE, and the relay is configured without TLS: never send it in the clear.
            return failed_outcome(f"451 4.7.10 Relay {self._endpoint.host} is used without TLS, and the "
                                  "configuration set requires TLS", reporting_mta=self._reporting,
                                  remote_mta=self._endpoint.host)
        try:
            result = await self._pool.send(self._endpoint, parcel.mail_from, parcel.recipients, parcel.data)
        except SessionFailed as e:
            # A relay that refuses us (bad password, no TLS) is our problem, not the recipient's:
            # retry rather than bounce.
            reply = e.reply if e.reply.startswith("4") else f"451 4.4.0 Relay {self._endpoint.host}: {e.reply}"
            return failed_outcome(reply, reporting_mta=self._reporting, remote_mta=self._endpoint.host)
        return outcome_of(result.replies, reporting_mta=self._reporting, remote_mta=self._endpoint.host)

    async def close(self) -> None:
        await self._pool.close()
