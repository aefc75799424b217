"""The inbound parsers over golden samples (one report per file, the expected reading beside it
as JSON), and over arbitrary bytes (they never raise)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openses.inbound.arf import feedback_type, parse_arf
from openses.inbound.dsn import parse_dsn
from openses.inbound.fields import parse_blocks, parse_message, timestamp
from openses.inbound.legacy import parse_legacy
from openses.inbound.parse import parse

SAMPLES = Path(__file__).parent / "samples"
NAMES = sorted(p.stem for p in SAMPLES.glob("*.eml"))


def _reading(data: bytes) -> dict | None:
    report = parse(data)
    if report is None:
        return None
    return json.loads(json.dumps({"kind": type(report).__name__, **dataclasses.asdict(report)}))


@pytest.mark.parametrize("name", NAMES)
def test_each_sample_report_reads_as_its_golden_file_says(name: str) -> None:
    expected = json.loads((SAMPLES / f"{name}.json").read_text())
    assert _reading((SAMPLES / f"{name}.eml").read_bytes()) == expected


@pytest.mark.parametrize("name", NAMES)
def test_crlf_line_ends_read_the_same_as_lf(name: str) -> None:
    data = (SAMPLES / f"{name}.eml").read_bytes()
    assert _reading(data.replace(b"\n", b"\r\n")) == _reading(data)


def test_the_golden_samples_cover_every_format() -> None:
    kinds = {json.loads((SAMPLES / f"{n}.json").read_text()).get("format", "arf") for n in NAMES}
    assert kinds == {"rfc3464", "postfix", "exim", "sendmail", "qmail", "exchange", "arf"}


def test_a_plain_message_is_no_report() -> None:
    assert parse(b"From: a@example.com\r\nTo: b@example.org\r\nSubject: hi\r\n\r\nJust mail.\r\n") is None


def test_a_feedback_type_that_is_not_a_token_is_other() -> None:
    assert feedback_type(" Abuse ") == "abuse"
    assert feedback_type("spam report!") == "other"
    assert feedback_type(None) == "other"


def test_field_blocks_unfold_continuation_lines_and_split_on_blank_lines() -> None:
    blocks = parse_blocks("Reporting-MTA: dns; a\n\nFinal-Recipient: rfc822; x@y\nDiagnostic-Code: smtp; 550\n"
                          "  user unknown\n")
    assert blocks == [[("reporting-mta", "dns; a")],
                      [("final-recipient", "rfc822; x@y"), ("diagnostic-code", "smtp; 550 user unknown")]]


def test_dates_without_a_zone_or_out_of_range_are_no_timestamp() -> None:
    assert timestamp("Tue, 2 Jan 2024 10:00:00 +0000") == 1704189600.0
    assert timestamp("Tue, 2 Jan 2024 10:00:00") is None
    assert timestamp("Tue, 2 Jan 99999 10:00:00 +0000") is None
    assert timestamp("yesterday") is None


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000))
def test_the_parsers_never_raise_on_arbitrary_bytes(data: bytes) -> None:
    _each_parser(data)


def _each_parser(data: bytes) -> None:
    # Each parser on its own: `parse` has a last-resort guard that must never be what saves us.
    msg = parse_message(data)
    parse_arf(msg), parse_dsn(msg), parse_legacy(msg)


_PIECES = st.sampled_from([
    b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n",
    b"Content-Type: multipart/report; report-type=feedback-report; boundary=b\r\n",
    b"\r\n--b\r\n", b"--b--\r\n", b"Content-Type: message/delivery-status\r\n\r\n",
    b"Content-Type: message/feedback-report\r\n\r\n", b"Content-Type: text/rfc822-headers\r\n\r\n",
    b"Content-Type: message/rfc822\r\n\r\n", b"Final-Recipient: rfc822; a@b\r\n", b"Action: failed\r\n",
    b"Status: 5.1.1\r\n", b"Status: 9.x\r\n", b"Remote-MTA: dns; [::1\r\n", b"Arrival-Date: Mon, 1 Jan 0 0:0 +9999\r\n",
    b"Feedback-Type: abuse\r\n", b"Original-Rcpt-To: <>\r\n", b"Diagnostic-Code: smtp; 550\r\n  x\r\n",
    b"This is the mail system at host h.\r\n", b"<a@b>: host h[1.2.3.4] said: 550 5.1.1 x\r\n",
    b"This message was created automatically by mail delivery software\r\n", b"  a@b\r\n    550 no\r\n",
    b"Hi. This is the qmail-send program at q.\r\n", b"<a@b>:\r\n1.2.3.4 does not like recipient.\r\n",
    b"Delivery has failed to these recipients or groups\r\n", b"a@b\r\nRemote Server returned '550 5.1.1'\r\n",
    b"Content-Transfer-Encoding: base64\r\n", b"Content-Type: text/plain; charset=x-unknown\r\n", b"\xff\xfe\r\n",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=30))
def test_the_parsers_never_raise_on_report_shaped_garbage(pieces: list[bytes]) -> None:
    _each_parser(b"".join(pieces))
