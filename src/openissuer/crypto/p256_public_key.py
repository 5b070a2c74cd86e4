"""One P-256 public key, decoded and checked once, with every form the issuer needs derived from it once.

A holder's proof key arrives on every credential request as a JWK (or in an ``x5c`` certificate) and is then needed
as a ``cryptography`` key (to verify the proof), as a canonical JWK (the issuance record), as its RFC 7638
thumbprint (a batch's distinct keys, the record) and as a COSE_Key (an mDoc's ``deviceKey``). Decoding the JWK
again for each of them costs a base64url decode and an on-curve check (~10 µs) each time, so the key is decoded
into this value once, where the proof is verified, and the value is passed on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from cryptography.hazmat.primitives.asymmetric import ec

from openissuer.crypto.base64url import encode_base64url
from openissuer.crypto.cose import cose_key_from_coordinates, encode_cose_key
from openissuer.crypto.ecdsa import verify_es256_with_key
from openissuer.crypto.jwk import (
    P256_COORDINATE_SIZE,
    JwkError,
    compute_p256_thumbprint,
    public_key_from_coordinates,
    read_p256_coordinates,
)


@dataclass(frozen=True)
class P256PublicKey:
    """A point on P-256, checked when the value is made: every instance is a valid public key.

    Equal when the coordinates are equal. ``jwk`` and ``cose_key`` return fresh dicts, so no holder of the value
    can change what another one sees; ``thumbprint`` is computed on first use and kept.
    """

    x: bytes
    y: bytes
    _key: ec.EllipticCurvePublicKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.x) != P256_COORDINATE_SIZE or len(self.y) != P256_COORDINATE_SIZE:
            raise JwkError(f"P-256 coordinates must be {P256_COORDINATE_SIZE} bytes each")
        object.__setattr__(self, "_key", public_key_from_coordinates(self.x, self.y))  # the on-curve check

    @classmethod
    def from_jwk(cls, jwk: Mapping[str, object]) -> P256PublicKey:
        """Decode a P-256 public JWK (RFC 7518 §6.2.1; private members refused); raise JwkError if it is not one.

        Members other than ``kty``, ``crv``, ``x``, ``y`` (``kid``, ``use``, ``alg``) are ignored.
        """
        return cls(*read_p256_coordinates(jwk))

    @property
    def jwk(self) -> dict[str, str]:
        """The canonical public JWK ``{kty, crv, x, y}``, a fresh dict on each access."""
        x, y = self._encoded_coordinates
        return {"kty": "EC", "crv": "P-256", "x": x, "y": y}

    @property
    def cose_key(self) -> dict[int, int | bytes]:
        """The EC2 COSE_Key ``{1: 2, -1: 1, -2: x, -3: y}`` (RFC 9053 §7.1.1), a fresh dict on each access."""
        return cose_key_from_coordinates(self.x, self.y)

    @cached_property
    def cose_key_bytes(self) -> bytes:
        """The CBOR encoding of ``cose_key`` (what an mDoc's MSO carries as ``deviceKey``), made on first use."""
        return encode_cose_key(self.x, self.y)

    @cached_property
    def thumbprint(self) -> str:
        """The RFC 7638 SHA-256 thumbprint, base64url."""
        return compute_p256_thumbprint(self.x, self.y)

    def verify_es256(self, data: bytes, raw_signature: bytes) -> None:
        """Check a raw ``r || s`` ES256 signature over ``data``; raise InvalidSignatureError when it fails."""
        verify_es256_with_key(self._key, data, raw_signature)

    @cached_property
    def _encoded_coordinates(self) -> tuple[str, str]:
        return encode_base64url(self.x), encode_base64url(self.y)
