"""IETF Token Status List (draft-ietf-oauth-status-list): the compressed byte array and the Status List Token in
its CWT form (mDocs) and JWT form (SD-JWT VCs). Pure functions of the statuses, the times and a Signer.

- §4.1: "Each index identifies a contiguous block of bits in the byte array, with the blocks being packed into
  bytes from the least significant bit ("0") to the most significant bit ("7")"; the array is compressed "using
  DEFLATE with the ZLIB data format", at the highest level.
- §5.1 (JWT): header ``typ`` ``statuslist+jwt``; claims ``sub`` (the token's URI, equal to the credentials'
  ``status_list.uri``), ``iat``, ``exp``, ``ttl`` and ``status_list {bits, lst}`` (``lst`` base64url).
- §5.2 (CWT): a ``COSE_Sign1_Tagged`` message, not CWT-tagged, whose protected header has ``16`` (typ)
  ``application/statuslist+cwt``; claims ``2`` (sub), ``6`` (iat), ``4`` (exp), ``65534`` (ttl) and ``65533``
  (status list ``{"bits", "lst"}``, ``lst`` a byte string).

Both forms carry the signer's certificate (``x5chain`` in the protected header, ``x5c``), a status list signer
certified by the IACA that certified the credentials' signer, so a verifier chains it to the same trust anchor.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import cbor2

from openissuer.crypto.base64url import encode_base64url
from openissuer.crypto.cose import HEADER_X5CHAIN, create_cose_sign1
from openissuer.crypto.jws_signing import encode_x5c, sign_compact_jws
from openissuer.crypto.signer import ES256, Signer

CWT_MEDIA_TYPE = "application/statuslist+cwt"
JWT_MEDIA_TYPE = "application/statuslist+jwt"
JWT_TYP = "statuslist+jwt"
HEADER_TYP = 16  # RFC 9596
CLAIM_SUB, CLAIM_EXP, CLAIM_IAT = 2, 4, 6
CLAIM_STATUS_LIST, CLAIM_TTL = 65533, 65534
BITS = (1, 2, 4, 8)


@dataclass(frozen=True)
class StatusListToken:
    """What a Status List Token says besides its statuses: its URI, its times (seconds) and its ``ttl``."""

    uri: str
    issued_at: datetime
    expires_at: datetime
    time_to_live: int
    issuer: str | None = None


def choose_bits(values: Mapping[int, int]) -> int:
    """Return the fewest bits (1, 2, 4 or 8) that hold every status value (§7: "The issuer of the Status List MUST
    choose an adequate bits value")."""
    largest = max(values.values(), default=0)
    return next(bits for bits in BITS if largest < 1 << bits)


def create_status_bytes(size: int, bits: int, values: Mapping[int, int]) -> bytes:
    """Return the uncompressed byte array of ``size`` entries of ``bits`` each; ``values`` maps the entries that are
    not 0 to their value (§4.1)."""
    if bits not in BITS:
        raise ValueError("bits must be 1, 2, 4 or 8")
    per_byte = 8 // bits
    array = bytearray(-(-size // per_byte))
    for index, value in values.items():
        if not 0 <= index < size or not 0 <= value < 1 << bits:
            raise ValueError(f"entry {index} = {value} does not fit a list of {size} entries of {bits} bits")
        array[index // per_byte] |= value << (index % per_byte) * bits
    return bytes(array)


def compress_status_bytes(array: bytes) -> bytes:
    """Return the ZLIB (DEFLATE) form of the byte array, at the highest compression level (§4.1 step 4)."""
    return zlib.compress(array, 9)


def create_status_list_cwt(token: StatusListToken, bits: int, lst: bytes, signer: Signer) -> bytes:
    """Return a Status List Token in CWT form (§5.2), signed by ``signer`` (ES256, its ``x5c`` as ``x5chain``)."""
    claims = {
        CLAIM_SUB: token.uri,
        CLAIM_IAT: int(token.issued_at.timestamp()),
        CLAIM_EXP: int(token.expires_at.timestamp()),
        CLAIM_TTL: token.time_to_live,
        CLAIM_STATUS_LIST: {"bits": bits, "lst": lst},
    }
    chain = signer.x5c
    protected: dict[int, object] = {HEADER_TYP: CWT_MEDIA_TYPE}
    if chain:
        protected[HEADER_X5CHAIN] = chain[0] if len(chain) == 1 else list(chain)
    message = create_cose_sign1(cbor2.dumps(claims), signer, include_x5chain=False, extra_protected=protected)
    return message.encode(tagged=True)


def create_status_list_jwt(token: StatusListToken, bits: int, lst: bytes, signer: Signer) -> str:
    """Return a Status List Token in JWT form (§5.1), signed by ``signer`` (ES256, its ``x5c``)."""
    if signer.alg != ES256:
        raise ValueError(f"status list tokens are signed with ES256, not {signer.alg}")
    header: dict[str, object] = {"alg": ES256, "typ": JWT_TYP}
    if signer.x5c:
        header["x5c"] = encode_x5c(signer.x5c)
    payload: dict[str, object] = {
        "sub": token.uri,
        "iat": int(token.issued_at.timestamp()),
        "exp": int(token.expires_at.timestamp()),
        "ttl": token.time_to_live,
        "status_list": {"bits": bits, "lst": encode_base64url(lst)},
    }
    if token.issuer:
        payload["iss"] = token.issuer
    return sign_compact_jws(header, payload, signer)


def create_status_list_token(
    media_type: str, token: StatusListToken, size: int, values: Mapping[int, int], signer: Signer
) -> bytes:
    """Return the signed token of ``media_type`` (CWT or JWT form) over a list of ``size`` entries, the bytes of
    an HTTP response body."""
    bits = choose_bits(values)
    lst = compress_status_bytes(create_status_bytes(size, bits, values))
    if media_type == CWT_MEDIA_TYPE:
        return create_status_list_cwt(token, bits, lst, signer)
    if media_type == JWT_MEDIA_TYPE:
        return create_status_list_jwt(token, bits, lst, signer).encode("ascii")
    raise ValueError(f"unknown status list token type {media_type!r}")
