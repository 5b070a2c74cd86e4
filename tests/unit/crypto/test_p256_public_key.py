"""The typed P-256 public key (crypto/p256_public_key.py): decoded once, its JWK, COSE_Key and thumbprint derived."""

from __future__ import annotations

from typing import Any

import cbor2
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc.jwk import ECKey

from openissuer.crypto import p256_public_key
from openissuer.crypto.base64url import encode_base64url
from openissuer.crypto.cose import cose_key_from_jwk, jwk_from_cose_key
from openissuer.crypto.ecdsa import InvalidSignatureError, raw_signature_from_der
from openissuer.crypto.jwk import JwkError, compute_jwk_thumbprint, jwk_from_public_key
from openissuer.crypto.p256_public_key import P256PublicKey


@pytest.fixture
def private_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def jwk(private_key: ec.EllipticCurvePrivateKey) -> dict[str, str]:
    return jwk_from_public_key(private_key.public_key())


def test_a_jwk_becomes_a_key_with_the_canonical_jwk(jwk: dict[str, str]) -> None:
    key = P256PublicKey.from_jwk({**jwk, "kid": "k1", "use": "sig", "alg": "ES256"})
    assert key.jwk == jwk
    assert list(key.jwk) == ["kty", "crv", "x", "y"]
    assert (encode_base64url(key.x), encode_base64url(key.y)) == (jwk["x"], jwk["y"])
    assert key == P256PublicKey.from_jwk(jwk)
    assert hash(key) == hash(P256PublicKey(key.x, key.y))


@pytest.mark.parametrize("_", range(5))
def test_the_thumbprint_is_joserfcs(_: int) -> None:
    jwk = jwk_from_public_key(ec.generate_private_key(ec.SECP256R1()).public_key())
    key = P256PublicKey.from_jwk(jwk)
    assert key.thumbprint == ECKey.import_key(dict(jwk)).thumbprint() == compute_jwk_thumbprint(jwk)


def test_the_cose_key_is_the_ec2_p256_cose_key(jwk: dict[str, str]) -> None:
    key = P256PublicKey.from_jwk(jwk)
    assert key.cose_key == {1: 2, -1: 1, -2: key.x, -3: key.y} == cose_key_from_jwk(jwk)
    assert jwk_from_cose_key(key.cose_key) == jwk
    assert cbor2.loads(key.cose_key_bytes) == key.cose_key


def test_derived_forms_are_fresh_copies(jwk: dict[str, str]) -> None:
    key = P256PublicKey.from_jwk(jwk)
    key.jwk["x"] = "changed"
    key.cose_key[-2] = b"changed"
    assert key.jwk == jwk
    assert key.cose_key[-2] == key.x


def test_the_point_is_decoded_and_checked_once(monkeypatch: pytest.MonkeyPatch, jwk: dict[str, str]) -> None:
    decodings: list[bytes] = []
    thumbprints: list[bytes] = []
    decode, thumbprint = p256_public_key.public_key_from_coordinates, p256_public_key.compute_p256_thumbprint

    def counted_decode(x: bytes, y: bytes) -> Any:
        decodings.append(x)
        return decode(x, y)

    def counted_thumbprint(x: bytes, y: bytes) -> str:
        thumbprints.append(x)
        return thumbprint(x, y)

    monkeypatch.setattr(p256_public_key, "public_key_from_coordinates", counted_decode)
    monkeypatch.setattr(p256_public_key, "compute_p256_thumbprint", counted_thumbprint)
    key = P256PublicKey.from_jwk(jwk)
    for _ in range(3):
        assert (key.jwk, key.cose_key[-3], key.thumbprint) == (jwk, key.y, compute_jwk_thumbprint(jwk))
    assert (len(decodings), len(thumbprints)) == (1, 1)


def test_signatures_verify_with_the_key(private_key: ec.EllipticCurvePrivateKey, jwk: dict[str, str]) -> None:
    key = P256PublicKey.from_jwk(jwk)
    signature = raw_signature_from_der(private_key.sign(b"data", ec.ECDSA(hashes.SHA256())))
    key.verify_es256(b"data", signature)
    with pytest.raises(InvalidSignatureError):
        key.verify_es256(b"other data", signature)
    with pytest.raises(InvalidSignatureError):
        key.verify_es256(b"data", signature[:-1])


@pytest.mark.parametrize(
    "changes",
    [
        {"kty": "OKP"},
        {"crv": "P-384"},
        {"x": None},
        {"x": encode_base64url(b"\x01" * 31)},
        {"y": "not base64!"},
        {"y": 7},
        {"d": encode_base64url(b"\x01" * 32)},
        {"y": encode_base64url(b"\x01" * 32)},  # not on the curve
    ],
)
def test_other_jwks_are_refused(jwk: dict[str, str], changes: dict[str, Any]) -> None:
    mutated: dict[str, Any] = {**jwk, **{name: value for name, value in changes.items() if value is not None}}
    for name in [name for name, value in changes.items() if value is None]:
        mutated.pop(name)
    with pytest.raises(JwkError):
        P256PublicKey.from_jwk(mutated)


@pytest.mark.parametrize(("x", "y"), [(b"\x01" * 32, b"\x01" * 32), (b"\x01" * 31, b"\x01" * 32), (b"", b"")])
def test_coordinates_off_the_curve_or_of_the_wrong_size_are_refused(x: bytes, y: bytes) -> None:
    with pytest.raises(JwkError):
        P256PublicKey(x, y)
