"""Templated and bulk sends through boto3 against a real server: what is delivered, what is not,
per-destination results and Rendering Failure events."""

from __future__ import annotations

import email
import json
from email import policy
from typing import Any

import pytest
import sqlalchemy as sa

GREETING = {"TemplateName": "Greeting", "SubjectPart": "Greetings, {{name}}!",
            "TextPart": "Dear {{name}}, your favorite animal is {{favoriteanimal}}.",
            "HtmlPart": "<h1>Hello {{name}},</h1><p>Your favorite animal is {{favoriteanimal}}.</p>"}


def captured(server, message_id: str) -> email.message.EmailMessage:
    raw = server.cli("messages", "raw", message_id).stdout.encode()
    return email.message_from_bytes(raw, policy=policy.default)


def events(server, message_id: str) -> list[dict[str, Any]]:
    engine = sa.create_engine(server.database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT event_type, payload FROM events WHERE message_id = :m ORDER BY id"),
                                {"m": message_id}).all()
    finally:
        engine.dispose()
    return [{"type": r[0], "payload": json.loads(r[1]) if isinstance(r[1], str) else r[1]} for r in rows]


def message_ids(server) -> set[str]:
    return {m["MessageId"] for m in server.cli_json("messages", "list", "--limit", "500")}


def test_v1_send_templated_email_delivers_the_rendered_message(server):
    ses = server.client("ses", server.new_account("acme"))
    ses.create_template(Template=GREETING)
    mid = ses.send_templated_email(
        Source="Acme <noreply@example.com>", Destination={"ToAddresses": ["alejandro@example.org"]},
        Template="Greeting", TemplateData=json.dumps({"name": "Alejandro", "favoriteanimal": "alligator"}),
        Tags=[{"Name": "campaign", "Value": "welcome"}])["MessageId"]
    msg = captured(server, mid)
    assert msg["Subject"] == "Greetings, Alejandro!"
    assert msg.get_body(("plain",)).get_content().strip() == "Dear Alejandro, your favorite animal is alligator."
    assert "<h1>Hello Alejandro,</h1>" in msg.get_body(("html",)).get_content()
    send = events(server, mid)[0]["payload"]
    assert send["mail"]["tags"]["ses:operation"] == ["SendTemplatedEmail"]
    assert send["mail"]["tags"]["campaign"] == ["welcome"]


def test_v1_send_with_missing_data_is_accepted_but_not_delivered_and_raises_rendering_failure(server):
    ses = server.client("ses", server.new_account("acme"))
    ses.create_template(Template=GREETING)
    mid = ses.send_templated_email(Source="noreply@example.com", Destination={"ToAddresses": ["a@example.org"]},
                                   Template="Greeting", TemplateData=json.dumps({"name": "Alejandro"}))["MessageId"]
    assert mid not in message_ids(server)
    [event] = events(server, mid)
    assert event["type"] == "RenderingFailure"
    payload = event["payload"]
    assert payload["eventType"] == "Rendering Failure"
    assert payload["failure"] == {"templateName": "Greeting",
                                  "errorMessage": "Attribute 'favoriteanimal' is not present in the rendering data."}
    assert payload["mail"]["messageId"] == mid and payload["mail"]["destination"] == ["a@example.org"]


def test_a_send_that_cannot_render_is_still_refused_for_an_unverified_sender(server):
    ses = server.client("ses", server.new_account("acme"))
    ses.create_template(Template=GREETING)
    with pytest.raises(ses.exceptions.MessageRejected):
        ses.send_templated_email(Source="someone@unverified.test", Destination={"ToAddresses": ["a@example.org"]},
                                 Template="Greeting", TemplateData=json.dumps({"name": "only"}))


