"""SNS message signatures: SNS's canonical strings, and signatures a receiver verifies with the
certificate alone (as the standard SNS verification does), for SignatureVersion 1 and 2."""

from __future__ import annotations

import base64
import os

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from openses.core import sns_signing
from openses.core.secrets import SecretBox

NOTIFICATION = {"Type": "Notification", "MessageId": "m-1", "TopicArn": "arn:aws:sns:us-east-1:1:t",
                "Message": "hello\nworld", "Timestamp": "2024-01-02T03:04:05.678Z",
                "UnsubscribeURL": "http://x/sns/unsubscribe"}
CONFIRMATION = {"Type": "SubscriptionConfirmation", "MessageId": "m-2", "Token": "tok",
                "TopicArn": "arn:aws:sns:us-east-1:1:t", "Message": "You have chosen…",
                "SubscribeURL": "http://x/sns/confirm", "Timestamp": "2024-01-02T03:04:05.678Z"}


@pytest.fixture(scope="module")
def key_row():
    box = SecretBox(os.urandom(32))
    row = sns_signing.new_key_row(box, "openses.test", 1_700_000_000.0)
    return box, row


def test_a_notification_signs_message_id_timestamp_topic_and_type_without_an_absent_subject():
    assert sns_signing.string_to_sign(NOTIFICATION) == (
        b"Message\nhello\nworld\nMessageId\nm-1\nTimestamp\n2024-01-02T03:04:05.678Z\n"
        b"TopicArn\narn:aws:sns:us-east-1:1:t\nType\nNotification\n")


def test_a_notification_with_a_subject_signs_it_between_message_id_and_timestamp():
    text = sns_signing.string_to_sign({**NOTIFICATION, "Subject": "Hi"})
    assert b"MessageId\nm-1\nSubject\nHi\nTimestamp\n" in text


def test_a_subscription_confirmation_signs_the_subscribe_url_and_token():
    assert sns_signing.string_to_sign(CONFIRMATION) == (
        "Message\nYou have chosen…\nMessageId\nm-2\nSubscribeURL\nhttp://x/sns/confirm\n"
        "Timestamp\n2024-01-02T03:04:05.678Z\nToken\ntok\nTopicArn\narn:aws:sns:us-east-1:1:t\n"
        "Type\nSubscriptionConfirmation\n").encode()


@pytest.mark.parametrize("version, algorithm", [("1", hashes.SHA1), ("2", hashes.SHA256)])
@pytest.mark.parametrize("message", [NOTIFICATION, CONFIRMATION], ids=["notification", "confirmation"])
def test_the_signature_verifies_with_the_certificate_for_both_versions(key_row, message, version, algorithm):
    box, row = key_row
    key = sns_signing.open_key_row(box, row)
    out = sns_signing.signed(message, key.private_key, version, "http://x/cert.pem")
    assert (out["SignatureVersion"], out["SigningCertURL"]) == (version, "http://x/cert.pem")
    cert = x509.load_pem_x509_certificate(row["certificate"].encode())
    canonical = "".join(f"{k}\n{out[k]}\n" for k in sns_signing.SIGNED_FIELDS[out["Type"]] if k in out)
    cert.public_key().verify(base64.b64decode(out["Signature"]), canonical.encode(), padding.PKCS1v15(),
                             algorithm())


def test_signed_fields_come_in_sns_order_and_a_resigned_message_replaces_the_old_signature(key_row):
    box, row = key_row
    key = sns_signing.open_key_row(box, row)
    once = sns_signing.signed(NOTIFICATION, key.private_key, "1", "u")
    twice = sns_signing.signed(once, key.private_key, "2", "u")
    assert list(twice) == ["Type", "MessageId", "TopicArn", "Message", "Timestamp", "SignatureVersion",
                           "Signature", "SigningCertURL", "UnsubscribeURL"]
    assert twice["SignatureVersion"] == "2" and twice["Signature"] != once["Signature"]


def test_the_key_is_rsa_2048_sealed_at_rest_and_named_after_its_certificate(key_row):
    box, row = key_row
    assert b"PRIVATE KEY" not in row["private_key_sealed"]
    assert sns_signing.open_key_row(box, row).private_key.key_size == 2048
    cert = x509.load_pem_x509_certificate(row["certificate"].encode())
    assert cert.fingerprint(hashes.SHA256()).hex() == row["id"]
    assert sns_signing.key_id_from_path_name(sns_signing.cert_path(row["id"]).rpartition("/")[2]) == row["id"]


def test_a_sealed_key_does_not_open_under_another_rows_id(key_row):
    box, row = key_row
    with pytest.raises(Exception):
        sns_signing.open_key_row(box, {**row, "id": "0" * 64})


@pytest.mark.parametrize("name", ["cert.pem", "SimpleNotificationService-../x.pem", "SimpleNotificationService-.pem"])
def test_other_certificate_paths_name_no_key(name):
    assert sns_signing.key_id_from_path_name(name) is None
