"""Choosing mail hosts from DNS (RFC 5321 §5.1, RFC 7505), against a fake resolver."""

from __future__ import annotations

import pytest

from openses.delivery.mx import NoRoute, addresses, mail_hosts
from openses.protocol.dns import FakeResolver


async def test_hosts_come_in_preference_order():
    r = FakeResolver({("example.org", "MX"): ["20 b.example.org", "10 a.example.org", "30 c.example.org"]})
    assert await mail_hosts(r, "example.org") == ["a.example.org", "b.example.org", "c.example.org"]


async def test_equal_preferences_are_shuffled():
    r = FakeResolver({("example.org", "MX"): ["10 a.example.org", "10 b.example.org"]})
    assert await mail_hosts(r, "example.org", rand=iter([0.9, 0.1]).__next__) == ["b.example.org", "a.example.org"]


async def test_a_domain_without_mx_is_its_own_mail_host():
    r = FakeResolver({("example.org", "A"): ["127.0.0.1"]})
    assert await mail_hosts(r, "example.org") == ["example.org"]


async def test_null_mx_refuses_mail_permanently():
    r = FakeResolver({("example.org", "MX"): ["0 ."]})
    with pytest.raises(NoRoute, match="^556 5.1.10"):
        await mail_hosts(r, "example.org")


async def test_a_domain_that_does_not_exist_is_a_permanent_failure():
    with pytest.raises(NoRoute, match="^550 5.1.2"):
        await mail_hosts(FakeResolver({("other.org", "A"): ["1.2.3.4"]}), "nowhere.org")


async def test_a_dns_failure_is_temporary():
    r = FakeResolver({("example.org", "MX"): ["10 mx.example.org"]})
    r.failing.add("example.org")
    with pytest.raises(NoRoute, match="^451 4.4.3"):
        await mail_hosts(r, "example.org")


async def test_addresses_are_ipv4_then_ipv6_and_ip_literals_need_no_lookup():
    r = FakeResolver({("mx.example.org", "A"): ["192.0.2.1"], ("mx.example.org", "AAAA"): ["2001:db8::1"]})
    assert await addresses(r, "mx.example.org") == (["192.0.2.1", "2001:db8::1"], None)
    assert await addresses(r, "127.0.0.1") == (["127.0.0.1"], None)
    found, problem = await addresses(r, "gone.example.org")
    assert found == [] and problem.startswith("451 4.4.4")
