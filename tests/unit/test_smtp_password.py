"""SES SMTP password derivation, checked against the documented steps written out by hand."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from openses.protocol.smtp_password import smtp_password, verify_smtp_password

# AWS's documentation example secret key: never a real credential.
EXAMPLE_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def _documented_steps(secret: str, region: str) -> str:
    """The SES guide's algorithm, one step per line, independent of the module under test."""
    k_date = hmac.new(("AWS4" + secret).encode(), b"11111111", hashlib.sha256).digest()
    k_region = hmac.new(k_date, region.encode(), hashlib.sha256).digest()
    k_service = hmac.new(k_region, b"ses", hashlib.sha256).digest()
    k_terminal = hmac.new(k_service, b"aws4_request", hashlib.sha256).digest()
    k_message = hmac.new(k_terminal, b"SendRawEmail", hashlib.sha256).digest()
    return base64.b64encode(bytes([0x04]) + k_message).decode()


def test_password_for_the_documentation_example_key_is_pinned():
    # Same value an independent implementation's test pins for this key and region.
    expected = "BLBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL9"
    assert smtp_password(EXAMPLE_SECRET, "us-east-1") == expected


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1", "ap-southeast-2", "us-gov-west-1"])
def test_password_matches_the_documented_steps_in_every_region(region):
    assert smtp_password(EXAMPLE_SECRET, region) == _documented_steps(EXAMPLE_SECRET, region)


def test_password_is_version_four_then_a_sha256_hmac():
    raw = base64.b64decode(smtp_password(EXAMPLE_SECRET, "us-east-1"), validate=True)
    assert raw[0] == 0x04
    assert len(raw) == 33


def test_password_differs_between_regions():
    assert smtp_password(EXAMPLE_SECRET, "us-east-1") != smtp_password(EXAMPLE_SECRET, "us-west-2")


def test_verify_accepts_the_derived_password():
    password = smtp_password(EXAMPLE_SECRET, "eu-central-1")
    assert verify_smtp_password(EXAMPLE_SECRET, "eu-central-1", password)


@pytest.mark.parametrize(
    "candidate",
    [
        "",
        EXAMPLE_SECRET,
        smtp_password(EXAMPLE_SECRET, "us-east-1")[:-1],
        smtp_password(EXAMPLE_SECRET, "us-east-1") + "=",
        "BLBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL\u00e9",
        "\udcff",
    ],
)
def test_verify_rejects_anything_but_the_password(candidate):
    assert not verify_smtp_password(EXAMPLE_SECRET, "us-east-1", candidate)


def test_verify_rejects_the_password_of_another_region():
    password = smtp_password(EXAMPLE_SECRET, "us-west-2")
    assert not verify_smtp_password(EXAMPLE_SECRET, "us-east-1", password)
