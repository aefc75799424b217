"""The real SMTP backend: SES SMTP credentials against the key store, mail into the pipeline."""

from __future__ import annotations

from openses.core.accounts import Principal
from openses.core.directory import Directory
from openses.core.policy import parse_policy
from openses.core.sending import V2_MAX_BYTES, SendingService, SendOptions
from openses.protocol.smtp_password import verify_smtp_password

_SMTP_OPTIONS = SendOptions(action="ses:SendRawEmail", api_version="smtp", channel="smtp",
                            max_bytes=V2_MAX_BYTES)


class PipelineBackend:
    def __init__(self, directory: Directory, sending: SendingService, *, region: str,
                 dev_account_id: str | None = None) -> None:
        self._directory = directory
        self._sending = sending
        self._region = region
        self._dev_account_id = dev_account_id

    async def authenticate(self, username: str, password: str) -> Principal | None:
        principal = await self._directory.principal(username)
        if principal is None:
            if self._dev_account_id is not None:
                # Development mode: any credentials are the development account.
                return Principal(username, self._dev_account_id, "developer", "", parse_policy(None))
            return None
        if not verify_smtp_password(principal.secret, self._region, password):
            return None
        return principal

    async def submit(self, principal: object, mail_from: str, rcpt_tos: list[str], data: bytes) -> str:
        assert isinstance(principal, Principal)
        return await self._sending.send_raw(principal, raw=data, source=mail_from or None,
                                            destinations=rcpt_tos, options=_SMTP_OPTIONS)
