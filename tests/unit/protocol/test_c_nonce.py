"""Stateless c_nonces (protocol/c_nonce.py): what is read back, and what is refused."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from openissuer.crypto.base64url import decode_base64url, encode_base64url
from openissuer.protocol.c_nonce import create_c_nonce, read_c_nonce

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)
_BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def mac(body: bytes) -> bytes:
    return hmac.digest(b"k" * 32, body, "sha256")


def other_mac(body: bytes) -> bytes:
    return hmac.digest(b"o" * 32, body, "sha256")


def test_a_nonce_reads_back_its_expiry_until_it_expires() -> None:
    nonce = create_c_nonce(mac, LATER, lambda n: b"r" * n)
    assert read_c_nonce(mac, nonce, NOW) == LATER
    assert read_c_nonce(mac, nonce, LATER) is None
    assert read_c_nonce(other_mac, nonce, NOW) is None  # another tenant's key


def test_only_the_canonical_spelling_is_read() -> None:
    """The last character has bits the decoder ignores; a nonce with other values there decodes to the same bytes
    and the same MAC, and would count as another nonce wherever used ones are remembered by their text."""
    nonce = create_c_nonce(mac, LATER, lambda n: b"r" * n)
    index = _BASE64URL.index(nonce[-1])
    spellings = [nonce[:-1] + _BASE64URL[index ^ bits] for bits in (1, 2, 3)]
    assert all(decode_base64url(s) == decode_base64url(nonce) for s in spellings)
    assert [read_c_nonce(mac, s, NOW) for s in spellings] == [None, None, None]


def test_altered_or_malformed_nonces_are_refused() -> None:
    nonce = create_c_nonce(mac, LATER, lambda n: b"r" * n)
    raw = bytearray(decode_base64url(nonce))
    raw[5] ^= 1  # the expiry, under the MAC
    refused = [
        encode_base64url(bytes(raw)),
        nonce[:-2],
        nonce + "A",
        "made-up-nonce",
        "",
        "=" * 55,
        nonce + "=",
        encode_base64url(hashlib.sha256(b"x").digest() + b"y" * 9),
    ]
    assert [read_c_nonce(mac, value, NOW) for value in refused] == [None] * len(refused)
