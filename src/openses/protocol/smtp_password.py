"""SES SMTP passwords: derived from an IAM secret access key, never stored.

Amazon SES documents the derivation (the Python `calculate_key` example at
docs.aws.amazon.com/ses/latest/dg/ses_example_ses_Scenario_GenerateSmtpCredentials_section.html,
linked from "Obtaining Amazon SES SMTP credentials"): a SigV4
signing key for the fixed date "11111111", the region and service "ses", used to sign the
message "SendRawEmail"; the password is base64 of a version byte 0x04 followed by that HMAC.
Because the region is part of the chain, a password only works against its own region.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

# Fixed by the SES documentation; changing any of them changes every password.
_DATE = "11111111"
_SERVICE = "ses"
_TERMINAL = "aws4_request"
_MESSAGE = "SendRawEmail"
_VERSION = b"\x04"


def smtp_password(secret_access_key: str, region: str) -> str:
    """The SMTP password SES accepts for this secret key in `region`."""
    key = ("AWS4" + secret_access_key).encode("utf-8")
    for part in (_DATE, region, _SERVICE, _TERMINAL, _MESSAGE):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(_VERSION + key).decode("ascii")


def verify_smtp_password(secret_access_key: str, region: str, candidate: str) -> bool:
    """Whether `candidate` (from SMTP AUTH) is the password for this key, in constant time."""
    expected = smtp_password(secret_access_key, region).encode("ascii")
    # SMTP AUTH hands us arbitrary text; compare bytes so non-ASCII input is a plain mismatch.
    return hmac.compare_digest(expected, candidate.encode("utf-8", "surrogateescape"))
