"""Tracking tokens cannot be forged or altered, and the events they lead to have SES's shape."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from openses.core.tracking import click_event, machine_open, open_event, plan_of
from openses.core.tracking_tokens import CLICK, OPEN, TokenCodec, tracking_key

CODEC = TokenCodec(tracking_key(b"m" * 32))
MAIL = {"messageId": "m1", "sendingAccountId": "123456789012", "tags": {}}


def test_a_token_reads_back_its_claims():
    token = CODEC.sign(CLICK, {"m": "m1", "u": "https://a.example/"})
    assert CODEC.read(CLICK, token) == {"m": "m1", "u": "https://a.example/"}


def test_a_tampered_token_is_rejected():
    token = CODEC.sign(CLICK, {"m": "m1", "u": "https://a.example/"})
    body, tag = token.split(".")
    forged = CODEC.sign(CLICK, {"m": "m1", "u": "https://evil.example/"}).split(".")[0]
    assert CODEC.read(CLICK, f"{forged}.{tag}") is None
    assert CODEC.read(CLICK, f"{body}.{tag[:-2]}AA") is None
    assert CODEC.read(CLICK, body) is None


def test_an_open_token_is_not_a_click_token():
    assert CODEC.read(CLICK, CODEC.sign(OPEN, {"m": "m1"})) is None


def test_another_master_key_makes_other_tokens():
    other = TokenCodec(tracking_key(b"n" * 32))
    assert other.read(OPEN, CODEC.sign(OPEN, {"m": "m1"})) is None


@given(st.text(max_size=200))
def test_reading_any_string_never_raises(token):
    assert CODEC.read(CLICK, token) is None or "." in token


def test_open_event_has_ses_fields_and_flags_image_proxies():
    human = open_event(MAIL, at=0.0, ip_address="192.0.2.1", user_agent="Mozilla/5.0 (X11; Linux) Firefox/120.0")
    assert human["payload"]["open"] == {"ipAddress": "192.0.2.1", "timestamp": "1970-01-01T00:00:00.000Z",
                                        "userAgent": "Mozilla/5.0 (X11; Linux) Firefox/120.0"}
    assert human["event_type"] == "Open" and human["payload"]["eventType"] == "Open"
    gmail = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
    assert open_event(MAIL, at=0.0, ip_address="x", user_agent=gmail)["payload"]["open"]["machineOpen"] is True


def test_machine_opens_are_recognised_by_user_agent():
    assert machine_open("YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html")
    assert machine_open("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)")
    assert not machine_open("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
                            "Gecko) Version/17.0 Safari/605.1.15")


def test_click_event_carries_link_and_link_tags():
    row = click_event(MAIL, at=1.5, ip_address="192.0.2.1", user_agent="ua", link="https://a.example/",
                      link_tags={"k": ["v"]})
    assert row["payload"]["click"] == {"ipAddress": "192.0.2.1", "timestamp": "1970-01-01T00:00:01.500Z",
                                       "userAgent": "ua", "link": "https://a.example/", "linkTags": {"k": ["v"]}}


def test_tracking_follows_enabled_destinations_matching_open_or_click():
    dest = {"enabled": True, "event_types": ["SEND", "CLICK"]}
    plan = plan_of({"TrackingOptions": {"CustomRedirectDomain": "t.example."}}, [dest], CODEC, "http://h/")
    assert plan is not None and (plan.opens, plan.clicks, plan.domain) == (False, True, "t.example")
    assert plan_of({}, [{**dest, "enabled": False}], CODEC, "http://h") is None
    assert plan_of({}, [{"enabled": True, "event_types": ["SEND"]}], CODEC, "http://h") is None