def test_v1_send_with_an_unknown_template_or_unverified_sender_is_refused(server):
    ses = server.client("ses", server.new_account("acme"))
    with pytest.raises(ses.exceptions.TemplateDoesNotExistException):
        ses.send_templated_email(Source="noreply@example.com", Destination={"ToAddresses": ["a@example.org"]},
                                 Template="Nope", TemplateData="{}")
    ses.create_template(Template=GREETING)
    with pytest.raises(ses.exceptions.MessageRejected):
        ses.send_templated_email(Source="someone@unverified.test", Destination={"ToAddresses": ["a@example.org"]},
                                 Template="Greeting", TemplateData=json.dumps({"name": "x", "favoriteanimal": "y"}))


def test_v2_send_email_with_a_stored_template_by_name_and_by_arn(server):
    creds = server.new_account("acme")
    v2 = server.client("sesv2", creds)
    v2.create_email_template(TemplateName="Welcome", TemplateContent={"Subject": "Hi {{name}}",
                                                                       "Text": "Welcome, {{name}}."})
    data = json.dumps({"name": "Zoë"})
    by_name = v2.send_email(FromEmailAddress="noreply@example.com", Destination={"ToAddresses": ["z@example.org"]},
                            Content={"Template": {"TemplateName": "Welcome", "TemplateData": data}})["MessageId"]
    arn = f"arn:aws:ses:us-east-1:{creds.account_id}:template/Welcome"
    by_arn = v2.send_email(FromEmailAddress="noreply@example.com", Destination={"ToAddresses": ["z@example.org"]},
                           Content={"Template": {"TemplateArn": arn, "TemplateData": data}})["MessageId"]
    for mid in (by_name, by_arn):
        msg = captured(server, mid)
        assert msg["Subject"] == "Hi Zoë"
        assert msg.get_body(("plain",)).get_content().strip() == "Welcome, Zoë."
    with pytest.raises(v2.exceptions.NotFoundException):
        v2.send_email(FromEmailAddress="noreply@example.com", Destination={"ToAddresses": ["z@example.org"]},
                      Content={"Template": {"TemplateName": "Nope", "TemplateData": data}})


def test_v2_send_email_with_an_inline_template_headers_and_attachment(server):
    v2 = server.client("sesv2", server.new_account("acme"))
    mid = v2.send_email(
        FromEmailAddress="noreply@example.com", Destination={"ToAddresses": ["z@example.org"]},
        Content={"Template": {
            "TemplateContent": {"Subject": "Order {{order.id}}", "Html": "{{#each order.items}}<p>{{this}}</p>{{/each}}"},
            "TemplateData": json.dumps({"order": {"id": 42, "items": ["tea", "cake"]}}),
            "Headers": [{"Name": "X-Order", "Value": "42"}],
            "Attachments": [{"RawContent": b"receipt", "FileName": "receipt.txt", "ContentType": "text/plain"}]}},
    )["MessageId"]
    msg = captured(server, mid)
    assert msg["Subject"] == "Order 42" and msg["X-Order"] == "42"
    assert "<p>tea</p><p>cake</p>" in msg.get_body(("html",)).get_content()
    assert [a.get_filename() for a in msg.iter_attachments()] == ["receipt.txt"]


