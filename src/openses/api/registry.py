"""Which function answers which (service, operation)."""

from __future__ import annotations

import importlib
import pkgutil
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

_INFRASTRUCTURE = {"app", "context", "registry"}


def operation(service: str, name: str, *, self_authorizing: bool = False) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        existing = _HANDLERS.get((service, name))
        if existing is not None and existing.__qualname__ != fn.__qualname__:
            raise RuntimeError(f"{service} {name} is handled twice: {existing.__module__} and {fn.__module__}")
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
    """Import every handler module of this package so that its operations register."""
    import openses.api as package

    for info in pkgutil.iter_modules(package.__path__):
        if info.name not in _INFRASTRUCTURE:
            importlib.import_module(f"openses.api.{info.name}")
