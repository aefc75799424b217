"""Address syntax as SES checks it, and IDN domains."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openses.core.addresses import check_address, identity_key, parse_address_list, parse_mailbox
from openses.errors import InvalidParameterValue


@pytest.mark.parametrize("address,message", [
    ("plain", "Missing final '@domain'"),
    ("a@", "Missing domain"),
    ("@example.com", "Missing local name"),
    ("a b@example.com", "Local address contains control or whitespace"),
    ("é@example.com", "Local address contains illegal character"),
    ("a@.example.com", "Domain starts with dot"),
    ("a@example.com.", "Domain ends with dot"),
    ("a@exa..mple.com", "Domain contains dot-dot"),
    ("a@exa_mple.com", "Domain contains illegal character"),
])
def test_bad_addresses_get_the_ses_message(address, message):
    with pytest.raises(InvalidParameterValue) as e:
        check_address(address)
    assert e.value.message == message


def test_unicode_domains_become_punycode():
    assert check_address("user@bücher.de") == "user@xn--bcher-kva.de"


def test_mailbox_with_an_encoded_display_name_is_decoded():
    box = parse_mailbox("=?utf-8?q?J=C3=BCrgen?= <j@example.com>")
    assert box.display_name == "Jürgen" and box.address == "j@example.com"
    assert box.header_form().endswith("<j@example.com>")


def test_address_lists_split_on_commas_outside_quotes():
    boxes = parse_address_list('"Doe, Jane" <jane@example.com>, bob@example.org')
    assert [b.address for b in boxes] == ["jane@example.com", "bob@example.org"]


def test_line_breaks_never_pass_as_part_of_an_address():
    with pytest.raises(InvalidParameterValue):
        parse_mailbox("a@example.com\r\nBcc: x@example.org")


def test_identity_keys_fold_the_domain_but_not_the_local_part():
    assert identity_key("User@Example.COM") == "User@example.com"
    assert identity_key("Example.COM") == "example.com"


local = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789.+-_", min_size=1, max_size=30).filter(
    lambda s: not s.startswith(".") and not s.endswith("."))
label = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=20)


@given(local, st.lists(label, min_size=2, max_size=4))
def test_valid_ascii_addresses_pass_unchanged(lp, labels):
    address = f"{lp}@{'.'.join(labels)}"
    assert check_address(address) == address


@given(st.text(max_size=60))
def test_any_text_either_passes_or_fails_with_an_ses_error(text):
    try:
        out = check_address(text)
    except InvalidParameterValue:
        return
    assert "@" in out and "\n" not in out and "\r" not in out


_PLAIN_PIECES = st.sampled_from(["a@b.example", "Ann <ann@x.example>", "J. Smith <js@y.example>", " ", ",",
                                 "bob.o'hara+tag@z.example", "First  Last<fl@w.example>", "<only@v.example>",
                                 "x y", "@", "<", "a@b@c", "näme <n@u.example>", "\t"])


@given(st.lists(_PLAIN_PIECES, max_size=8).map("".join))
def test_the_fast_address_list_path_agrees_with_the_full_parser(value):
    from email.utils import getaddresses

    from openses.core.addresses import _plain_list

    fast = _plain_list(value)
    if fast is not None:
        assert fast == [(n, a) for n, a in getaddresses([value]) if a]