def test_v1_bulk_send_reports_each_destination_and_merges_default_data(server):
    creds = server.new_account("acme", production=False, verify=("example.com", "ok@example.org"))
    server.cli("admin", "account", "set-quota", "acme", "--max-24h-send", "-1", "--max-send-rate", "-1")
    ses = server.client("ses", creds)
    ses.create_template(Template=GREETING)
    out = ses.send_bulk_templated_email(
        Source="noreply@example.com", Template="Greeting",
        DefaultTemplateData=json.dumps({"name": "friend", "favoriteanimal": "cat"}),
        DefaultTags=[{"Name": "batch", "Value": "b1"}],
        Destinations=[
            {"Destination": {"ToAddresses": ["ok@example.org"]},
             "ReplacementTemplateData": json.dumps({"name": "Ann"}),
             "ReplacementTags": [{"Name": "batch", "Value": "b2"}]},
            {"Destination": {"ToAddresses": ["stranger@elsewhere.test"]}},  # sandbox: not verified
            {"Destination": {"ToAddresses": ["ok@example.org"]}},
        ])["Status"]
    assert [s["Status"] for s in out] == ["Success", "MessageRejected", "Success"]
    assert "not verified" in out[1]["Error"] and "MessageId" not in out[1]
    first = captured(server, out[0]["MessageId"])
    assert first["Subject"] == "Greetings, Ann!" and "cat" in first.get_body(("plain",)).get_content()
    assert captured(server, out[2]["MessageId"])["Subject"] == "Greetings, friend!"
    tags = events(server, out[0]["MessageId"])[0]["payload"]["mail"]["tags"]
    assert tags["batch"] == ["b2"] and tags["ses:operation"] == ["SendBulkTemplatedEmail"]


def test_v1_bulk_send_entry_that_cannot_render_succeeds_with_a_rendering_failure(server):
    ses = server.client("ses", server.new_account("acme"))
    ses.create_template(Template=GREETING)
    out = ses.send_bulk_templated_email(
        Source="noreply@example.com", Template="Greeting", DefaultTemplateData=json.dumps({"name": "x"}),
        Destinations=[{"Destination": {"ToAddresses": ["a@example.org"]},
                       "ReplacementTemplateData": json.dumps({"favoriteanimal": "owl"})},
                      {"Destination": {"ToAddresses": ["b@example.org"]}}])["Status"]
    assert [s["Status"] for s in out] == ["Success", "Success"]
    assert out[0]["MessageId"] in message_ids(server)
    assert out[1]["MessageId"] not in message_ids(server)
    assert [e["type"] for e in events(server, out[1]["MessageId"])] == ["RenderingFailure"]


def test_v2_bulk_send_with_replacement_data_headers_and_a_bad_address(server):
    v2 = server.client("sesv2", server.new_account("acme"))
    v2.create_email_template(TemplateName="Note", TemplateContent={"Subject": "Note for {{name}}", "Text": "{{msg}}"})
    out = v2.send_bulk_email(
        FromEmailAddress="noreply@example.com",
        DefaultContent={"Template": {"TemplateName": "Note", "TemplateData": json.dumps({"msg": "hello"}),
                                     "Headers": [{"Name": "X-Batch", "Value": "default"}]}},
        BulkEmailEntries=[
            {"Destination": {"ToAddresses": ["one@example.org"]},
             "ReplacementEmailContent": {"ReplacementTemplate": {"ReplacementTemplateData": json.dumps({"name": "One"})}},
             "ReplacementHeaders": [{"Name": "X-Batch", "Value": "one"}]},
            {"Destination": {"ToAddresses": ["not-an-address"]},
             "ReplacementEmailContent": {"ReplacementTemplate": {"ReplacementTemplateData": json.dumps({"name": "x"})}}},
        ])["BulkEmailEntryResults"]
    assert [r["Status"] for r in out] == ["SUCCESS", "INVALID_PARAMETER"]
    msg = captured(server, out[0]["MessageId"])
    assert msg["Subject"] == "Note for One" and msg["X-Batch"] == "one"
    assert msg.get_body(("plain",)).get_content().strip() == "hello"


def test_bulk_send_refuses_more_than_fifty_destinations(server):
    ses = server.client("ses", server.new_account("acme"))
    ses.create_template(Template=GREETING)
    with pytest.raises(ses.exceptions.ClientError) as err:
        ses.send_bulk_templated_email(Source="noreply@example.com", Template="Greeting", DefaultTemplateData="{}",
                                      Destinations=[{"Destination": {"ToAddresses": [f"r{i}@example.org"]}}
                                                    for i in range(51)])
    assert err.value.response["Error"]["Code"] == "InvalidParameterValue"
