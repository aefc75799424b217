"""Open and click tracking end to end: boto3 sends HTML with a configuration set that publishes
OPEN and CLICK events, the captured mail carries the pixel and tracking links, and fetching them
records Open and Click events that reach an SNS HTTP subscriber."""

from __future__ import annotations

import email
import re
import time
import urllib.error
import urllib.request
from email import policy

import pytest

from tests.support.ports import free_port
from tests.support.webhook_receiver import Receiver
from tests.support.polling import wait_until

FAST = {"OPENSES_WEBHOOK_ALLOW_PRIVATE": "1", "OPENSES_EVENT_POLL_INTERVAL": "0.1",
        "OPENSES_WEBHOOK_RETRY_FIRST_SECONDS": "0.2", "OPENSES_WEBHOOK_RETRY_MAX_SECONDS": "0.4"}
TARGET = "https://shop.example/item?id=42&ref=mail"
PAGE = (f'<html><body><p>Spring sale</p><a href="{TARGET.replace("&", "&amp;")}" ses:tags="campaign:spring;'
        'kind:promo">Buy</a> <a ses:no-track href="https://shop.example/legal">Legal</a></body></html>')
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"
GMAIL = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None  # surface the 302 itself


def fetch(url: str, agent: str = BROWSER) -> tuple[int, dict[str, str], bytes]:
    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(url, headers={"User-Agent": agent})
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


@pytest.fixture
def receiver():
    r = Receiver(free_port()).start()
    yield r
    r.stop()


def tracked_account(server, receiver) -> object:
    """An account whose configuration set `tracked` publishes OPEN and CLICK to the receiver."""
    creds = server.new_account("acme")
    arn = server.cli_json("topics", "create", "acme", "engagement")["TopicArn"]
    sub = server.cli_json("topics", "subscribe", arn, receiver.url)
    wait_until(lambda: any(s["SubscriptionArn"] == sub["SubscriptionArn"] and s["Status"] == "Confirmed"
                           for s in server.cli_json("topics", "subscriptions")))
    ses = server.client("sesv2", creds)
    ses.create_configuration_set(ConfigurationSetName="tracked")
    ses.create_configuration_set_event_destination(
        ConfigurationSetName="tracked", EventDestinationName="engagement",
        EventDestination={"Enabled": True, "MatchingEventTypes": ["OPEN", "CLICK"],
                          "SnsDestination": {"TopicArn": arn}})
    return creds


def captured_html(server, message_id: str) -> str:
    """The HTML the recipient got, once the worker has prepared it."""
    def ready() -> str | None:
        raw = server.cli("messages", "raw", message_id).stdout.encode()
        return raw.decode() if b"/track/" in raw else None

    raw = wait_until(ready)
    return email.message_from_string(raw, policy=policy.default).get_body(("html",)).get_content()


def test_opens_and_clicks_reach_an_sns_subscriber_as_ses_events(server_factory, receiver):
    server = server_factory(**FAST).start()
    ses = server.client("sesv2", tracked_account(server, receiver))
    mid = ses.send_email(FromEmailAddress="news@example.com", Destination={"ToAddresses": ["reader@example.org"]},
                         ConfigurationSetName="tracked", Content={"Simple": {
                             "Subject": {"Data": "Sale"}, "Body": {"Html": {"Data": PAGE}, "Text": {"Data": "Sale"}}}})[
        "MessageId"]
    html = captured_html(server, mid)
    pixel = re.search(r'<img alt="" src="([^"]+)"', html).group(1)
    click, legal = re.findall(r'href="([^"]+)"', html)
    assert pixel.startswith(server.endpoint + "/track/open/") and click.startswith(server.endpoint + "/track/click/")
    assert legal == "https://shop.example/legal" and "ses:tags" not in html

    status, headers, body = fetch(pixel)
    assert (status, headers["content-type"], body[:6]) == (200, "image/gif", b"GIF89a")
    assert "no-cache" in headers["cache-control"]
    assert fetch(pixel, GMAIL)[0] == 200
    status, headers, _ = fetch(click.replace("&amp;", "&"))
    assert (status, headers["location"]) == (302, TARGET)

    items = receiver.wait_for(lambda xs: len(xs) >= 3)
    events = sorted((i.event for i in items), key=lambda e: (e["eventType"], "machineOpen" in e.get("open", {})))
    click_event, human, machine = events
    assert click_event["eventType"] == "Click" and click_event["mail"]["messageId"] == mid
    assert click_event["click"]["link"] == TARGET
    assert click_event["click"]["linkTags"] == {"campaign": ["spring"], "kind": ["promo"]}
    assert click_event["click"]["ipAddress"] == "127.0.0.1" and click_event["click"]["userAgent"] == BROWSER
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", click_event["click"]["timestamp"])
    assert human["eventType"] == "Open" and human["open"]["userAgent"] == BROWSER and "machineOpen" not in human["open"]
    assert machine["open"]["machineOpen"] is True and machine["open"]["userAgent"] == GMAIL
    assert human["mail"]["tags"]["ses:configuration-set"] == ["tracked"]


def test_a_tampered_click_token_gives_no_redirect_and_no_event(server_factory, receiver):
    server = server_factory(**FAST).start()
    ses = server.client("sesv2", tracked_account(server, receiver))
    mid = ses.send_email(FromEmailAddress="news@example.com", Destination={"ToAddresses": ["reader@example.org"]},
                         ConfigurationSetName="tracked", Content={"Simple": {
                             "Subject": {"Data": "Sale"}, "Body": {"Html": {"Data": PAGE}}}})["MessageId"]
    click = re.findall(r'href="([^"]+)"', captured_html(server, mid))[0]
    token = click.rsplit("/", 1)[1]
    body, tag = token.split(".")
    flipped = body[:-1] + ("A" if body[-1] != "A" else "B")
    for bad in (f"{flipped}.{tag}", body, "nonsense"):
        status, headers, _ = fetch(f"{server.endpoint}/track/click/{bad}")
        assert status == 404 and "location" not in headers
    assert fetch(f"{server.endpoint}/track/open/{token}")[0] == 404  # a click token is no open token
    time.sleep(0.5)  # the events processor runs every 0.1 s: anything recorded would have gone out
    assert receiver.notifications() == []


def test_mail_without_tracking_destinations_is_left_untouched(server_factory):
    server = server_factory().start()
    ses = server.client("sesv2", server.new_account("acme"))
    ses.create_configuration_set(ConfigurationSetName="plain")
    mid = ses.send_email(FromEmailAddress="news@example.com", Destination={"ToAddresses": ["reader@example.org"]},
                         ConfigurationSetName="plain", Content={"Simple": {
                             "Subject": {"Data": "Sale"}, "Body": {"Html": {"Data": PAGE}}}})["MessageId"]
    wait_until(lambda: server.cli_json("messages", "show", mid)["Status"] == "delivered")
    assert b"/track/" not in server.cli("messages", "raw", mid).stdout.encode()
