"""What a handler gets: the services built at start-up and who is calling."""

from __future__ import annotations

from dataclasses import dataclass

from openses.config import Settings
from openses.core.accounts import AccountService, Principal
from openses.core.directory import Directory
from openses.core.identities import IdentityService
from openses.core.quota import SendLimiter
from openses.core.sending import SendingService
from openses.store.store import Store


@dataclass
class Services:
    settings: Settings
    store: Store
    accounts: AccountService
    directory: Directory
    limiter: SendLimiter
    identities: IdentityService
    sending: SendingService


@dataclass
class RequestContext:
    services: Services
    principal: Principal
    service: str  # ses | sesv2 | sts
    operation: str
    request_id: str

    @property
    def account_id(self) -> str:
        return self.principal.account_id

    @property
    def region(self) -> str:
        return self.services.settings.region
