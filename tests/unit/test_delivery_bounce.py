"""Classifying SMTP replies into SES verdicts, bounce types and delay types."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from openses.delivery.bounce import classify, diagnostic_code, exhausted, outcome_of, parse_reply
from openses.delivery.outcome import Verdict


def test_enhanced_status_code_is_read_from_the_reply():
    assert parse_reply("550 5.1.1 <x@example.org>: user unknown").status == "5.1.1"
    assert parse_reply("250 2.0.0 Ok: queued as 1234").status == "2.0.0"


def test_reply_without_enhanced_code_gets_one_from_its_class():
    assert parse_reply("554 Transaction failed").status == "5.0.0"
    assert parse_reply("451 try later").status == "4.0.0"


def test_enhanced_code_of_another_class_than_the_reply_is_ignored():
    assert parse_reply("550 4.1.1 odd").status == "5.0.0"


def test_unparsable_reply_is_a_temporary_local_failure():
    assert classify("garbage").verdict is Verdict.TEMPORARY


def test_unknown_user_is_a_permanent_no_email_bounce():
    c = classify("550 5.1.1 <unknown@example.org>: Recipient address rejected: User unknown")
    assert (c.verdict, c.bounce_type, c.bounce_sub_type) == (Verdict.PERMANENT, "Permanent", "NoEmail")


def test_unknown_user_without_enhanced_code_is_recognised_by_its_text():
    assert classify("550 No such user here").bounce_sub_type == "NoEmail"


def test_other_permanent_refusals_are_general_bounces():
    c = classify("554 5.7.9 Message not accepted for policy reasons")
    assert (c.bounce_type, c.bounce_sub_type) == ("Permanent", "General")
    assert classify("550 5.1.2 Domain x.invalid does not exist").bounce_sub_type == "General"


def test_mailbox_full_and_too_large_are_transient_bounces():
    assert (classify("552 5.2.2 Mailbox full").bounce_type, classify("552 5.2.2 Mailbox full").bounce_sub_type) \
        == ("Transient", "MailboxFull")
    assert classify("552 5.3.4 Message too big").bounce_sub_type == "MessageTooLarge"


def test_spam_refusal_is_content_rejected():
    c = classify("550 5.7.1 Message rejected as spam")
    assert (c.bounce_type, c.bounce_sub_type) == ("Transient", "ContentRejected")


def test_temporary_replies_carry_a_delay_type():
    assert classify("450 4.2.2 Mailbox full, try later").delay_type == "MailboxFull"
    assert classify("421 4.4.1 Unable to connect to mx").delay_type == "TransientCommunicationFailure"
    assert classify("450 4.7.1 Try again later").delay_type == "RecipientServerError"
    assert classify("451 4.7.1 Greylisted: spam check").delay_type == "SpamDetected"


def test_exhausted_retries_bounce_as_transient():
    assert (exhausted("RecipientServerError").bounce_type, exhausted(None).bounce_sub_type) == ("Transient", "General")
    assert exhausted("MailboxFull").bounce_sub_type == "MailboxFull"


def test_diagnostic_code_has_the_dsn_type_prefix():
    assert diagnostic_code("550 5.1.1 user unknown\r\n") == "smtp; 550 5.1.1 user unknown"


def test_outcome_of_mixed_replies_keeps_each_recipients_verdict():
    o = outcome_of({"a@x.org": "250 2.0.0 ok", "b@x.org": "550 5.1.1 unknown"}, reporting_mta="me",
                   remote_mta="mx.x.org")
    groups = o.by_verdict(["a@x.org", "b@x.org"])
    assert groups[Verdict.DELIVERED] == [("a@x.org", "250 2.0.0 ok")]
    assert groups[Verdict.PERMANENT] == [("b@x.org", "550 5.1.1 unknown")]


@given(st.text())
def test_any_reply_text_classifies_without_error(text):
    c = classify(text)
    code = parse_reply(text)
    assert c.status[0] == str(code.klass)
    assert c.verdict is {2: Verdict.DELIVERED, 4: Verdict.TEMPORARY, 5: Verdict.PERMANENT, 3: Verdict.TEMPORARY}[code.klass]
