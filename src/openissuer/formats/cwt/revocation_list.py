"""The wire format of a CWT revocation list (reference §10.2; the document itself is "not captured" there).

openissuer follows what the reference platform's own sample code reads from its public list endpoint
(``manual-revocation-check.js`` in its sample apps): the response body is a CWT, a tagged COSE_Sign1 whose claims
hold the list under the private label -65538 as a gzip-compressed bitstring, where entry ``i`` is bit
``7 - i % 8`` of byte ``i // 8`` (the most significant bit first) and 1 means revoked. openissuer's list CWT:

- protected header ``{1: -7, 4: kid}``: ES256 by a key of the issuer's DID document, as its credentials;
- claims ``{1: iss (the issuer's did:web), 2: sub (the list's URL), 6: iat, 4: exp, -65538: gzip(bitstring)}``;
  the bitstring has ``size / 8`` bytes (125,000 for the 1,000,000 entries of a list).
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterable, Mapping

import cbor2

from openissuer.domain.compact_credentials import CompactCredentialError, VerificationFailure

REVOCATION_LIST = -65538
ISS, SUB, EXP, IAT = 1, 2, 4, 6
MAX_BITSTRING_BYTES = 1_000_000 // 8
_GZIP_WBITS = 31


def create_bitstring(size: int, revoked: Iterable[int]) -> bytes:
    """Return the bitstring of a list of ``size`` entries with the ``revoked`` entries set."""
    bits = bytearray((size + 7) // 8)
    for index in revoked:
        bits[index // 8] |= 0x80 >> (index % 8)
    return bytes(bits)


def encode_list_claims(issuer: str, url: str, issued_at: int, expires_at: int, bitstring: bytes) -> bytes:
    """Return the CBOR claims of a revocation list CWT."""
    compressed = gzip.compress(bitstring, compresslevel=9, mtime=0)
    return cbor2.dumps({ISS: issuer, SUB: url, IAT: issued_at, EXP: expires_at, REVOCATION_LIST: compressed})


def decode_list_claims(payload: bytes) -> tuple[str, str, int, int, bytes]:
    """Return ``(iss, url, iat, exp, bitstring)`` of a list CWT's claims; at most 125,000 bytes are inflated."""
    try:
        claims = cbor2.loads(payload)
    except (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError) as exc:
        raise _invalid("The revocation list claims are not CBOR") from exc
    if not isinstance(claims, Mapping):
        raise _invalid("The revocation list claims must be a map")
    issuer, url, iat, exp, compressed = (claims.get(k) for k in (ISS, SUB, IAT, EXP, REVOCATION_LIST))
    if not isinstance(issuer, str) or not isinstance(compressed, bytes):
        raise _invalid("The revocation list has no issuer or no list")
    inflater = zlib.decompressobj(wbits=_GZIP_WBITS)
    try:
        bitstring = inflater.decompress(compressed, MAX_BITSTRING_BYTES + 1)
    except zlib.error as exc:
        raise _invalid("The revocation list is not gzip") from exc
    if len(bitstring) > MAX_BITSTRING_BYTES or inflater.unconsumed_tail:
        raise _invalid("The revocation list is longer than 1,000,000 entries")
    return (
        issuer,
        url if isinstance(url, str) else "",
        iat if isinstance(iat, int) and not isinstance(iat, bool) else 0,
        exp if isinstance(exp, int) and not isinstance(exp, bool) else 0,
        bitstring,
    )


def _invalid(message: str) -> CompactCredentialError:
    return CompactCredentialError(VerificationFailure.REVOCATION_STATUS_UNKNOWN, message)
