"""Contact lists, their topics, contacts and their subscriptions; one-click unsubscribe.

A contact's status for a topic is its own preference if it stated one, else the topic's
default; `UnsubscribeAll` overrides every topic. Mail sent with ListManagementOptions carries a
`List-Unsubscribe` link (RFC 8058); following it updates the contact and raises a Subscription
event, and later sends to that list and topic skip the contact.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from openses.core.addresses import check_address
from openses.core.events import iso
from openses.errors import AlreadyExists, InvalidParameterValue, LimitExceeded, NotFound
from openses.store import contacts_repo as repo
from openses.store import repositories
from openses.store.store import Store

MAX_LISTS = 1  # SES: one contact list per account and Region
MAX_TOPICS = 20  # SES: 20 topics per contact list
OPT_IN, OPT_OUT = "OPT_IN", "OPT_OUT"
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")


@dataclass(frozen=True)
class Link:
    """What one unsubscribe link stands for."""

    token: str
    account_id: str
    list_name: str
    topic: str | None
    recipients: tuple[str, ...]


def _check_name(kind: str, name: str) -> None:
    if not _NAME.match(name or ""):
        raise InvalidParameterValue(f"{kind} name must be 1 to 64 letters, numbers, underscores or dashes.")


def _check_topics(topics: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    if len(topics) > MAX_TOPICS:
        raise LimitExceeded(f"A contact list can have at most {MAX_TOPICS} topics.")
    names = [t["TopicName"] for t in topics]
    if len(set(names)) != len(names):
        raise InvalidParameterValue("Topic names must be unique within a contact list.")
    for name in names:
        _check_name("Topic", name)
    return [dict(t) for t in topics]


def status_for(contact: dict[str, Any] | None, topics: Sequence[dict[str, Any]], topic: str | None) -> str:
    """OPT_IN or OPT_OUT for a contact (None: not on the list) and a topic (None: the list)."""
    if contact is not None and contact["unsubscribe_all"]:
        return OPT_OUT
    if topic is None:
        return OPT_IN
    defaults = {t["TopicName"]: t["DefaultSubscriptionStatus"] for t in topics}
    own = (contact or {}).get("topic_preferences") or {}
    return str(own.get(topic) or defaults.get(topic, OPT_IN))


class ContactService:
    def __init__(self, store: Store, *, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock

    # --- lists --------------------------------------------------------------------------------

    async def create_list(self, account_id: str, name: str, topics: Sequence[dict[str, Any]],
                          description: str | None, tags: list[dict[str, str]] | None) -> None:
        _check_name("Contact list", name)
        now = self._clock()
        row = {"account_id": account_id, "name": name, "description": description,
               "topics": _check_topics(topics), "tags": tags or [], "created_at": now, "updated_at": now}

        def write(conn: Any) -> None:
            if repo.get_list(conn, account_id, name) is not None:
                raise AlreadyExists(f"List with name {name} already exists.")
            if repo.count_lists(conn, account_id) >= MAX_LISTS:
                raise LimitExceeded("You can have only one contact list per account.")
            repo.insert_list(conn, row)

        await self._store.write(write)

    async def get_list(self, account_id: str, name: str) -> dict[str, Any]:
        row = await self._store.read(lambda c: repo.get_list(c, account_id, name))
        if row is None:
            raise NotFound(f"List with name {name} does not exist.")
        return row

    async def update_list(self, account_id: str, name: str, topics: Sequence[dict[str, Any]] | None,
                          description: str | None) -> None:
        values: dict[str, Any] = {"updated_at": self._clock(), "description": description}
        if topics is not None:
            values["topics"] = _check_topics(topics)
        if not await self._store.write(lambda c: repo.update_list(c, account_id, name, **values)):
            raise NotFound(f"List with name {name} does not exist.")

    async def delete_list(self, account_id: str, name: str) -> None:
        if not await self._store.write(lambda c: repo.delete_list(c, account_id, name)):
            raise NotFound(f"List with name {name} does not exist.")

    async def lists(self, account_id: str) -> list[dict[str, Any]]:
        return await self._store.read(lambda c: repo.list_lists(c, account_id))

    # --- contacts -----------------------------------------------------------------------------

    async def create_contact(self, account_id: str, list_name: str, email: str,
                             preferences: Sequence[dict[str, str]], unsubscribe_all: bool,
                             attributes: str | None) -> None:
        topics = (await self.get_list(account_id, list_name))["topics"]
        email = check_address(email)
        now = self._clock()
        email_key = email.lower()
        row = {"account_id": account_id, "list_name": list_name, "email": email, "email_key": email_key,
               "topic_preferences": _preferences(topics, preferences, {}), "unsubscribe_all": bool(unsubscribe_all),
               "attributes": attributes, "created_at": now, "updated_at": now}

        def write(conn: Any) -> None:
            if repo.get_contact(conn, account_id, list_name, email_key) is not None:
                raise AlreadyExists(f"Contact already exists in list {list_name}")
            repo.insert_contact(conn, row)

        await self._store.write(write)

    async def get_contact(self, account_id: str, list_name: str, email: str) -> tuple[dict[str, Any], list[Any]]:
        """(the contact, the list's topics)."""
        topics = (await self.get_list(account_id, list_name))["topics"]
        row = await self._store.read(lambda c: repo.get_contact(c, account_id, list_name, email.lower()))
        if row is None:
            raise NotFound(f"Contact {email} does not exist in list {list_name}")
        return row, topics

    async def update_contact(self, account_id: str, list_name: str, email: str,
                             preferences: Sequence[dict[str, str]] | None, unsubscribe_all: bool | None,
                             attributes: str | None) -> None:
        """Only the topic preferences given change (SES: no need to repeat the others). The
        contact is read and written in one transaction, its row locked: an unsubscribe meanwhile
        (a link followed on another node) is kept, not written over."""
        now = self._clock()

        def write(conn: Any) -> None:
            contact_list = repo.get_list(conn, account_id, list_name)
            if contact_list is None:
                raise NotFound(f"List with name {list_name} does not exist.")
            row = repo.lock_contact(conn, account_id, list_name, email.lower())
            if row is None:
                raise NotFound(f"Contact {email} does not exist in list {list_name}")
            values: dict[str, Any] = {"updated_at": now, "topic_preferences": _preferences(
                contact_list["topics"], preferences or [], row["topic_preferences"])}
            if unsubscribe_all is not None:
                values["unsubscribe_all"] = unsubscribe_all
            if attributes is not None:
                values["attributes"] = attributes
            repo.update_contact(conn, account_id, list_name, email.lower(), **values)

        await self._store.write(write)

    async def delete_contact(self, account_id: str, list_name: str, email: str) -> None:
        await self.get_list(account_id, list_name)
        if not await self._store.write(lambda c: repo.delete_contact(c, account_id, list_name, email.lower())):
            raise NotFound(f"Contact {email} does not exist in list {list_name}")

    async def contacts(self, account_id: str, list_name: str, status: str | None = None,
                       topic: str | None = None, use_default: bool = False) -> tuple[list[Any], list[Any]]:
        """(contacts matching ListContacts' filter, the list's topics)."""
        topics = (await self.get_list(account_id, list_name))["topics"]
        rows = await self._store.read(lambda c: repo.list_contacts(c, account_id, list_name))
        if status is None:
            return rows, topics
        if topic is None:
            return [r for r in rows if status_for(r, topics, None) == status], topics
        if not use_default:  # only contacts that stated a preference for the topic
            rows = [r for r in rows if topic in (r["topic_preferences"] or {}) or r["unsubscribe_all"]]
        return [r for r in rows if status_for(r, topics, topic) == status], topics

    # --- sending to a list --------------------------------------------------------------------

    async def subscribed(self, account_id: str, list_name: str, topic: str | None,
                         recipients: Sequence[str]) -> set[str]:
        """The recipients (lower-cased) that may get mail of this list and topic."""
        contact_list = await self.get_list(account_id, list_name)
        topics = contact_list["topics"]
        if topic is not None and topic not in {t["TopicName"] for t in topics}:
            raise NotFound(f"Topic {topic} does not exist in list {list_name}.")
        keys = [r.lower() for r in recipients]
        rows = await self._store.read(lambda c: repo.get_contacts(c, account_id, list_name, keys))
        by_key = {r["email_key"]: r for r in rows}
        return {k for k in keys if status_for(by_key.get(k), topics, topic) == OPT_IN}

    @staticmethod
    def new_link(account_id: str, list_name: str, topic: str | None, recipients: Sequence[str]) -> Link:
        return Link(secrets.token_urlsafe(32), account_id, list_name, topic, tuple(recipients))

    async def save_link(self, link: Link, message_id: str) -> None:
        row = {"token": link.token, "account_id": link.account_id, "list_name": link.list_name,
               "topic": link.topic, "recipients": list(link.recipients), "message_id": message_id,
               "created_at": self._clock()}
        await self._store.write(lambda c: repo.insert_link(c, row))

    async def link(self, token: str) -> dict[str, Any] | None:
        return await self._store.read(lambda c: repo.get_link(c, token))

    async def unsubscribe(self, token: str, source: str = "UnsubscribeHeader") -> bool:
        """Follow an unsubscribe link: opt its recipients out (of its topic, or of the whole list)
        and record a Subscription event for each. False when the link is unknown."""
        now = self._clock()

        def write(conn: Any) -> bool:
            link = repo.get_link(conn, token)
            if link is None:
                return False
            contact_list = repo.get_list(conn, link["account_id"], link["list_name"])
            if contact_list is None:
                return True  # the list was deleted: nothing left to unsubscribe from
            mail = repositories.send_mail_objects(conn, [link["message_id"]]).get(link["message_id"])
            events = [_opt_out(conn, link, contact_list["topics"], email, now, mail, source)
                      for email in link["recipients"]]
            repositories.insert_events(conn, [e for e in events if e is not None])
            return True

        return bool(await self._store.write(write))


def _preferences(topics: Sequence[dict[str, Any]], given: Sequence[dict[str, str]],
                 current: dict[str, str]) -> dict[str, str]:
    known = {t["TopicName"] for t in topics}
    out = dict(current or {})
    for p in given:
        if p["TopicName"] not in known:
            raise InvalidParameterValue(f"Topic {p['TopicName']} does not exist in the contact list.")
        out[p["TopicName"]] = p["SubscriptionStatus"]
    return out


def _opt_out(conn: Any, link: dict[str, Any], topics: list[Any], email: str, now: float,
             mail: tuple[float, Any] | None, source: str) -> dict[str, Any] | None:
    """Opt one recipient out in the caller's transaction; its Subscription event row."""
    account_id, list_name, topic = link["account_id"], link["list_name"], link["topic"]
    contact = repo.lock_contact(conn, account_id, list_name, email.lower())  # its other preferences stay
    old = _snapshot(contact, topics)
    if contact is None:  # not a contact yet: record the choice so later sends honour it
        contact = {"account_id": account_id, "list_name": list_name, "email": email, "email_key": email.lower(),
                   "topic_preferences": {}, "unsubscribe_all": False, "attributes": None,
                   "created_at": now, "updated_at": now}
        repo.insert_contact(conn, contact)
    prefs = dict(contact["topic_preferences"] or {})
    values: dict[str, Any] = {"updated_at": now}
    if topic:
        prefs[topic] = OPT_OUT
        values["topic_preferences"] = prefs
    else:
        values["unsubscribe_all"] = True
    repo.update_contact(conn, account_id, list_name, email.lower(), **values)
    new = _snapshot({**contact, **values}, topics)
    if mail is None:
        return None
    detail = {"contactList": list_name, "timestamp": iso(now), "source": source,
              "newTopicPreferences": new, "oldTopicPreferences": old}
    return {"account_id": account_id, "message_id": mail[1]["messageId"], "event_type": "Subscription",
            "recipients": 1, "created_at": now,
            "payload": {"eventType": "Subscription", "mail": mail[1], "subscription": detail}}


def _snapshot(contact: dict[str, Any] | None, topics: list[Any]) -> dict[str, Any]:
    """Topic preferences as SES's Subscription event writes them (OptIn / OptOut)."""
    words = {OPT_IN: "OptIn", OPT_OUT: "OptOut"}
    own = (contact or {}).get("topic_preferences") or {}
    return {"unsubscribeAll": bool((contact or {}).get("unsubscribe_all")),
            "topicSubscriptionStatus": [
                {"topicName": t["TopicName"], "subscriptionStatus": words[own.get(t["TopicName"]) or
                                                                          t["DefaultSubscriptionStatus"]]}
                for t in topics]}
