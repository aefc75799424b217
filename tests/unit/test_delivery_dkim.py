"""DKIM signing: relaxed/relaxed canonicalization and signatures dkimpy (the reference) verifies."""

from __future__ import annotations

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from dkim.canonicalization import Relaxed
from hypothesis import given
from hypothesis import strategies as st

from openses.delivery.dkim import DkimKey, DkimSigner, public_key_record, relaxed_body, relaxed_header, to_crlf

MESSAGE = (b"From: Acme  <news@example.com>\r\nTo: a@example.org,\r\n  b@example.org\r\n"
           b"Subject:  Hello   there \r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <1@x>\r\n"
           b"X-Unsigned: yes\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n"
           b"body  line \t \r\n\r\n\tindented\r\n\r\n\r\n")


def _pem(key) -> bytes:  # noqa: ANN001
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


@pytest.fixture(scope="module")
def keys() -> dict[str, DkimKey]:
    return {"rsa": DkimKey("example.com", "rsa1", "rsa-sha256",
                           _pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))),
            "rsa1024": DkimKey("example.com", "old", "rsa-sha256",
                               _pem(rsa.generate_private_key(public_exponent=65537, key_size=1024))),
            "ed": DkimKey("example.com", "ed1", "ed25519-sha256", _pem(ed25519.Ed25519PrivateKey.generate()))}


def _dns(keys: dict[str, DkimKey]):  # noqa: ANN202
    records = {f"{k.selector}._domainkey.{k.domain}.".encode(): public_key_record(k.private_key_pem).encode()
               for k in keys.values()}
    return lambda name, timeout=5: records.get(name)


def test_rsa_2048_signature_verifies_with_dkimpy(keys):
    signed = DkimSigner(clock=lambda: 1_700_000_000).sign(MESSAGE, [keys["rsa"]])
    assert signed.startswith(b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com;")
    assert dkim.verify(signed, dnsfunc=_dns(keys))


def test_rsa_1024_signature_verifies_with_dkimpy(keys):
    assert dkim.verify(DkimSigner().sign(MESSAGE, [keys["rsa1024"]]), dnsfunc=_dns(keys))


def test_dual_rsa_and_ed25519_signatures_both_verify(keys):
    signed = DkimSigner().sign(MESSAGE, [keys["rsa"], keys["ed"]])
    d = dkim.DKIM(signed)
    assert signed.count(b"DKIM-Signature:") == 2
    assert d.verify(idx=0, dnsfunc=_dns(keys)) and d.verify(idx=1, dnsfunc=_dns(keys))


def test_signed_header_list_is_the_ses_set_present_in_the_message(keys):
    signed = DkimSigner().sign(MESSAGE, [keys["rsa"]])
    h = signed.split(b"h=", 1)[1].split(b";", 1)[0]
    assert h == b"From:To:Subject:Date:Message-ID:MIME-Version:Content-Type"


def test_a_changed_body_or_header_fails_verification(keys):
    signed = DkimSigner().sign(MESSAGE, [keys["rsa"]])
    assert not dkim.verify(signed.replace(b"indented", b"Indented"), dnsfunc=_dns(keys))
    assert not dkim.verify(signed.replace(b"Hello", b"Jello"), dnsfunc=_dns(keys))
    assert dkim.verify(signed.replace(b"X-Unsigned: yes", b"X-Unsigned: no"), dnsfunc=_dns(keys))


def test_no_keys_leaves_the_message_as_it_is():
    assert DkimSigner().sign(MESSAGE, []) == MESSAGE


def test_a_key_of_the_wrong_kind_is_refused(keys):
    wrong = DkimKey("example.com", "x", "ed25519-sha256", keys["rsa"].private_key_pem)
    with pytest.raises(ValueError, match="not a ed25519-sha256 key"):
        DkimSigner().sign(MESSAGE, [wrong])


def test_line_ends_become_crlf():
    assert to_crlf(b"a\nb\r\nc\rd") == b"a\r\nb\r\nc\r\nd"
    assert to_crlf(b"a\r\nb") == b"a\r\nb"


def test_empty_body_canonicalizes_to_nothing():
    assert relaxed_body(b"") == b"" and relaxed_body(b"\r\n\r\n") == b""


_line = st.text(alphabet=" \tab.:", max_size=12).map(str.encode)


@given(st.lists(_line, max_size=8))
def test_relaxed_body_matches_dkimpy(lines):
    # As the message arrives: SMTP ends the last line with CRLF (RFC 5321 §4.1.1.4).
    body = b"".join(line + b"\r\n" for line in lines)
    assert relaxed_body(body) == Relaxed.canonicalize_body(body)


@given(st.text(alphabet="Ab-", min_size=1, max_size=6), st.lists(_line, min_size=1, max_size=4))
def test_relaxed_header_matches_dkimpy(name, parts):
    value = b"\r\n ".join(parts)
    [(n, v)] = Relaxed.canonicalize_headers([(name.encode(), value)])
    assert relaxed_header(name.encode(), value) == n + b":" + v.rstrip(b"\r\n")
