"""Envelope encryption of secrets and private keys at rest: AES-256-GCM under a 32-byte master key (KEK).

Sealed layout: ``version (1 byte) || nonce (12 bytes) || ciphertext || tag (16 bytes)``. The version byte is also
bound into the GCM additional data, so it cannot be swapped without detection. Nonces are random 96-bit values;
NIST SP 800-38D §8.3 limits random-nonce use to 2**32 messages per key, far above what key storage seals.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MASTER_KEY_SIZE = 32
NONCE_SIZE = 12
TAG_SIZE = 16
VERSION = 1

_HEADER_SIZE = 1 + NONCE_SIZE


class EnvelopeError(ValueError):
    """Sealed data cannot be opened: wrong master key, wrong associated data, tampering or an unknown version."""


def seal(
    master_key: bytes,
    plaintext: bytes,
    *,
    aad: bytes,
    random_bytes: Callable[[int], bytes] = os.urandom,
) -> bytes:
    """Encrypt ``plaintext`` under ``master_key``, binding it to ``aad`` (e.g. ``b"tenant/<id>/key/<id>"``).

    ``aad`` is not stored: the caller must present the same value to ``open_sealed``, which stops sealed bytes
    from being moved to another record. ``random_bytes`` supplies the nonce (injectable for tests).
    """
    aesgcm = _cipher(master_key)
    nonce = random_bytes(NONCE_SIZE)
    if len(nonce) != NONCE_SIZE:
        raise ValueError(f"random_bytes must return {NONCE_SIZE} bytes")
    version = bytes([VERSION])
    return version + nonce + aesgcm.encrypt(nonce, plaintext, version + aad)


def open_sealed(master_key: bytes, sealed: bytes, *, aad: bytes) -> bytes:
    """Decrypt what ``seal`` produced; raise EnvelopeError unless key, ``aad`` and bytes are all as sealed."""
    aesgcm = _cipher(master_key)
    if len(sealed) < _HEADER_SIZE + TAG_SIZE:
        raise EnvelopeError("sealed data is too short")
    if sealed[0] != VERSION:
        raise EnvelopeError(f"unknown sealed data version {sealed[0]}")
    nonce = sealed[1:_HEADER_SIZE]
    try:
        return aesgcm.decrypt(nonce, sealed[_HEADER_SIZE:], sealed[:1] + aad)
    except InvalidTag as exc:
        raise EnvelopeError("cannot open sealed data: wrong master key, wrong aad or tampered data") from exc


def _cipher(master_key: bytes) -> AESGCM:
    if len(master_key) != MASTER_KEY_SIZE:
        raise EnvelopeError(f"the master key must be {MASTER_KEY_SIZE} bytes")
    return AESGCM(master_key)
