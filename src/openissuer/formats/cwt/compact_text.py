"""The text form of a compact credential: ``CSC:/1/`` and the COSE_Sign1 bytes in upper-case base32 without padding
(reference platform §9.1, §9.2; RFC 4648 §6 alphabet). Upper-case base32, ``:`` and ``/`` are all in a QR code's
alphanumeric mode, which is why the reference chose them.
"""

from __future__ import annotations

import base64
import binascii
import re

from openissuer.domain.compact_credentials import CompactCredentialError, VerificationFailure

COMPACT_PREFIX = "CSC:/1/"
_BASE32 = re.compile(r"[A-Z2-7]+")
_VALID_TAIL_LENGTHS = frozenset({0, 2, 4, 5, 7})  # unpadded base32 leaves 0, 2, 4, 5 or 7 characters of a block


def encode_compact_text(message: bytes) -> str:
    """Return ``CSC:/1/`` + base32 (upper case, ``=`` padding removed) of the COSE_Sign1 bytes."""
    return COMPACT_PREFIX + base64.b32encode(message).decode("ascii").rstrip("=")


def decode_compact_text(text: str) -> bytes:
    """Return the COSE_Sign1 bytes of a compact credential's text form; ``PayloadInvalid`` otherwise."""
    if not text.startswith(COMPACT_PREFIX):
        raise CompactCredentialError(
            VerificationFailure.PAYLOAD_INVALID, f"A compact credential starts with {COMPACT_PREFIX}"
        )
    body = text.removeprefix(COMPACT_PREFIX)
    if not _BASE32.fullmatch(body) or len(body) % 8 not in _VALID_TAIL_LENGTHS:
        raise CompactCredentialError(
            VerificationFailure.PAYLOAD_INVALID, "The credential is not upper-case base32 without padding"
        )
    try:
        return base64.b32decode(body + "=" * (-len(body) % 8))
    except binascii.Error as exc:  # pragma: no cover - the checks above leave only decodable text
        raise CompactCredentialError(VerificationFailure.PAYLOAD_INVALID, "The credential is not base32") from exc
