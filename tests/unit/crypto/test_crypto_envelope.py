"""Envelope encryption of secrets at rest (crypto/envelope.py)."""

from __future__ import annotations

import pytest

from openissuer.crypto.envelope import NONCE_SIZE, TAG_SIZE, VERSION, EnvelopeError, open_sealed, seal

MASTER_KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


def test_seal_then_open_returns_the_plaintext() -> None:
    sealed = seal(MASTER_KEY, b"private key bytes", aad=b"tenant/1/key/2")
    assert open_sealed(MASTER_KEY, sealed, aad=b"tenant/1/key/2") == b"private key bytes"


def test_sealed_layout_is_version_nonce_ciphertext_tag() -> None:
    sealed = seal(MASTER_KEY, b"abc", aad=b"", random_bytes=lambda n: b"\x07" * n)
    assert sealed[0] == VERSION
    assert sealed[1 : 1 + NONCE_SIZE] == b"\x07" * NONCE_SIZE
    assert len(sealed) == 1 + NONCE_SIZE + 3 + TAG_SIZE
    assert b"abc" not in sealed


def test_each_seal_uses_a_fresh_nonce() -> None:
    first, second = seal(MASTER_KEY, b"same", aad=b"a"), seal(MASTER_KEY, b"same", aad=b"a")
    assert first[1 : 1 + NONCE_SIZE] != second[1 : 1 + NONCE_SIZE]
    assert first != second


def test_a_wrong_master_key_is_refused_with_a_clear_error() -> None:
    sealed = seal(MASTER_KEY, b"secret", aad=b"a")
    with pytest.raises(EnvelopeError, match="wrong master key, wrong aad or tampered data"):
        open_sealed(OTHER_KEY, sealed, aad=b"a")


def test_a_wrong_aad_is_refused() -> None:
    sealed = seal(MASTER_KEY, b"secret", aad=b"tenant/1/key/2")
    with pytest.raises(EnvelopeError):
        open_sealed(MASTER_KEY, sealed, aad=b"tenant/1/key/3")


@pytest.mark.parametrize("position", [0, 1, 13, -1])
def test_any_changed_byte_is_refused(position: int) -> None:
    sealed = bytearray(seal(MASTER_KEY, b"secret", aad=b"a"))
    sealed[position] ^= 0x01
    with pytest.raises(EnvelopeError):
        open_sealed(MASTER_KEY, bytes(sealed), aad=b"a")


def test_truncated_data_is_refused() -> None:
    with pytest.raises(EnvelopeError, match="too short"):
        open_sealed(MASTER_KEY, b"\x01" + b"\x00" * 20, aad=b"")


def test_the_master_key_must_be_32_bytes() -> None:
    with pytest.raises(EnvelopeError, match="32 bytes"):
        seal(b"short", b"x", aad=b"")
    with pytest.raises(EnvelopeError, match="32 bytes"):
        open_sealed(b"\x00" * 16, seal(MASTER_KEY, b"x", aad=b""), aad=b"")


def test_random_bytes_must_supply_a_full_nonce() -> None:
    with pytest.raises(ValueError, match="12 bytes"):
        seal(MASTER_KEY, b"x", aad=b"", random_bytes=lambda n: b"\x00" * (n - 1))
