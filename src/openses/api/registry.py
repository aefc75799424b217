"""Which function answers which (service, operation)."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openses.api.context import RequestContext

Handler = Callable[["RequestContext", dict[str, Any]], Awaitable[dict[str, Any]]]

_HANDLERS: dict[tuple[str, str], Handler] = {}
# Operations that check the key's policy themselves, with the sender identity as the resource.
SELF_AUTHORIZING: set[tuple[str, str]] = set()
# Operations any valid key may call (IAM does not govern them).
NO_POLICY: set[tuple[str, str]] = {("sts", "GetCallerIdentity")}

_MODULES = ("sending", "account", "identities", "sts")


def operation(service: str, name: str, *, self_authorizing: bool = False) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        _HANDLERS[(service, name)] = fn
        if self_authorizing:
            SELF_AUTHORIZING.add((service, name))
        return fn

    return register


def handler_for(service: str, name: str) -> Handler | None:
    return _HANDLERS.get((service, name))


def implemented() -> set[tuple[str, str]]:
    return set(_HANDLERS)


def load_all() -> None:
    """Import every handler module so that its operations register."""
    for module in _MODULES:
        importlib.import_module(f"openses.api.{module}")
