"""Contact lists, contacts and one-click unsubscribe (RFC 8058), end to end against a real server."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid

import pytest

from tests.e2e.test_templates_sending import captured, events, message_ids

TOPICS = [{"TopicName": "news", "DisplayName": "News", "DefaultSubscriptionStatus": "OPT_IN"},
          {"TopicName": "offers", "DisplayName": "Offers", "Description": "Deals",
           "DefaultSubscriptionStatus": "OPT_OUT"}]


def test_contact_list_round_trip_and_the_one_list_limit(server):
    v2 = server.client("sesv2", server.new_account("acme"))
    v2.create_contact_list(ContactListName="customers", Topics=TOPICS, Description="All customers",
                           Tags=[{"Key": "team", "Value": "growth"}])
    got = v2.get_contact_list(ContactListName="customers")
    assert got["Topics"] == TOPICS and got["Description"] == "All customers"
    assert got["Tags"] == [{"Key": "team", "Value": "growth"}] and got["CreatedTimestamp"]
    with pytest.raises(v2.exceptions.AlreadyExistsException):
        v2.create_contact_list(ContactListName="customers")
    with pytest.raises(v2.exceptions.LimitExceededException):
        v2.create_contact_list(ContactListName="second")
    v2.update_contact_list(ContactListName="customers", Topics=TOPICS[:1], Description="Changed")
    assert v2.get_contact_list(ContactListName="customers")["Topics"] == TOPICS[:1]
    assert [c["ContactListName"] for c in v2.list_contact_lists()["ContactLists"]] == ["customers"]
    v2.delete_contact_list(ContactListName="customers")
    with pytest.raises(v2.exceptions.NotFoundException):
        v2.get_contact_list(ContactListName="customers")


def test_contacts_round_trip_with_topic_preferences_and_defaults(server):
    v2 = server.client("sesv2", server.new_account("acme"))
    v2.create_contact_list(ContactListName="customers", Topics=TOPICS)
    v2.create_contact(ContactListName="customers", EmailAddress="ann@example.org",
                      TopicPreferences=[{"TopicName": "offers", "SubscriptionStatus": "OPT_IN"}],
                      AttributesData=json.dumps({"plan": "pro"}))
    got = v2.get_contact(ContactListName="customers", EmailAddress="ann@example.org")
    assert got["TopicPreferences"] == [{"TopicName": "offers", "SubscriptionStatus": "OPT_IN"}]
    assert got["TopicDefaultPreferences"] == [{"TopicName": "news", "SubscriptionStatus": "OPT_IN"},
                                              {"TopicName": "offers", "SubscriptionStatus": "OPT_OUT"}]
    assert got["UnsubscribeAll"] is False and json.loads(got["AttributesData"]) == {"plan": "pro"}
    with pytest.raises(v2.exceptions.AlreadyExistsException):
        v2.create_contact(ContactListName="customers", EmailAddress="ann@example.org")
    # Only the preferences given change.
    v2.update_contact(ContactListName="customers", EmailAddress="ann@example.org",
                      TopicPreferences=[{"TopicName": "news", "SubscriptionStatus": "OPT_OUT"}])
    prefs = v2.get_contact(ContactListName="customers", EmailAddress="ann@example.org")["TopicPreferences"]
    assert sorted((p["TopicName"], p["SubscriptionStatus"]) for p in prefs) == [("news", "OPT_OUT"), ("offers", "OPT_IN")]
    with pytest.raises(v2.exceptions.BadRequestException):
        v2.update_contact(ContactListName="customers", EmailAddress="ann@example.org",
                          TopicPreferences=[{"TopicName": "nope", "SubscriptionStatus": "OPT_OUT"}])
    v2.delete_contact(ContactListName="customers", EmailAddress="ann@example.org")
    with pytest.raises(v2.exceptions.NotFoundException):
        v2.get_contact(ContactListName="customers", EmailAddress="ann@example.org")
    with pytest.raises(v2.exceptions.NotFoundException):
        v2.create_contact(ContactListName="nolist", EmailAddress="ann@example.org")


def test_list_contacts_filters_by_topic_status_and_pages(server):
    v2 = server.client("sesv2", server.new_account("acme"))
    v2.create_contact_list(ContactListName="customers", Topics=TOPICS)
    v2.create_contact(ContactListName="customers", EmailAddress="in@example.org",
                      TopicPreferences=[{"TopicName": "offers", "SubscriptionStatus": "OPT_IN"}])
    v2.create_contact(ContactListName="customers", EmailAddress="default@example.org")
    v2.create_contact(ContactListName="customers", EmailAddress="gone@example.org", UnsubscribeAll=True)

    def emails(**filter_: object) -> list[str]:
        out = v2.list_contacts(ContactListName="customers", **({"Filter": filter_} if filter_ else {}))
        return sorted(c["EmailAddress"] for c in out["Contacts"])

    assert emails() == ["default@example.org", "gone@example.org", "in@example.org"]
    assert emails(FilteredStatus="OPT_IN", TopicFilter={"TopicName": "offers"}) == ["in@example.org"]
    assert emails(FilteredStatus="OPT_OUT", TopicFilter={"TopicName": "offers",
                                                         "UseDefaultIfPreferenceUnavailable": True}) == \
        ["default@example.org", "gone@example.org"]
    assert emails(FilteredStatus="OPT_OUT") == ["gone@example.org"]
    page = v2.list_contacts(ContactListName="customers", PageSize=2)
    assert len(page["Contacts"]) == 2 and page["NextToken"]
    rest = v2.list_contacts(ContactListName="customers", PageSize=2, NextToken=page["NextToken"])
    assert len(rest["Contacts"]) == 1


# --- list management and one-click unsubscribe --------------------------------------------------


def _send(v2, to: str, topic: str | None = "news") -> str:
    options = {"ContactListName": "customers", **({"TopicName": topic} if topic else {})}
    return v2.send_email(
        FromEmailAddress="news@example.com", Destination={"ToAddresses": [to]}, ListManagementOptions=options,
        Content={"Template": {"TemplateContent": {"Subject": "News for {{name}}",
                                                  "Html": '<a href="{{amazonSESUnsubscribeUrl}}">unsubscribe</a>'},
                              "TemplateData": json.dumps({"name": "Ann"})}})["MessageId"]


def _post(url: str, body: bytes, content_type: str) -> int:
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as e:
        return int(e.code)


def _list_mail(server):  # type: ignore[no-untyped-def]
    v2 = server.client("sesv2", server.new_account("acme"))
    v2.create_contact_list(ContactListName="customers", Topics=TOPICS)
    v2.create_contact(ContactListName="customers", EmailAddress="ann@example.org")
    return v2


def test_list_mail_carries_rfc8058_headers_and_the_unsubscribe_url(server):
    v2 = _list_mail(server)
    msg = captured(server, _send(v2, "ann@example.org"))
    url = msg["List-Unsubscribe"].strip("<>")
    assert url.startswith(f"{server.endpoint}/unsubscribe/")
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f'href="{url}"' in msg.get_body(("html",)).get_content()


def test_one_click_post_unsubscribes_from_the_topic_and_raises_a_subscription_event(server):
    v2 = _list_mail(server)
    mid = _send(v2, "ann@example.org")
    url = captured(server, mid)["List-Unsubscribe"].strip("<>")
    # What a mail client does (RFC 8058 §3.1): POST the key/value, no cookies, no auth.
    assert _post(url, b"List-Unsubscribe=One-Click", "application/x-www-form-urlencoded") == 200
    contact = v2.get_contact(ContactListName="customers", EmailAddress="ann@example.org")
    assert contact["TopicPreferences"] == [{"TopicName": "news", "SubscriptionStatus": "OPT_OUT"}]
    assert contact["UnsubscribeAll"] is False
    [event] = [e for e in events(server, mid) if e["type"] == "Subscription"]
    sub = event["payload"]["subscription"]
    assert event["payload"]["eventType"] == "Subscription" and event["payload"]["mail"]["messageId"] == mid
    assert sub["contactList"] == "customers" and sub["source"] == "UnsubscribeHeader"
    assert {"topicName": "news", "subscriptionStatus": "OptOut"} in sub["newTopicPreferences"]["topicSubscriptionStatus"]
    assert {"topicName": "news", "subscriptionStatus": "OptIn"} in sub["oldTopicPreferences"]["topicSubscriptionStatus"]
    # Later mail on that topic is accepted but not delivered; another topic still is.
    skipped = _send(v2, "ann@example.org")
    assert skipped not in message_ids(server)
    v2.update_contact(ContactListName="customers", EmailAddress="ann@example.org",
                      TopicPreferences=[{"TopicName": "offers", "SubscriptionStatus": "OPT_IN"}])
    assert _send(v2, "ann@example.org", topic="offers") in message_ids(server)


def test_one_click_post_as_multipart_without_topic_unsubscribes_from_the_whole_list(server):
    v2 = _list_mail(server)
    url = captured(server, _send(v2, "ann@example.org", topic=None))["List-Unsubscribe"].strip("<>")
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\n"
            f"One-Click\r\n--{boundary}--\r\n").encode()
    assert _post(url, body, f"multipart/form-data; boundary={boundary}") == 200
    assert v2.get_contact(ContactListName="customers", EmailAddress="ann@example.org")["UnsubscribeAll"] is True
    assert _send(v2, "ann@example.org") not in message_ids(server)


def test_unsubscribe_page_get_shows_a_form_and_does_not_unsubscribe(server):
    v2 = _list_mail(server)
    url = captured(server, _send(v2, "ann@example.org"))["List-Unsubscribe"].strip("<>")
    with urllib.request.urlopen(url, timeout=10) as response:
        page = response.read().decode()
    assert 'name="List-Unsubscribe" value="One-Click"' in page and "ann@example.org" in page
    assert v2.get_contact(ContactListName="customers", EmailAddress="ann@example.org")["TopicPreferences"] == []
    assert _post(url, b"something=else", "application/x-www-form-urlencoded") == 400
    assert _post(f"{server.endpoint}/unsubscribe/unknown", b"List-Unsubscribe=One-Click",
                 "application/x-www-form-urlencoded") == 404


def test_a_recipient_not_on_the_list_gets_list_mail_and_can_unsubscribe(server):
    v2 = _list_mail(server)
    mid = _send(v2, "new@example.org")
    assert mid in message_ids(server)
    url = captured(server, mid)["List-Unsubscribe"].strip("<>")
    assert _post(url, b"List-Unsubscribe=One-Click", "application/x-www-form-urlencoded") == 200
    contact = v2.get_contact(ContactListName="customers", EmailAddress="new@example.org")
    assert contact["TopicPreferences"] == [{"TopicName": "news", "SubscriptionStatus": "OPT_OUT"}]


def test_list_management_with_an_unknown_list_is_not_found(server):
    v2 = server.client("sesv2", server.new_account("acme"))
    with pytest.raises(v2.exceptions.NotFoundException):
        _send(v2, "ann@example.org")


def test_simple_content_with_list_management_gets_the_headers_and_honours_unsubscribes(server):
    v2 = _list_mail(server)

    def send() -> str:
        return v2.send_email(
            FromEmailAddress="news@example.com", Destination={"ToAddresses": ["ann@example.org"]},
            ListManagementOptions={"ContactListName": "customers", "TopicName": "news"},
            Content={"Simple": {"Subject": {"Data": "Plain news"}, "Body": {
                "Text": {"Data": "Leave: {{amazonSESUnsubscribeUrl}}"}}}})["MessageId"]

    msg = captured(server, send())
    url = msg["List-Unsubscribe"].strip("<>")
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg.get_content().strip() == f"Leave: {url}"
    assert _post(url, b"List-Unsubscribe=One-Click", "application/x-www-form-urlencoded") == 200
    assert send() not in message_ids(server)
