"""P-256 JWKs, ES256 signature forms and base64url (crypto/jwk.py, crypto/ecdsa.py, crypto/base64url.py)."""

from __future__ import annotations

import base64
import os

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given
from hypothesis import strategies as st
from joserfc.jwk import ECKey

from openissuer.crypto.base64url import decode_base64url, encode_base64url, encode_base64url_each
from openissuer.crypto.ecdsa import (
    InvalidSignatureError,
    der_signature_from_raw,
    raw_signature_from_der,
    verify_es256,
)
from openissuer.crypto.jwk import (
    JwkError,
    compute_jwk_thumbprint,
    jwk_from_public_key,
    parse_p256_public_jwk,
    public_key_from_jwk,
)


@pytest.fixture
def private_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.mark.parametrize("data", [b"", b"\xfa", b"\xfa\xfb", b"\xfa\xfb\xfc", b"\xff" * 31])
def test_base64url_round_trip_without_padding(data: bytes) -> None:
    text = encode_base64url(data)
    assert "=" not in text
    assert "+" not in text
    assert "/" not in text
    assert decode_base64url(text) == data


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 31, 32, 33, 64])
@pytest.mark.parametrize("count", [0, 1, 2, 3, 18])
def test_encoding_values_together_gives_each_ones_own_encoding(size: int, count: int) -> None:
    values = [os.urandom(size) for _ in range(count - 1)] + [b"\xff" * size] * (count > 0)
    assert encode_base64url_each(values, size) == [encode_base64url(value) for value in values]
    with pytest.raises(ValueError, match="bytes"):
        encode_base64url_each([*values, bytes(size + 1)], size)
    with pytest.raises(ValueError, match="at least one byte"):
        encode_base64url_each([b""] * count, 0)


@pytest.mark.parametrize("text", ["YQ==", "a+b/", "abcde", "a b"])
def test_base64url_rejects_padding_and_foreign_characters(text: str) -> None:
    with pytest.raises(ValueError):
        decode_base64url(text)


def test_jwk_round_trips_through_the_public_key(private_key: ec.EllipticCurvePrivateKey) -> None:
    jwk = jwk_from_public_key(private_key.public_key())
    assert set(jwk) == {"kty", "crv", "x", "y"}
    assert public_key_from_jwk(jwk).public_numbers() == private_key.public_key().public_numbers()
    x, y = parse_p256_public_jwk(jwk)
    assert len(x) == len(y) == 32


def test_thumbprint_matches_joserfc(private_key: ec.EllipticCurvePrivateKey) -> None:
    jwk = jwk_from_public_key(private_key.public_key())
    assert compute_jwk_thumbprint({**jwk, "kid": "ignored", "use": "sig"}) == ECKey.import_key(dict(jwk)).thumbprint()


def _mutated(jwk: dict[str, str], **changes: str | None) -> dict[str, str]:
    result = dict(jwk)
    for name, value in changes.items():
        if value is None:
            result.pop(name)
        else:
            result[name] = value
    return result


@pytest.mark.parametrize(
    "changes",
    [
        {"kty": "OKP"},
        {"crv": "P-384"},
        {"x": None},
        {"x": encode_base64url(b"\x01" * 31)},
        {"y": "not base64!"},
        {"d": encode_base64url(b"\x01" * 32)},
        {"y": encode_base64url(b"\x01" * 32)},  # not on the curve
    ],
)
def test_invalid_public_jwks_are_refused(private_key: ec.EllipticCurvePrivateKey, changes: dict[str, str]) -> None:
    with pytest.raises(JwkError):
        parse_p256_public_jwk(_mutated(jwk_from_public_key(private_key.public_key()), **changes))


def test_other_curves_are_refused() -> None:
    with pytest.raises(JwkError):
        jwk_from_public_key(ec.generate_private_key(ec.SECP384R1()).public_key())


def test_raw_and_der_signatures_convert_both_ways(private_key: ec.EllipticCurvePrivateKey) -> None:
    der = private_key.sign(b"data", ec.ECDSA(hashes.SHA256()))
    raw = raw_signature_from_der(der)
    assert len(raw) == 64
    assert der_signature_from_raw(raw) == der
    verify_es256(jwk_from_public_key(private_key.public_key()), b"data", raw)


def test_es256_verification_fails_for_other_data_or_bad_length(private_key: ec.EllipticCurvePrivateKey) -> None:
    jwk = jwk_from_public_key(private_key.public_key())
    raw = raw_signature_from_der(private_key.sign(b"data", ec.ECDSA(hashes.SHA256())))
    with pytest.raises(InvalidSignatureError):
        verify_es256(jwk, b"other", raw)
    with pytest.raises(InvalidSignatureError):
        verify_es256(jwk, b"data", raw[:-1])


@given(st.binary(max_size=300))
def test_base64url_encoding_is_the_standard_library_s_without_padding(data: bytes) -> None:
    assert encode_base64url(data) == base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
