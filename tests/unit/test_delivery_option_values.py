"""A configuration set's DeliveryOptions as the send path freezes them into queue entries, and
what the relay transport does with TlsPolicy REQUIRE when the relay is configured without TLS."""

from __future__ import annotations

from openses.core.configuration_sets import ConfigSet
from openses.core.screening import SendFeedback
from openses.core.sending import delivery_options
from openses.delivery.outcome import Verdict
from openses.delivery.parcel import Parcel
from openses.delivery.pool import SessionPool
from openses.delivery.relay import RelayTransport


def feedback(options: dict) -> SendFeedback:
    return SendFeedback(ConfigSet(name="set", options=options), {}, ())


def test_without_a_configuration_set_the_servers_defaults_apply():
    assert delivery_options(None, 100.0) == {"deliver_by": None, "require_tls": None}
    assert delivery_options(feedback({}), 100.0) == {"deliver_by": None, "require_tls": None}


def test_max_delivery_seconds_and_tls_policy_are_frozen_at_send_time():
    opts = feedback({"DeliveryOptions": {"TlsPolicy": "REQUIRE", "MaxDeliverySeconds": 300}})
    assert delivery_options(opts, 100.0) == {"deliver_by": 400.0, "require_tls": True}
    optional = feedback({"DeliveryOptions": {"TlsPolicy": "OPTIONAL"}})
    assert delivery_options(optional, 100.0)["require_tls"] is None


async def test_relay_without_tls_refuses_a_message_that_requires_tls():
    relay = RelayTransport(SessionPool(helo_name="t", timeout=1), host="127.0.0.1", port=9, tls="none",
                           username=None, password=None, verify_certificate=False, reporting_mta="t")
    parcel = Parcel(1, "m", "a", "example.org", "b@x", ("r@example.org",), b"x", require_tls=True)
    outcome = await relay.deliver(parcel)
    [(address, reply)] = outcome.by_verdict(parcel.recipients)[Verdict.TEMPORARY]
    assert reply.startswith("451 4.7.10") and "requires TLS" in reply
    await relay.close()
