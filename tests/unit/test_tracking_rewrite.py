"""Open and click tracking rewrites HTML parts of a message, and nothing else."""

from __future__ import annotations

import base64
import binascii
import email
from email import policy

from hypothesis import given, settings
from hypothesis import strategies as st

from openses.core.tracking import Plan
from openses.core.tracking_tokens import CLICK, OPEN, TokenCodec
from openses.delivery.tracking import rewrite_message
from openses.delivery.tracking_html import link_tags, rewrite_html

CODEC = TokenCodec(b"k" * 32)
PLAN = Plan(CODEC, opens=True, clicks=True, public_url="http://127.0.0.1:8005")
MID = "0100018f00000000-11111111-2222-3333-4444-555555555555-000000"
PAGE = ('<html><body><p>Hello</p><a href="https://shop.example/item?a=1&amp;b=2" ses:tags="campaign:spring;'
        'kind:promo">buy</a> <a ses:no-track href="https://shop.example/legal">legal</a> '
        '<a href="mailto:help@shop.example">mail us</a></body></html>')
HEAD = b"From: a@example.com\r\nTo: b@example.org\r\nSubject: hi\r\nMIME-Version: 1.0\r\n"


def html_of(data: bytes) -> str:
    msg = email.message_from_bytes(data, policy=policy.default)
    return msg.get_body(("html",)).get_content()


def hrefs(text: str) -> list[str]:
    import re

    return re.findall(r'href="([^"]*)"', text)


def claims_of(url: str, kind: str) -> dict:
    token = url.rsplit("/", 1)[1]
    claims = CODEC.read(kind, token)
    assert claims is not None
    return claims


def single(body: bytes, encoding: str, charset: str = "utf-8") -> bytes:
    return (HEAD + f"Content-Type: text/html; charset={charset}\r\nContent-Transfer-Encoding: {encoding}\r\n\r\n"
            .encode() + body)


def test_links_become_signed_redirects_and_tags_become_link_tags():
    out = rewrite_html(PAGE, PLAN, MID)
    tracked, legal, mail = hrefs(out)
    assert tracked.startswith("http://127.0.0.1:8005/track/click/")
    assert claims_of(tracked, CLICK) == {"m": MID, "u": "https://shop.example/item?a=1&b=2",
                                         "t": {"campaign": ["spring"], "kind": ["promo"]}}
    assert legal == "https://shop.example/legal" and mail == "mailto:help@shop.example"
    assert "ses:tags" not in out and "ses:no-track" in out


def test_the_open_pixel_goes_at_the_end_of_the_body():
    out = rewrite_html(PAGE, PLAN, MID)
    assert out.endswith('padding:0!important" /></body></html>')
    src = out.split('<img alt="" src="', 1)[1].split('"', 1)[0]
    assert src.startswith("http://127.0.0.1:8005/track/open/") and claims_of(src, OPEN) == {"m": MID}


def test_a_fragment_without_body_gets_the_pixel_appended():
    assert rewrite_html("<p>hi</p>", PLAN, MID).startswith("<p>hi</p><img ")


def test_rewriting_twice_changes_nothing():
    once = rewrite_html(PAGE, PLAN, MID)
    assert rewrite_html(once, PLAN, MID) == once


def test_only_opens_tracked_leaves_links_alone():
    plan = Plan(CODEC, opens=True, clicks=False, public_url="http://x")
    out = rewrite_html(PAGE, plan, MID)
    assert hrefs(out)[0] == "https://shop.example/item?a=1&amp;b=2" and "/track/open/" in out


def test_links_in_comments_and_relative_links_are_not_tracked():
    page = '<!-- <a href="https://a.example/">x</a> --><a href="/relative">r</a><a href="#top">t</a>'
    out = rewrite_html(page, Plan(CODEC, opens=False, clicks=True, public_url="http://x"), MID)
    assert out == page


def test_custom_redirect_domain_and_https_policy_choose_the_tracking_host():
    optional = Plan(CODEC, True, True, "http://127.0.0.1:8005", domain="track.shop.example")
    assert optional.open_url(MID).startswith("http://track.shop.example/track/open/")
    assert optional.click_url(MID, "https://a.example/", {}).startswith("https://track.shop.example/track/click/")
    assert optional.click_url(MID, "http://a.example/", {}).startswith("http://track.shop.example/")
    required = Plan(CODEC, True, True, "http://x", domain="track.shop.example", https_policy="REQUIRE")
    assert required.click_url(MID, "http://a.example/", {}).startswith("https://track.shop.example/")
    open_only = Plan(CODEC, True, True, "http://x", domain="track.shop.example", https_policy="REQUIRE_OPEN_ONLY")
    assert open_only.open_url(MID).startswith("https://") and \
        open_only.click_url(MID, "http://a.example/", {}).startswith("http://")


def test_link_tags_keep_only_well_formed_pairs():
    assert link_tags("a:1; b : 2;bad;c:has space;d:ok;d:again") == {"a": ["1"], "b": ["2"], "d": ["ok", "again"]}


def test_a_plain_html_message_is_rewritten_in_place():
    out = rewrite_message(single(PAGE.encode(), "7bit"), PLAN, MID)
    assert out.startswith(HEAD) and "/track/click/" in html_of(out)


