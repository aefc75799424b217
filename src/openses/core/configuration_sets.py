"""Configuration sets: named bundles of sending options and event destinations.

A send names one (API field, `X-SES-CONFIGURATION-SET` header, the sending identity's default or
the account's default); the pipeline reads it from memory through the Directory. Options are
kept in SES v2's shape; the v1 handlers translate. Event types are kept as v2 names (SEND,
BOUNCE, …): the one place that maps v1 names and event payloads to them is here.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from openses.core.directory import Directory
from openses.errors import (
    ConfigurationSetAlreadyExists,
    ConfigurationSetDoesNotExist,
    EventDestinationAlreadyExists,
    EventDestinationDoesNotExist,
    InvalidConfigurationSet,
    InvalidSNSDestination,
    LimitExceeded,
    NotImplementedOperation,
)
from openses.store import feedback_repo as frepo
from openses.store.store import Store

_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")
MAX_DESTINATIONS = 10  # SES: at most 10 event destinations per configuration set
V1_TYPES = {"send": "SEND", "reject": "REJECT", "bounce": "BOUNCE", "complaint": "COMPLAINT",
            "delivery": "DELIVERY", "open": "OPEN", "click": "CLICK", "renderingFailure": "RENDERING_FAILURE",
            "deliveryDelay": "DELIVERY_DELAY", "subscription": "SUBSCRIPTION"}
V2_TO_V1 = {v: k for k, v in V1_TYPES.items()}
# The eventType of a record (SES's JSON) → the v2 name a destination matches on.
EVENT_TYPES = {"Send": "SEND", "Reject": "REJECT", "Bounce": "BOUNCE", "Complaint": "COMPLAINT",
               "Delivery": "DELIVERY", "Open": "OPEN", "Click": "CLICK", "RenderingFailure": "RENDERING_FAILURE",
               "DeliveryDelay": "DELIVERY_DELAY", "Subscription": "SUBSCRIPTION"}
_SUPPORTED_DESTINATIONS = ("SnsDestination",)


@dataclass(frozen=True)
class ConfigSet:
    """What the send path needs of a configuration set."""

    name: str
    options: dict[str, Any]

    @property
    def sending_enabled(self) -> bool:
        return bool(self.options.get("SendingOptions", {}).get("SendingEnabled", True))

    @property
    def suppressed_reasons(self) -> tuple[str, ...] | None:
        """The set's override of the account's suppression reasons; None: no override."""
        opts = self.options.get("SuppressionOptions")
        return None if opts is None else tuple(opts.get("SuppressedReasons") or ())

    @property
    def delivery(self) -> dict[str, Any]:
        """TlsPolicy (REQUIRE | OPTIONAL), MaxDeliverySeconds, SendingPoolName, for delivery."""
        return dict(self.options.get("DeliveryOptions") or {})


def check_name(name: str) -> None:
    if not _NAME.match(name or ""):
        raise InvalidConfigurationSet(
            f"Configuration set name <{name}> is invalid: use at most 64 ASCII letters, numbers, "
            "underscores and dashes.")


def does_not_exist(name: str) -> ConfigurationSetDoesNotExist:
    return ConfigurationSetDoesNotExist(f"Configuration set <{name}> does not exist.")


class ConfigurationSetService:
    def __init__(self, store: Store, directory: Directory | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._directory = directory
        self._clock = clock

    def _changed(self, account_id: str) -> None:
        if self._directory is not None:
            self._directory.forget(account_id)

    async def create(self, account_id: str, name: str, options: dict[str, Any],
                     tags: list[dict[str, str]] | None = None) -> None:
        check_name(name)
        row = {"account_id": account_id, "name": name, "options": _clean(options), "tags": tags or [],
               "created_at": self._clock()}
        try:
            await self._store.write(lambda c: frepo.insert_configuration_set(c, row))
        except IntegrityError:
            raise ConfigurationSetAlreadyExists(f"Configuration set <{name}> already exists.") from None
        self._changed(account_id)

    async def get(self, account_id: str, name: str) -> dict[str, Any]:
        row = await self._store.read(lambda c: frepo.get_configuration_set(c, account_id, name))
        if row is None:
            raise does_not_exist(name)
        return row

    async def names(self, account_id: str) -> list[str]:
        return await self._store.read(lambda c: frepo.list_configuration_sets(c, account_id))

    async def delete(self, account_id: str, name: str) -> None:
        if not await self._store.write(lambda c: frepo.delete_configuration_set(c, account_id, name)):
            raise does_not_exist(name)
        self._changed(account_id)

    async def put_option(self, account_id: str, name: str, key: str, value: dict[str, Any] | None) -> None:
        """Replace one option group (DeliveryOptions, SendingOptions, …); None removes it."""
        def edit(options: dict[str, Any]) -> None:
            if value is None:
                options.pop(key, None)
            else:
                options[key] = _clean(value)

        await self._edit_options(account_id, name, edit)

    async def merge_option(self, account_id: str, name: str, key: str, value: dict[str, Any]) -> None:
        """Merge `value` into one option group: the fields it leaves out keep their values."""
        def edit(options: dict[str, Any]) -> None:
            options[key] = _clean({**options.get(key, {}), **value})

        await self._edit_options(account_id, name, edit)

    async def _edit_options(self, account_id: str, name: str, edit: Callable[[dict[str, Any]], None]) -> None:
        """Read, edit and write the options in one transaction, the set's row locked: a change of
        another group meanwhile (another request, node or the CLI) is kept, not written over."""
        def write(conn: Connection) -> None:
            row = frepo.lock_configuration_set(conn, account_id, name)
            if row is None:
                raise does_not_exist(name)
            options = dict(row["options"] or {})
            edit(options)
            frepo.update_configuration_set(conn, account_id, name, options=options)

        await self._store.write(write)
        self._changed(account_id)

    # --- event destinations -------------------------------------------------------------------

    async def destinations(self, account_id: str, name: str) -> list[dict[str, Any]]:
        await self.get(account_id, name)
        return await self._store.read(lambda c: frepo.list_event_destinations(c, account_id, name))

    async def add_destination(self, account_id: str, name: str, dest_name: str, definition: dict[str, Any]) -> None:
        existing = await self.destinations(account_id, name)
        if any(d["name"] == dest_name for d in existing):
            raise EventDestinationAlreadyExists(
                f"Event destination {dest_name} already exists in configuration set {name}.")
        if len(existing) >= MAX_DESTINATIONS:
            raise LimitExceeded(f"A configuration set can have at most {MAX_DESTINATIONS} event destinations.")
        check_name(dest_name)
        row = {"account_id": account_id, "configuration_set": name, "name": dest_name,
               **await self._validated(account_id, definition), "created_at": self._clock()}
        await self._store.write(lambda c: frepo.insert_event_destination(c, row))

    async def update_destination(self, account_id: str, name: str, dest_name: str,
                                 definition: dict[str, Any]) -> None:
        await self._require_destination(account_id, name, dest_name)
        values = await self._validated(account_id, definition)
        await self._store.write(lambda c: frepo.update_event_destination(c, account_id, name, dest_name, **values))

    async def delete_destination(self, account_id: str, name: str, dest_name: str) -> None:
        await self._require_destination(account_id, name, dest_name)
        await self._store.write(lambda c: frepo.delete_event_destination(c, account_id, name, dest_name))

    async def _require_destination(self, account_id: str, name: str, dest_name: str) -> None:
        if not any(d["name"] == dest_name for d in await self.destinations(account_id, name)):
            raise EventDestinationDoesNotExist(
                f"No event destination named {dest_name} exists in configuration set {name}.")

    async def _validated(self, account_id: str, definition: dict[str, Any]) -> dict[str, Any]:
        kinds = [k for k in definition if k.endswith("Destination") and definition[k]]
        unsupported = [k for k in kinds if k not in _SUPPORTED_DESTINATIONS]
        if unsupported:
            raise NotImplementedOperation(
                f"openses delivers events to SNS destinations (openses topics) only, not {unsupported[0]}.")
        if not kinds:
            raise InvalidSNSDestination("An event destination needs an SnsDestination with a TopicArn.")
        arn = definition["SnsDestination"].get("TopicArn", "")
        if await self._store.read(lambda c: frepo.get_topic(c, arn)) is None or f":{account_id}:" not in arn:
            raise InvalidSNSDestination(f"SNS topic <{arn}> not found.")
        types = definition.get("MatchingEventTypes") or []
        return {"enabled": bool(definition.get("Enabled", False)), "event_types": list(dict.fromkeys(types)),
                "destination": {"SnsDestination": {"TopicArn": arn}}}


def _clean(options: dict[str, Any]) -> dict[str, Any]:
    """JSON-storable options: timestamps (datetime) as epoch seconds, None values dropped."""
    out: dict[str, Any] = {}
    for k, v in options.items():
        if v is None:
            continue
        if isinstance(v, dict):
            v = _clean(v)
        elif hasattr(v, "timestamp"):
            v = v.timestamp()
        out[k] = v
    return out


async def lookup(store: Store, directory: Directory, account_id: str, name: str) -> ConfigSet:
    """The configuration set a send names, from memory (re-read after the cache TTL)."""
    async def load() -> ConfigSet | None:
        row = await store.read(lambda c: frepo.get_configuration_set(c, account_id, name))
        return ConfigSet(row["name"], row["options"]) if row else None

    found = await directory.remember("configuration_set", f"{account_id}/{name}", load)
    if found is None:
        raise does_not_exist(name)
    return found
