"""HmacSha256Key gives exactly what hmac.digest gives (RFC 2104 with SHA-256), for every key size."""

from __future__ import annotations

import hmac
import os

from hypothesis import given
from hypothesis import strategies as st

from openissuer.crypto.hmac_sha256 import HmacSha256Key


def test_every_key_size_up_to_past_two_blocks_gives_the_standard_mac() -> None:
    for size in range(0, 201):
        key = os.urandom(size)
        mac = HmacSha256Key(key)
        for data in (b"", b"a", os.urandom(63), os.urandom(64), os.urandom(1000)):
            assert mac.mac(data) == hmac.digest(key, data, "sha256"), size


def test_rfc_4231_test_case_2() -> None:
    expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    assert HmacSha256Key(b"Jefe").mac(b"what do ya want for nothing?").hex() == expected


def test_a_key_is_reusable_and_its_macs_are_independent() -> None:
    mac = HmacSha256Key(b"k" * 32)
    first = mac.mac(b"one")
    assert mac.mac(b"two") == hmac.digest(b"k" * 32, b"two", "sha256")
    assert mac.mac(b"one") == first


def test_the_key_is_not_shown() -> None:
    assert repr(HmacSha256Key(b"secret key")) == "HmacSha256Key()"


@given(st.binary(max_size=300), st.binary(max_size=300))
def test_any_key_and_data(key: bytes, data: bytes) -> None:
    assert HmacSha256Key(key).mac(data) == hmac.digest(key, data, "sha256")
