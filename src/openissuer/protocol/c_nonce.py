"""Stateless ``c_nonce`` values (OID4VCI 1.0 §7): the issuer stores nothing when it makes one.

A nonce is ``base64url(version ‖ expiry ‖ random ‖ tag)``: one version byte, the expiry as 8-byte big-endian Unix
seconds, 16 random bytes, and the first 16 bytes of a MAC over the rest under a key of the tenant. So a nonce made
by one tenant, forged, altered or expired is refused without any lookup; that a nonce is used only once is the
credential endpoint's business (it remembers used ones until they expire). Only the canonical spelling of a nonce
is read (no other bits in the last character), so one nonce has one text. Pure: the MAC, time and randomness are
arguments.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from datetime import UTC, datetime

from openissuer.crypto.base64url import decode_base64url, encode_base64url

VERSION = 1
_RANDOM_SIZE = 16
_TAG_SIZE = 16
_BODY_SIZE = 1 + 8 + _RANDOM_SIZE
_SIZE = _BODY_SIZE + _TAG_SIZE
_MAX_TEXT = 64

Mac = Callable[[bytes], bytes]
"""HMAC-SHA256 under the tenant's nonce key."""


def create_c_nonce(mac: Mac, expires_at: datetime, random_bytes: Callable[[int], bytes]) -> str:
    """Return a new nonce that expires at ``expires_at`` (whole seconds)."""
    body = bytes([VERSION]) + int(expires_at.timestamp()).to_bytes(8, "big") + random_bytes(_RANDOM_SIZE)
    return encode_base64url(body + mac(body)[:_TAG_SIZE])


def read_c_nonce(mac: Mac, nonce: str, now: datetime) -> datetime | None:
    """Return when the nonce expires if it is one of ours and has not expired; None otherwise."""
    if not isinstance(nonce, str) or len(nonce) > _MAX_TEXT:
        return None
    try:
        raw = decode_base64url(nonce)
    except ValueError:
        return None
    if len(raw) != _SIZE or raw[0] != VERSION:
        return None
    if encode_base64url(raw) != nonce:
        # The last character's unused bits are not covered by the MAC: without this, one nonce would have four
        # spellings, and callers that remember used nonces by their text would accept each of them once.
        return None
    body, tag = raw[:_BODY_SIZE], raw[_BODY_SIZE:]
    if not hmac.compare_digest(mac(body)[:_TAG_SIZE], tag):
        return None
    expires_at = datetime.fromtimestamp(int.from_bytes(body[1:9], "big"), tz=UTC)
    return expires_at if now < expires_at else None
