"""COSE_Sign1 (RFC 9052 §4.2) with ES256, and P-256 COSE_Keys (RFC 9053 §7.1.1) converted from and to JWKs.

Only what openissuer signs is supported: protected header ``{1: -7}`` (plus optional extra members), the
certificate chain in the unprotected ``x5chain`` (RFC 9360, label 33), an attached payload. Verification accepts
ES256 only and refuses ``crit`` headers, because no extension is understood.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import cbor2

from openissuer.crypto.cbor_heads import MAJOR_ARRAY, MAJOR_BYTES, MAJOR_MAP, encode_head
from openissuer.crypto.ecdsa import InvalidSignatureError, verify_es256
from openissuer.crypto.jwk import JwkError, jwk_from_coordinates, parse_p256_public_jwk
from openissuer.crypto.signer import ES256, Signer

COSE_SIGN1_TAG = 18
HEADER_ALG = 1
HEADER_CRIT = 2
HEADER_KID = 4
HEADER_X5CHAIN = 33
ALG_ES256 = -7

COSE_KEY_KTY = 1
COSE_KEY_KTY_EC2 = 2
COSE_KEY_CRV = -1
COSE_KEY_CRV_P256 = 1
COSE_KEY_X = -2
COSE_KEY_Y = -3
_COSE_KEY_PRIVATE_D = -4


class CoseError(ValueError):
    """The COSE structure is malformed, uses an unsupported algorithm or its signature does not verify."""


@dataclass(frozen=True)
class CoseSign1:
    """A COSE_Sign1 message; ``protected`` is the serialized protected header exactly as signed."""

    protected: bytes
    unprotected: Mapping[int, Any] = field(default_factory=dict)
    payload: bytes = b""
    signature: bytes = b""

    def to_array(self) -> list[Any]:
        """Return the untagged COSE_Sign1 array, ready to embed in another CBOR structure (e.g. issuerAuth)."""
        return [self.protected, dict(self.unprotected), self.payload, self.signature]

    def encode(self, *, tagged: bool = False) -> bytes:
        """Return the CBOR encoding, optionally as ``COSE_Sign1_Tagged`` (tag 18)."""
        array = self.to_array()
        return cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, array) if tagged else array)

    @property
    def x5chain(self) -> list[bytes]:
        """Return the DER certificates of the unprotected ``x5chain`` header, leaf first (empty when absent)."""
        value = self.unprotected.get(HEADER_X5CHAIN)
        if value is None:
            return []
        if isinstance(value, bytes):
            return [value]
        if isinstance(value, Sequence) and value and all(isinstance(item, bytes) for item in value):
            return list(value)
        raise CoseError("x5chain must be a bstr or an array of bstr")


def create_cose_sign1(
    payload: bytes,
    signer: Signer,
    *,
    include_x5chain: bool = True,
    extra_protected: Mapping[int, Any] | None = None,
    external_aad: bytes = b"",
) -> CoseSign1:
    """Sign ``payload`` into a COSE_Sign1 with ES256 (RFC 9052 §4.4).

    The protected header is ``{1: -7}`` plus ``extra_protected``; the unprotected header carries the signer's
    ``x5c`` as ``x5chain`` — "a single certificate is a bstr, several are an array" (RFC 9360 §2).
    """
    if signer.alg != ES256:
        raise CoseError(f"unsupported signer algorithm {signer.alg!r}; only ES256 is supported")
    protected = _ES256_PROTECTED
    if extra_protected:
        if HEADER_ALG in extra_protected:
            raise CoseError("the alg header is set from the signer")
        protected = cbor2.dumps({HEADER_ALG: ALG_ES256, **extra_protected})
    unprotected: dict[int, Any] = {}
    if include_x5chain:
        chain = signer.x5c
        if not chain:
            raise CoseError("the signer has no certificate chain for x5chain")
        unprotected[HEADER_X5CHAIN] = chain[0] if len(chain) == 1 else list(chain)
    signature = signer.sign(_sig_structure(protected, external_aad, payload))
    return CoseSign1(protected=protected, unprotected=unprotected, payload=payload, signature=signature)


def decode_cose_sign1(data: bytes | Sequence[Any] | cbor2.CBORTag) -> CoseSign1:
    """Parse a COSE_Sign1 from CBOR bytes, a decoded array or a tag-18 value, checking its shape only."""
    obj: Any = data
    if isinstance(obj, bytes):
        try:
            obj = cbor2.loads(obj)
        except (cbor2.CBORDecodeError, ValueError) as exc:
            raise CoseError("not CBOR") from exc
    if isinstance(obj, cbor2.CBORTag):
        if obj.tag != COSE_SIGN1_TAG:
            raise CoseError(f"unexpected CBOR tag {obj.tag}")
        obj = obj.value
    if not isinstance(obj, Sequence) or isinstance(obj, (bytes, str)) or len(obj) != 4:
        raise CoseError("COSE_Sign1 must be an array of four elements")
    protected, unprotected, payload, signature = obj
    if not isinstance(protected, bytes) or not isinstance(unprotected, Mapping):
        raise CoseError("COSE_Sign1 headers must be a bstr and a map")
    if not isinstance(payload, bytes) or not isinstance(signature, bytes):
        raise CoseError("COSE_Sign1 payload and signature must be bstr (detached payloads are not supported)")
    return CoseSign1(protected=protected, unprotected=dict(unprotected), payload=payload, signature=signature)


def verify_cose_sign1(
    message: CoseSign1 | bytes, public_jwk: Mapping[str, object], *, external_aad: bytes = b""
) -> bytes:
    """Check an ES256 COSE_Sign1 against ``public_jwk`` and return its payload; raise CoseError otherwise.

    RFC 9052 §3.1: "The 'crit' parameter ... the recipient MUST reject the message if it does not understand"
    a listed label; openissuer understands none, so any ``crit`` is refused.
    """
    sign1 = message if isinstance(message, CoseSign1) else decode_cose_sign1(message)
    header = decode_protected_header(sign1.protected)
    if header.get(HEADER_ALG) != ALG_ES256:
        raise CoseError("the protected alg must be ES256 (-7)")
    if HEADER_CRIT in header:
        raise CoseError("critical COSE header parameters are not supported")
    try:
        verify_es256(public_jwk, _sig_structure(sign1.protected, external_aad, sign1.payload), sign1.signature)
    except (InvalidSignatureError, JwkError) as exc:
        raise CoseError("the COSE_Sign1 signature does not verify") from exc
    return sign1.payload


def decode_protected_header(protected: bytes) -> dict[Any, Any]:
    """Decode a serialized protected header; a zero-length bstr means the empty map (RFC 9052 §3)."""
    if not protected:
        return {}
    try:
        header = cbor2.loads(protected)
    except (cbor2.CBORDecodeError, ValueError) as exc:
        raise CoseError("the protected header is not CBOR") from exc
    if not isinstance(header, Mapping):
        raise CoseError("the protected header must be a map")
    return dict(header)


def cose_key_from_jwk(jwk: Mapping[str, object]) -> dict[int, int | bytes]:
    """Convert a P-256 public JWK into the EC2 COSE_Key ``{1: 2, -1: 1, -2: x, -3: y}`` (RFC 9053 §7.1.1)."""
    return cose_key_from_coordinates(*parse_p256_public_jwk(jwk))


def cose_key_from_coordinates(x: bytes, y: bytes) -> dict[int, int | bytes]:
    """Return the EC2 P-256 COSE_Key of the (already validated) public point ``(x, y)`` (RFC 9053 §7.1.1)."""
    return {COSE_KEY_KTY: COSE_KEY_KTY_EC2, COSE_KEY_CRV: COSE_KEY_CRV_P256, COSE_KEY_X: x, COSE_KEY_Y: y}


def jwk_from_cose_key(cose_key: Mapping[Any, Any]) -> dict[str, str]:
    """Convert an EC2 P-256 public COSE_Key into a JWK; raise JwkError for other keys or a private ``d``."""
    if cose_key.get(COSE_KEY_KTY) != COSE_KEY_KTY_EC2 or cose_key.get(COSE_KEY_CRV) != COSE_KEY_CRV_P256:
        raise JwkError("the COSE_Key must be EC2 on P-256")
    if _COSE_KEY_PRIVATE_D in cose_key:
        raise JwkError("the COSE_Key must not contain the private key")
    x, y = cose_key.get(COSE_KEY_X), cose_key.get(COSE_KEY_Y)
    if not isinstance(x, bytes) or not isinstance(y, bytes):
        raise JwkError("the COSE_Key x and y must be byte strings (compressed points are not supported)")
    jwk = jwk_from_coordinates(x, y)
    parse_p256_public_jwk(jwk)  # the point must be on the curve
    return jwk


_ES256_PROTECTED = cbor2.dumps({HEADER_ALG: ALG_ES256})  # the usual protected header, encoded once


def _sig_structure(protected: bytes, external_aad: bytes, payload: bytes) -> bytes:
    # RFC 9052 §4.4: Sig_structure = ["Signature1", body_protected, external_aad, payload], assembled from its parts
    # (byte for byte cbor2's encoding, which the unit tests compare): it is built for every signature and every
    # verification, and carries the whole payload.
    return b"".join(
        (
            _SIG_STRUCTURE_START,
            encode_head(MAJOR_BYTES, len(protected)),
            protected,
            encode_head(MAJOR_BYTES, len(external_aad)),
            external_aad,
            encode_head(MAJOR_BYTES, len(payload)),
            payload,
        )
    )


def encode_cose_key(x: bytes, y: bytes) -> bytes:
    """Return the CBOR of ``cose_key_from_coordinates(x, y)`` (32-byte coordinates), assembled from its parts."""
    if len(x) != _COORDINATE_SIZE or len(y) != _COORDINATE_SIZE:
        raise JwkError(f"P-256 coordinates must be {_COORDINATE_SIZE} bytes each")
    return b"".join((_COSE_KEY_START, x, _COSE_KEY_Y, y))


_COORDINATE_SIZE = 32
_SIG_STRUCTURE_START = encode_head(MAJOR_ARRAY, 4) + cbor2.dumps("Signature1")
_COSE_KEY_START = (
    encode_head(MAJOR_MAP, 4)
    + b"".join(cbor2.dumps(item) for item in (COSE_KEY_KTY, COSE_KEY_KTY_EC2, COSE_KEY_CRV, COSE_KEY_CRV_P256))
    + cbor2.dumps(COSE_KEY_X)
    + encode_head(MAJOR_BYTES, _COORDINATE_SIZE)
)
_COSE_KEY_Y = cbor2.dumps(COSE_KEY_Y) + encode_head(MAJOR_BYTES, _COORDINATE_SIZE)
