"""The feedback loop's pure rules: simulator, send screening, reputation thresholds, retries,
signatures, suppression from events, counting, and the processor's patience with id gaps."""

from __future__ import annotations

import hashlib
import hmac

from hypothesis import given
from hypothesis import strategies as st

from openses.core import reputation, simulator
from openses.core.configuration_sets import ConfigSet
from openses.core.event_dispatch import _contiguous, counts_of
from openses.core.events import MailInfo, send_event
from openses.core.outbox import RetryPolicy, sign
from openses.core.screening import SendFeedback, counted, screen
from openses.core.suppression import feedback_entries

MAIL = MailInfo("m1", "111122223333", 1000.0, "a@example.com", "arn", ("x@example.org",), "a@example.com",
                ("x@example.org",), "s", {})


def test_simulator_local_parts_and_labels_decide_the_outcome():
    assert simulator.simulate("bounce+abc@simulator.amazonses.com").bounce_sub_type == "General"
    assert simulator.simulate("SuppressionList@simulator.amazonses.com").bounce_sub_type == "OnAccountSuppressionList"
    assert simulator.simulate("complaint@simulator.amazonses.com").complaint
    assert simulator.simulate("ooto@simulator.amazonses.com").delivered
    assert simulator.is_simulator("x@SIMULATOR.amazonses.com") and not simulator.is_simulator("x@example.com")


def test_screen_keeps_suppressed_and_simulator_recipients_out_of_the_queue():
    feedback = SendFeedback(None, {"gone@example.org": "BOUNCE", "angry@example.org": "COMPLAINT"}, ("BOUNCE",))
    recipients = ("ok@example.org", "Gone@example.org", "angry@example.org", "success@simulator.amazonses.com")
    out = screen(feedback, send_event(MAIL)["payload"]["mail"], 1000.0, recipients)
    assert out.deliver == ("ok@example.org", "angry@example.org")
    assert [e["event_type"] for e in out.events] == ["Delivery", "Bounce"]
    assert out.events[1]["payload"]["bounce"]["bounceSubType"] == "OnAccountSuppressionList"
    assert counted(recipients) == 3


def test_a_configuration_set_override_is_read_from_its_options():
    assert ConfigSet("c", {}).suppressed_reasons is None
    assert ConfigSet("c", {"SuppressionOptions": {"SuppressedReasons": []}}).suppressed_reasons == ()
    assert not ConfigSet("c", {"SendingOptions": {"SendingEnabled": False}}).sending_enabled


def test_reputation_uses_ses_thresholds_above_the_minimum_volume():
    policy = reputation.Policy(min_volume=100)
    assert reputation.judge(reputation.Rates(99, 0.5, 0.5), policy) == "HEALTHY"
    assert reputation.judge(reputation.Rates(1000, 0.049, 0.0009), policy) == "HEALTHY"
    assert reputation.judge(reputation.Rates(1000, 0.05, 0.0), policy) == "PROBATION"
    assert reputation.judge(reputation.Rates(1000, 0.0, 0.001), policy) == "PROBATION"
    assert reputation.judge(reputation.Rates(1000, 0.10, 0.0), policy) == "SHUTDOWN"
    assert reputation.judge(reputation.Rates(1000, 0.0, 0.005), policy) == "SHUTDOWN"


def test_retries_back_off_up_to_a_ceiling_and_stop_after_the_maximum_age():
    policy = RetryPolicy(first=5, ceiling=60, max_age=3600)
    assert policy.next_attempt(1, 0, 10, 0.5) == 15
    assert policy.next_attempt(2, 0, 10, 0.5) == 20
    assert policy.next_attempt(10, 0, 10, 0.5) == 70
    assert policy.next_attempt(1, 0, 3600, 0.5) is None


@given(st.binary(max_size=200), st.integers(min_value=0, max_value=2**40))
def test_the_signature_is_hmac_sha256_of_timestamp_dot_body(body, ts):
    expected = hmac.new(b"k", f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    assert sign("k", ts, body) == "v1=" + expected


def _event(kind: str, detail: dict, account: str = "111122223333") -> dict:
    key = kind[0].lower() + kind[1:]
    return {"id": 1, "account_id": account, "message_id": "m1", "event_type": kind, "recipients": 1,
            "created_at": 1000.0, "payload": {"eventType": kind, "mail": {"destination": []}, key: detail}}


def test_hard_bounces_and_complaints_suppress_but_simulator_and_suppression_bounces_do_not():
    hard = _event("Bounce", {"bounceType": "Permanent", "bounceSubType": "General", "feedbackId": "f",
                             "bouncedRecipients": [{"emailAddress": "x@example.org"},
                                                   {"emailAddress": "bounce@simulator.amazonses.com"}]})
    assert [e["email_key"] for e in feedback_entries(hard, ("BOUNCE",), 5.0)] == ["x@example.org"]
    assert feedback_entries(hard, ("COMPLAINT",), 5.0) == []
    soft = _event("Bounce", {"bounceType": "Transient", "bouncedRecipients": [{"emailAddress": "x@example.org"}]})
    assert feedback_entries(soft, ("BOUNCE",), 5.0) == []
    complaint = _event("Complaint", {"complainedRecipients": [{"emailAddress": "y@example.org"}]})
    assert feedback_entries(complaint, ("COMPLAINT",), 5.0)[0]["reason"] == "COMPLAINT"


def test_counts_leave_out_the_simulator_and_mark_hard_bounces():
    send = _event("Send", {})
    send["payload"]["mail"]["destination"] = ["a@example.org", "success@simulator.amazonses.com"]
    assert counts_of(send) == {"Send": 1}
    hard = _event("Bounce", {"bounceType": "Permanent", "bounceSubType": "General",
                             "bouncedRecipients": [{"emailAddress": "x@example.org"}]})
    assert counts_of(hard) == {"Bounce": 1, "HardBounce": 1}
    listed = _event("Bounce", {"bounceType": "Permanent", "bounceSubType": "OnAccountSuppressionList",
                               "bouncedRecipients": [{"emailAddress": "x@example.org"}]})
    assert counts_of(listed) == {"Bounce": 1}


def test_the_processor_waits_at_a_young_gap_in_event_ids_and_skips_an_old_one():
    rows = [{"id": 1}, {"id": 3}]
    gaps: dict[int, float] = {}
    assert _contiguous(rows, 0, 100.0, gaps) == [{"id": 1}]
    assert _contiguous(rows, 0, 110.0, gaps) == [{"id": 1}]
    assert _contiguous(rows, 0, 200.0, gaps) == rows
