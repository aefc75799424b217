"""Real servers (`python -m openses serve`, mode mx) sharing one database, delivering to a real
Postfix through MX records on a loopback DNS server: a worker killed with SIGKILL while it holds
leases loses nothing (another finishes after the leases expire), and two live workers never
deliver one message twice."""

from __future__ import annotations

import email
import socket
import time
from collections.abc import Iterator

import pytest

from openses.store import delivery_repo as drepo
from openses.store import repositories as repo
from openses.store.store import Store
from tests.support import postfix as pf
from tests.support.dns_server import DnsServer
from tests.support.mail_dns import ZONES, point_mx
from tests.support.polling import wait_until

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(not pf.available(), reason="needs Debian's postfix (apt-get install postfix)")]
SIMPLE = {"Simple": {"Subject": {"Data": "crash test"}, "Body": {"Text": {"Data": "hello"}}}}


@pytest.fixture
def zone() -> Iterator[DnsServer]:
    server = DnsServer()
    server.start(ZONES)
    yield server
    server.stop()


@pytest.fixture
def mta() -> Iterator[pf.PostfixServer]:
    server = pf.PostfixServer(domains=["example.org"]).start()
    yield server
    server.stop()


@pytest.fixture
def tarpit(mta: pf.PostfixServer) -> Iterator[str]:
    """An SMTP port that accepts connections and never says a word (on 127.0.0.2, Postfix's port)."""
    sock = socket.socket()
    sock.bind(("127.0.0.2", mta.port))
    sock.listen(128)
    yield "127.0.0.2"
    sock.close()


def mx_env(zone: DnsServer, mta: pf.PostfixServer, **extra: str) -> dict[str, str]:
    return {"OPENSES_DELIVERY_MODE": "mx", "OPENSES_DNS_NAMESERVERS": zone.address,
            "OPENSES_MX_PORT": str(mta.port), "OPENSES_DELIVERY_TIMEOUT": "60", **extra}


def message_ids(mta: pf.PostfixServer) -> list[str]:
    return [email.message_from_bytes(m)["Message-ID"] for m in mta.all_messages()]


def test_messages_leased_by_a_killed_worker_are_delivered_by_another_exactly_once(
        server_factory, database_url, zone, mta, tarpit):
    point_mx(zone, address=tarpit)
    first = server_factory(**mx_env(zone, mta, OPENSES_LEASE_SECONDS="3")).start()
    ses = first.client("sesv2", first.new_account("acme"))
    sent = [ses.send_email(FromEmailAddress="news@example.com", Destination={"ToAddresses": [f"r{i}@example.org"]},
                           Content=SIMPLE)["MessageId"] for i in range(5)]
    store = Store.open(database_url)
    try:
        wait_until(lambda: len(store.read_sync(drepo.leased_entries)) == 5, what="5 leased entries")
        first.kill()  # SIGKILL mid-delivery: its connections hang on the tarpit, its leases stay
        point_mx(zone, address="127.0.0.1")
        second = server_factory(**mx_env(zone, mta, OPENSES_LEASE_SECONDS="3")).start()
        wait_until(lambda: len(mta.all_messages()) >= 5, what="5 messages in Postfix")
        wait_until(lambda: store.read_sync(repo.queue_depth) == 0, what="an empty queue")
        time.sleep(0.5)  # a duplicate would be in flight now; see that none arrives
        ids = message_ids(mta)
        assert len(ids) == 5 and len(set(ids)) == 5
        assert {i.strip("<>").split("@")[0] for i in ids} == set(sent)
        for mid in sent:
            events = [e["event_type"] for e in store.read_sync(lambda c, m=mid: repo.message_events(c, m))]
            assert events.count("Delivery") == 1
        second.stop()
    finally:
        store.close()


def test_two_live_workers_deliver_each_message_once(server_factory, database_url, zone, mta):
    point_mx(zone)
    one = server_factory(**mx_env(zone, mta)).start()
    two = server_factory(**mx_env(zone, mta)).start()
    ses = one.client("sesv2", one.new_account("acme"))
    one.cli("admin", "account", "set-quota", "acme", "--max-24h-send", "-1", "--max-send-rate", "-1")
    count = 30
    for i in range(count):
        ses.send_email(FromEmailAddress="news@example.com", Destination={"ToAddresses": [f"p{i}@example.org"]},
                       Content=SIMPLE)
    wait_until(lambda: len(mta.all_messages()) >= count, what=f"{count} messages in Postfix")
    store = Store.open(database_url)
    try:
        wait_until(lambda: store.read_sync(repo.queue_depth) == 0, what="an empty queue")
    finally:
        store.close()
    time.sleep(0.5)
    ids = message_ids(mta)
    assert len(ids) == count and len(set(ids)) == count
    assert two.process is not None and one.process is not None
