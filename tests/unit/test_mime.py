"""Hand-built simple messages and header surgery on raw ones."""

import binascii
import email
from email import policy

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from openses.core import mime
from openses.core.mime import Attachment, SimpleContent, build_simple, format_date, split_raw
from openses.errors import InvalidParameterValue


def build(content: SimpleContent) -> email.message.EmailMessage:
    raw = build_simple(from_header="a@example.com", to=["b@example.org"], cc=[], reply_to=[],
                       content=content, message_id="id@example.com", date=format_date(0))
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only
    return email.message_from_bytes(raw, policy=policy.default)


def test_date_is_rfc5322_in_utc():
    assert format_date(0) == "Thu, 01 Jan 1970 00:00:00 +0000"


def test_text_and_html_make_multipart_alternative():
    msg = build(SimpleContent("s", text="t", html="<b>h</b>"))
    assert msg.get_content_type() == "multipart/alternative"
    assert msg.get_body(("html",)).get_content().strip() == "<b>h</b>"


def test_long_or_non_ascii_bodies_are_quoted_printable_and_decode_back():
    text = "é" * 10 + "x" * 2000
    msg = build(SimpleContent("s", text=text))
    assert msg["Content-Transfer-Encoding"] == "quoted-printable"
    assert msg.get_content().rstrip("\n") == text


def test_attachments_make_multipart_mixed():
    msg = build(SimpleContent("s", text="t", attachments=(Attachment(b"\x00\xff", "a.bin"),)))
    assert msg.get_content_type() == "multipart/mixed"
    [att] = list(msg.iter_attachments())
    assert att.get_content() == b"\x00\xff"


def test_header_injection_in_subject_or_custom_header_is_refused():
    with pytest.raises(InvalidParameterValue):
        build(SimpleContent("s\r\nBcc: x@example.org", text="t"))
    with pytest.raises(InvalidParameterValue):
        build(SimpleContent("s", text="t", headers=(("X-A", "v\nBcc: x@example.org"),)))


def test_raw_rebuild_drops_bcc_keeps_the_body_bytes_and_prepends_headers():
    raw = b"From: a@example.com\nBcc: h@example.org\nSubject: x\n\nbody\xff\n"
    m = split_raw(raw)
    out = m.rebuilt(drop=("bcc",), prepend=[("Message-ID", "<1@x>")])
    assert out.startswith(b"Message-ID: <1@x>\r\nFrom: a@example.com\r\n")
    assert b"Bcc" not in out and out.endswith(b"\r\n\r\nbody\xff\r\n")


def test_folded_headers_are_read_whole():
    m = split_raw(b"From: a@example.com\r\nSubject: one\r\n two\r\n\r\nb")
    assert m.first("Subject") == "one two"


@pytest.mark.parametrize("raw,message", [
    (b"From: a@example.com\r\nSubject: 1\r\nSubject: 2\r\n\r\nb", "Duplicate header 'Subject'."),
    (b": empty\r\n\r\nb", "Empty header names are illegal."),
    (b"Bad Header: x\r\n\r\nb", "Illegal header 'Bad Header'."),
])
def test_malformed_raw_headers_get_ses_messages(raw, message):
    with pytest.raises(InvalidParameterValue) as e:
        split_raw(raw)
    assert e.value.message == message


@given(st.binary(max_size=300))
def test_split_raw_either_parses_or_refuses_cleanly(data):
    try:
        m = split_raw(b"From: a@example.com\r\n" + data)
    except InvalidParameterValue:
        return
    assert m.rebuilt().startswith(b"From: a@example.com")


_QP_LINE = st.builds(lambda n, c, tail: c * n + tail, st.integers(0, 400), st.sampled_from("xy =."),
                     st.sampled_from(["", " ", "y", ".", "\t"]))


@settings(max_examples=400)
@given(st.lists(st.sampled_from(b"ab =.\t\r\n\xc3\x7f~"), max_size=400).map(bytes)
       | st.lists(_QP_LINE, max_size=5).map(lambda ls: "\n".join(ls).encode()))
@example(b"x" * 76)
@example(b"x" * 77)
@example(b"x" * 151)  # 75 + "=" and then the last 76 whole, as b2a_qp breaks it
@example(b"x" * 152)
def test_quoted_printable_matches_the_stdlib(raw: bytes) -> None:
    # The fast path for plain ASCII places soft breaks itself; it must agree with b2a_qp byte for byte.
    lf = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    assert mime._quoted_printable(lf) == binascii.b2a_qp(lf).replace(b"\n", b"\r\n")


def test_long_ascii_line_is_soft_broken_and_round_trips() -> None:
    text = "The quick brown fox jumps over the lazy dog. " * 50
    part = mime._body_part(text, "plain", None)
    head, body = part.split(b"\r\n\r\n", 1)
    assert b"quoted-printable" in head
    assert all(len(line) <= 76 for line in body.split(b"\r\n"))
    assert binascii.a2b_qp(body.replace(b"\r\n", b"\n")).decode() == text