def test_quoted_printable_html_stays_quoted_printable():
    body = binascii.b2a_qp(PAGE.encode(), istext=True).replace(b"\n", b"\r\n")
    out = rewrite_message(single(body, "quoted-printable"), PLAN, MID)
    assert b"Content-Transfer-Encoding: quoted-printable" in out
    assert all(len(line) <= 76 for line in out.split(b"\r\n\r\n", 1)[1].split(b"\r\n"))
    assert "/track/open/" in html_of(out)


def test_base64_html_stays_base64_with_utf8_text_intact():
    page = PAGE.replace("Hello", "Grüße ☃")
    out = rewrite_message(single(base64.encodebytes(page.encode()).replace(b"\n", b"\r\n"), "base64"), PLAN, MID)
    body = out.split(b"\r\n\r\n", 1)[1]
    assert all(len(line) <= 76 for line in body.split(b"\r\n"))
    text = html_of(out)
    assert "Grüße ☃" in text and "/track/click/" in text


def test_a_utf8_link_keeps_its_characters_in_the_token():
    page = '<a href="https://shop.example/caf\u00e9">x</a>'.encode()
    out = rewrite_message(single(page, "8bit"), Plan(CODEC, False, True, "http://x"), MID)
    assert claims_of(hrefs(html_of(out))[0], CLICK)["u"] == "https://shop.example/café"


def test_long_lines_in_7bit_html_switch_the_part_to_quoted_printable():
    page = "<p>" + "x" * 900 + '<a href="https://a.example/">a</a></p>'
    out = rewrite_message(single(page.encode(), "7bit"), PLAN, MID)
    assert b"Content-Transfer-Encoding: quoted-printable" in out and b"7bit" not in out
    assert all(len(line) <= 998 for line in out.split(b"\r\n"))
    assert "/track/click/" in html_of(out)


def test_multipart_alternative_rewrites_only_the_html_part():
    text_part = b"Content-Type: text/plain\r\n\r\nsee https://shop.example/item\r\n"
    html_part = b"Content-Type: text/html; charset=utf-8\r\n\r\n" + PAGE.encode() + b"\r\n"
    data = (HEAD + b'Content-Type: multipart/alternative; boundary="b1"\r\n\r\npreamble\r\n--b1\r\n' + text_part
            + b"--b1\r\n" + html_part + b"--b1--\r\nepilogue\r\n")
    out = rewrite_message(data, PLAN, MID)
    assert out.startswith(HEAD) and b"preamble\r\n--b1\r\n" + text_part + b"--b1\r\n" in out
    assert out.endswith(b"--b1--\r\nepilogue\r\n")
    msg = email.message_from_bytes(out, policy=policy.default)
    assert msg.get_body(("plain",)).get_content().strip() == "see https://shop.example/item"
    assert "/track/click/" in html_of(out)


def test_nested_multipart_mixed_with_an_html_attachment_tracks_the_body_only():
    inner = (b'Content-Type: multipart/alternative; boundary="in"\r\n\r\n--in\r\nContent-Type: text/plain\r\n\r\n'
             b"t\r\n--in\r\nContent-Type: text/html\r\n\r\n" + PAGE.encode() + b"\r\n--in--\r\n")
    attached = b'Content-Type: text/html\r\nContent-Disposition: attachment; filename="a.html"\r\n\r\n' \
        + PAGE.encode() + b"\r\n"
    data = (HEAD + b'Content-Type: multipart/mixed; boundary="out"\r\n\r\n--out\r\n' + inner + b"--out\r\n"
            + attached + b"--out--\r\n")
    out = rewrite_message(data, PLAN, MID)
    assert out.count(b"/track/click/") == 1 and attached in out


def test_a_message_without_html_is_unchanged():
    data = HEAD + b"Content-Type: text/plain\r\n\r\n<a href=\"https://a.example/\">not html</a>\r\n"
    assert rewrite_message(data, PLAN, MID) == data


def test_broken_base64_html_is_left_as_it_was():
    data = single(b"!!!not base64 at all***", "base64")
    assert rewrite_message(data, PLAN, MID) == data


def test_lf_line_ends_are_kept():
    data = single(PAGE.encode(), "7bit").replace(b"\r\n", b"\n")
    out = rewrite_message(data, PLAN, MID)
    assert b"\r" not in out and b"/track/open/" in out


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_rewriting_never_raises_on_arbitrary_bytes(data):
    rewrite_message(data, PLAN, MID)
    rewrite_message(HEAD + b"Content-Type: text/html\r\n\r\n" + data, PLAN, MID)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=500), st.sampled_from(["text/plain", "application/octet-stream", "image/png"]))
def test_non_html_messages_come_back_byte_for_byte(body, kind):
    data = HEAD + f"Content-Type: {kind}\r\n\r\n".encode() + body.encode("utf-8", "surrogatepass")
    assert rewrite_message(data, PLAN, MID) == data


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300))
def test_html_rewriting_never_raises_and_is_idempotent(text):
    once = rewrite_html(text, PLAN, MID)
    assert rewrite_html(once, PLAN, MID) == once
