"""Read-modify-writes of one row from two connections (two nodes, or the CLI and a server): an
identity's attributes, configuration set options, a contact's topic preferences, resource tags,
feedback settings, SNS topic attributes and an account's production access. The
first writer holds the row in an open transaction; the second waits for it, then keeps both
changes instead of writing back what it read before."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest
from sqlalchemy.engine import Connection

from openses.core import suppression, topic_attributes, topics
from openses.core.accounts import SANDBOX_QUOTA, AccountService
from openses.core.configuration_sets import ConfigurationSetService
from openses.core.contacts import OPT_IN, OPT_OUT, ContactService
from openses.core.identities import PENDING, IdentityService, new_row
from openses.core.secrets import SecretBox
from openses.core.tags import Resource, TagService, merged
from openses.store import contacts_repo, feedback_repo, identities_repo, repositories, sns_repo, tags_repo
from openses.store.store import Store
from tests.support.polling import wait_until

ACCOUNT = "111122223333"
T = TypeVar("T")


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite has one writer at a time: tests/unit/test_writer.py")
    opened = Store.open(database_url)
    yield opened
    opened.close()


def _waiting_for_a_lock(store: Store) -> int:
    return int(store.read_sync(lambda c: c.exec_driver_sql(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
        "AND datname = current_database()").scalar_one()))  # this test's database only


async def _after_the_holder(store: Store, first: Callable[[Connection], None], second: Awaitable[T]) -> T:
    """Run `first` in a transaction of its own connection (another node's) and hold it open; start
    `second`, see it wait for a lock, then commit `first`. What `second` returns."""
    locked, release = threading.Event(), threading.Event()

    def holder() -> None:
        with store.engine.begin() as conn:
            first(conn)
            locked.set()
            release.wait(30)

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert locked.wait(30)
        task = asyncio.ensure_future(second)
        await asyncio.to_thread(wait_until, lambda: _waiting_for_a_lock(store) > 0,
                                what="the second writer waiting for the row")
        assert not task.done()
    finally:
        release.set()
        thread.join()
    return await task


async def test_an_identity_update_waits_for_the_writer_holding_the_identity_and_keeps_its_change(store):
    # The DNS verifier's update on a server against an operator's DKIM rotation from the CLI.
    store.write_sync(lambda c: identities_repo.insert_identity(c, new_row(ACCOUNT, "example.com", PENDING, 0.0)))

    def first(conn: Connection) -> None:
        row = identities_repo.lock_identity(conn, ACCOUNT, "example.com")
        assert row is not None
        identities_repo.update_identity(conn, ACCOUNT, "example.com", attributes=dict(row["attributes"] or {}, first=1))

    updated = await _after_the_holder(store, first, IdentityService(store).update(
        ACCOUNT, "example.com", lambda i: {"attributes": dict(i.attributes, second=2)}))
    assert (updated.attributes["first"], updated.attributes["second"]) == (1, 2)
    stored = store.read_sync(lambda c: identities_repo.get_identity(c, ACCOUNT, "example.com"))
    assert stored is not None and (stored["attributes"]["first"], stored["attributes"]["second"]) == (1, 2)


async def test_a_configuration_set_option_put_meanwhile_is_kept(store):
    sets = ConfigurationSetService(store)
    await sets.create(ACCOUNT, "marketing", {"ReputationOptions": {"ReputationMetricsEnabled": True}})

    def first(conn: Connection) -> None:  # PutConfigurationSetDeliveryOptions on another node
        row = feedback_repo.lock_configuration_set(conn, ACCOUNT, "marketing")
        assert row is not None
        feedback_repo.update_configuration_set(conn, ACCOUNT, "marketing", options=dict(
            row["options"], DeliveryOptions={"TlsPolicy": "REQUIRE"}))

    await _after_the_holder(store, first, sets.merge_option(ACCOUNT, "marketing", "SendingOptions",
                                                            {"SendingEnabled": False}))
    options = (await sets.get(ACCOUNT, "marketing"))["options"]
    assert options == {"ReputationOptions": {"ReputationMetricsEnabled": True},
                       "DeliveryOptions": {"TlsPolicy": "REQUIRE"}, "SendingOptions": {"SendingEnabled": False}}


async def _a_contact(store: Store) -> ContactService:
    contacts = ContactService(store)
    await contacts.create_list(ACCOUNT, "customers", [{"TopicName": t, "DefaultSubscriptionStatus": OPT_IN}
                                                      for t in ("news", "offers")], None, None)
    await contacts.create_contact(ACCOUNT, "customers", "ann@example.com", [], False, None)
    return contacts


def _opt_out_of_offers(conn: Connection) -> None:  # an unsubscribe link followed on another node
    row = contacts_repo.lock_contact(conn, ACCOUNT, "customers", "ann@example.com")
    assert row is not None
    contacts_repo.update_contact(conn, ACCOUNT, "customers", "ann@example.com",
                                 topic_preferences=dict(row["topic_preferences"], offers=OPT_OUT))


async def test_a_contact_keeps_an_unsubscribe_made_while_update_contact_ran(store):
    contacts = await _a_contact(store)
    await _after_the_holder(store, _opt_out_of_offers, contacts.update_contact(
        ACCOUNT, "customers", "ann@example.com", [{"TopicName": "news", "SubscriptionStatus": OPT_OUT}], None, None))
    contact, _ = await contacts.get_contact(ACCOUNT, "customers", "ann@example.com")
    assert contact["topic_preferences"] == {"news": OPT_OUT, "offers": OPT_OUT}


async def test_an_unsubscribe_link_keeps_the_other_topics_opted_out_meanwhile(store):
    contacts = await _a_contact(store)
    link = contacts.new_link(ACCOUNT, "customers", "news", ["ann@example.com"])
    await contacts.save_link(link, "010001-message")
    assert await _after_the_holder(store, _opt_out_of_offers, contacts.unsubscribe(link.token))
    contact, _ = await contacts.get_contact(ACCOUNT, "customers", "ann@example.com")
    assert contact["topic_preferences"] == {"news": OPT_OUT, "offers": OPT_OUT}


async def test_a_tag_added_meanwhile_is_kept(store):
    await ConfigurationSetService(store).create(ACCOUNT, "marketing", {}, [{"Key": "team", "Value": "growth"}])

    def first(conn: Connection) -> None:  # TagResource on another node
        current = tags_repo.lock_tags(conn, "configuration-set", ACCOUNT, "marketing")
        assert current is not None
        tags_repo.set_tags(conn, "configuration-set", ACCOUNT, "marketing", merged(current, [
            {"Key": "cost-centre", "Value": "42"}]))

    resource = Resource("configuration-set", ACCOUNT, "marketing")
    await _after_the_holder(store, first, TagService(store).change(
        resource, lambda current: merged(current, [{"Key": "stage", "Value": "prod"}])))
    assert {t["Key"] for t in await TagService(store).list(resource)} == {"team", "cost-centre", "stage"}


async def test_tagging_an_identity_keeps_an_attribute_the_verifier_wrote_meanwhile(store):
    store.write_sync(lambda c: identities_repo.insert_identity(c, new_row(ACCOUNT, "example.com", PENDING, 0.0)))

    def first(conn: Connection) -> None:  # the DNS verifier's update of the identity
        row = identities_repo.lock_identity(conn, ACCOUNT, "example.com")
        assert row is not None
        identities_repo.update_identity(conn, ACCOUNT, "example.com",
                                        attributes=dict(row["attributes"], check={"last_checked": 1.0}))

    await _after_the_holder(store, first, TagService(store).change(
        Resource("identity", ACCOUNT, "example.com"), lambda current: merged(current, [{"Key": "a", "Value": "b"}])))
    stored = store.read_sync(lambda c: identities_repo.get_identity(c, ACCOUNT, "example.com"))
    assert stored is not None
    assert (stored["attributes"]["check"], stored["attributes"]["tags"]) == ({"last_checked": 1.0},
                                                                           [{"Key": "a", "Value": "b"}])


@pytest.mark.parametrize("existing", [True, False], ids=["existing-row", "first-change"])
async def test_a_feedback_setting_changed_meanwhile_is_kept(store, existing):
    if existing:
        store.write_sync(lambda c: feedback_repo.put_settings(c, ACCOUNT, "", {"SuppressedReasons": ["COMPLAINT"]},
                                                              0.0))

    def first(conn: Connection) -> None:  # the operator's `openses feedback default-configuration-set`
        suppression.merge_settings(conn, ACCOUNT, "", {"DefaultConfigurationSetName": "marketing"}, 1.0)

    await _after_the_holder(store, first, suppression.SuppressionService(store).set_reasons(ACCOUNT, ["BOUNCE"]))
    assert store.read_sync(lambda c: feedback_repo.get_settings(c, ACCOUNT)) == {
        "DefaultConfigurationSetName": "marketing", "SuppressedReasons": ["BOUNCE"]}


async def test_a_topic_attribute_set_meanwhile_is_kept(store):
    arn = store.write_sync(lambda c: topics.create_topic(c, "us-east-1", ACCOUNT, "events"))

    def first(conn: Connection) -> None:  # SetTopicAttributes DisplayName on another node
        row = sns_repo.lock_topic_attributes(conn, arn, 1.0)
        sns_repo.put_topic_attributes(conn, arn, dict(row["attributes"], DisplayName="Events"), row["tags"], 1.0)

    await _after_the_holder(store, first, store.write(
        lambda c: topic_attributes.change_tags(c, arn, {"team": "growth"}, [])))
    row = store.read_sync(lambda c: sns_repo.get_topic_attributes(c, arn))
    assert row is not None and (row["attributes"]["DisplayName"], row["tags"]) == ("Events", {"team": "growth"})


async def test_granting_production_answers_a_request_made_meanwhile(store):
    accounts = AccountService(store, SecretBox(os.urandom(32)), "us-east-1")
    account = accounts.create_account("acme")
    request: dict[str, Any] = {"MailType": "TRANSACTIONAL", "ReviewDetails": {"Status": "PENDING", "CaseId": "c1"}}

    def first(conn: Connection) -> None:  # PutAccountDetails on a server
        assert repositories.lock_account(conn, account.id) is not None
        repositories.update_account(conn, account.id, details=request)

    granted = await _after_the_holder(store, first, asyncio.to_thread(accounts.set_production, account.id))
    assert granted.production and (granted.max_24h_send, granted.max_send_rate) != SANDBOX_QUOTA
    assert granted.details == dict(request, ReviewDetails={"Status": "GRANTED", "CaseId": "c1"})
    stored = accounts.find(account.id)
    assert stored is not None and stored.details == granted.details
