"""The events processor on SQLite and PostgreSQL: each event is fanned out once, suppression
entries and counters are written in the same pass."""

from __future__ import annotations

import pytest

from openses.core import reputation, topics
from openses.core.event_dispatch import FeedbackProcessor
from openses.core.events import MailInfo, bounce_event, send_event
from openses.store import feedback_repo as frepo
from openses.store import repositories as repo
from openses.store.store import Store

ACCOUNT = "111122223333"


@pytest.fixture
def store(database_url):
    s = Store.open(database_url)
    yield s
    s.close()


def _setup(conn) -> str:
    arn = topics.create_topic(conn, "us-east-1", ACCOUNT, "events")
    sub = topics.subscribe(conn, arn, "webhook", "http://127.0.0.1:9/x", raw=True, public_url="http://h",
                           allow_private=True)
    frepo.insert_configuration_set(conn, {"account_id": ACCOUNT, "name": "cs", "options": {}, "tags": [],
                                          "created_at": 1.0})
    frepo.insert_event_destination(conn, {"account_id": ACCOUNT, "configuration_set": "cs", "name": "d",
                                          "enabled": True, "event_types": ["BOUNCE"],
                                          "destination": {"SnsDestination": {"TopicArn": arn}}, "created_at": 1.0})
    return sub.id


def test_each_event_is_fanned_out_once_and_hard_bounces_are_suppressed(store):
    sub_id = store.write_sync(_setup)
    mail = MailInfo("m1", ACCOUNT, 1000.0, "a@example.com", "arn", ("x@example.org",), "a@example.com",
                    ("x@example.org",), "s", {"ses:configuration-set": ["cs"]})
    send = send_event(mail)
    bounce = bounce_event(send["payload"]["mail"], [{"emailAddress": "x@example.org", "action": "failed",
                                                     "status": "5.1.1", "diagnosticCode": "smtp; 550"}],
                          at=1001.0, bounce_type="Permanent", bounce_sub_type="General", feedback_id="f",
                          reporting_mta="mx")
    store.write_sync(lambda c: repo.insert_events(c, [send, bounce]))
    processor = FeedbackProcessor(public_url="http://h", clock=lambda: 2000.0)
    done = store.write_sync(processor.process)
    assert (done.events, done.outbox, done.suppressed) == (2, 1, 1)
    assert store.write_sync(processor.process).events == 0
    [row] = store.read_sync(lambda c: frepo.list_outbox(c, [sub_id]))
    assert '"bounceSubType":"General"' in row["body"]
    assert store.read_sync(lambda c: frepo.get_suppressed(c, ACCOUNT, "x@example.org"))["reason"] == "BOUNCE"
    counts = store.read_sync(lambda c: frepo.counts_since(c, ACCOUNT, 0))
    assert counts == {"Send": 1, "Bounce": 1, "HardBounce": 1}


def test_configuration_sets_with_reputation_metrics_get_their_own_rates(store):
    store.write_sync(_setup)
    store.write_sync(lambda c: frepo.insert_configuration_set(c, {
        "account_id": ACCOUNT, "name": "tracked", "options": {"ReputationOptions": {"ReputationMetricsEnabled": True}},
        "tags": [], "created_at": 1.0}))

    def sent(message_id: str, config_set: str, to: str) -> dict:
        mail = MailInfo(message_id, ACCOUNT, 1000.0, "a@example.com", "arn", (to,), "a@example.com", (to,), "s",
                        {"ses:configuration-set": [config_set]})
        return send_event(mail)

    events = [sent(f"t{i}", "tracked", f"r{i}@example.org") for i in range(4)] + [sent("c1", "cs", "q@example.org")]
    bounce = bounce_event(events[0]["payload"]["mail"], [{"emailAddress": "r0@example.org", "action": "failed",
                                                         "status": "5.1.1", "diagnosticCode": "smtp; 550"}],
                          at=1001.0, bounce_type="Permanent", bounce_sub_type="General", feedback_id="f",
                          reporting_mta="mx")
    store.write_sync(lambda c: repo.insert_events(c, [*events, bounce]))
    store.write_sync(FeedbackProcessor(public_url="http://h", clock=lambda: 2000.0).process)
    policy = reputation.Policy(min_volume=1, window_seconds=86400.0)
    found = store.read_sync(lambda c: reputation.config_set_reputation(c, 2000.0, policy))
    assert found == [(ACCOUNT, "tracked", reputation.Rates(4, 0.25, 0.0))]  # "cs" has the metrics off
    assert store.read_sync(lambda c: reputation.rates(c, ACCOUNT, 0.0)) == reputation.Rates(5, 0.2, 0.0)
