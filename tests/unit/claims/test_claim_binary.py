"""``bytes`` coercion (claims/binary.py) against the regular-expression decoder it replaced, kept here as the oracle."""

from __future__ import annotations

import base64
import binascii
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openissuer.claims.binary import coerce_bytes
from openissuer.claims.claim_type import ClaimTypeError

_STANDARD = re.compile(r"[A-Za-z0-9+/]*")
_URL_SAFE = re.compile(r"[A-Za-z0-9_-]*")
_WHITESPACE = re.compile(r"[ \t\r\n]+")


def oracle(text: str) -> bytes | str:
    """The previous implementation of ``_decode_base64``: the bytes, or the reason it refused the text."""
    compact = _WHITESPACE.sub("", text)
    data = compact.rstrip("=")
    padding = len(compact) - len(data)
    if not data:
        return "the base64 text is empty"
    if padding > 2 or len(data) % 4 == 1 or (padding and (len(data) + padding) % 4):
        return "the base64 text has an invalid length or padding"
    if _STANDARD.fullmatch(data):
        alphabet = b"+/"
    elif _URL_SAFE.fullmatch(data):
        alphabet = b"-_"
    else:
        return "the text is neither base64 nor base64url"
    try:
        return base64.b64decode(data + "=" * (-len(data) % 4), altchars=alphabet, validate=True)
    except binascii.Error:
        return "the text is neither base64 nor base64url"


def decoded(text: str) -> bytes | str:
    try:
        return coerce_bytes(text)
    except ClaimTypeError as error:
        return error.reason


_TRICKY = "AZaz09+/-_= \t\r\n.é\u00a0\x00"


@settings(max_examples=2000)
@given(st.text(alphabet=_TRICKY, max_size=24))
def test_any_text_is_decoded_or_refused_as_the_regex_decoder_did(text: str) -> None:
    assert decoded(text) == oracle(text)


@given(st.binary(max_size=64), st.booleans(), st.booleans(), st.booleans())
def test_encoded_bytes_round_trip(data: bytes, url_safe: bool, padded: bool, wrapped: bool) -> None:
    text = (base64.urlsafe_b64encode if url_safe else base64.b64encode)(data).decode("ascii")
    if not padded:
        text = text.rstrip("=")
    if wrapped:
        text = "\r\n".join(text[i : i + 8] for i in range(0, len(text), 8))
    if data:
        assert coerce_bytes(text) == data
        assert coerce_bytes("data:image/jpeg;base64," + text) == data


@pytest.mark.parametrize("text", ["QUJD\u00a0", "QUJ\u00e9", "QUJD\x00", "QU=D"])
def test_non_alphabet_characters_are_refused(text: str) -> None:
    assert decoded(text) == oracle(text) != b"ABC"
