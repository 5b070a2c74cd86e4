"""The software key adapter (adapters/keys/software.py): a Signer over an in-memory P-256 key, stored sealed."""

from __future__ import annotations

import pickle

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from openissuer.adapters.keys.software import SoftwareKeyError, SoftwareSigner
from openissuer.crypto.base64url import encode_base64url
from openissuer.crypto.ecdsa import verify_es256
from openissuer.crypto.envelope import EnvelopeError, seal
from openissuer.crypto.jwk import compute_jwk_thumbprint
from openissuer.crypto.signer import Signer

MASTER_KEY = b"k" * 32


def test_it_implements_the_signer_protocol() -> None:
    signer = SoftwareSigner.generate()
    assert isinstance(signer, Signer)
    assert signer.alg == "ES256"
    assert signer.x5c == []
    assert signer.kid == compute_jwk_thumbprint(signer.public_jwk)


def test_signatures_are_raw_64_bytes_and_verify_with_the_public_jwk() -> None:
    signer = SoftwareSigner.generate()
    signature = signer.sign(b"to be signed")
    assert len(signature) == 64
    verify_es256(signer.public_jwk, b"to be signed", signature)


def test_public_jwk_and_x5c_are_copies() -> None:
    signer = SoftwareSigner.generate(kid="k1").with_x5c([b"cert"])
    signer.public_jwk["x"] = "changed"
    signer.x5c.append(b"other")
    assert signer.public_jwk["x"] != "changed"
    assert signer.x5c == [b"cert"]
    assert signer.kid == "k1"


def test_sealed_export_round_trips_to_the_same_key() -> None:
    signer = SoftwareSigner.generate()
    sealed = signer.export_sealed(MASTER_KEY, aad=b"tenant/1/signer/7")
    restored = SoftwareSigner.from_sealed(MASTER_KEY, sealed, aad=b"tenant/1/signer/7", x5c=[b"cert"])
    assert restored.public_jwk == signer.public_jwk
    assert restored.x5c == [b"cert"]
    verify_es256(signer.public_jwk, b"m", restored.sign(b"m"))


def test_the_sealed_export_contains_no_clear_key_material() -> None:
    private_key = ec.generate_private_key(ec.SECP256R1())
    scalar = private_key.private_numbers().private_value.to_bytes(32, "big")
    sealed = SoftwareSigner(private_key).export_sealed(MASTER_KEY, aad=b"a")
    assert scalar not in sealed


def test_import_with_a_wrong_aad_or_key_fails() -> None:
    sealed = SoftwareSigner.generate().export_sealed(MASTER_KEY, aad=b"a")
    with pytest.raises(EnvelopeError):
        SoftwareSigner.from_sealed(MASTER_KEY, sealed, aad=b"b")
    with pytest.raises(EnvelopeError):
        SoftwareSigner.from_sealed(b"x" * 32, sealed, aad=b"a")


def test_import_of_sealed_non_key_bytes_fails() -> None:
    with pytest.raises(SoftwareKeyError):
        SoftwareSigner.from_sealed(MASTER_KEY, seal(MASTER_KEY, b"not a key", aad=b"a"), aad=b"a")


def test_repr_and_str_show_no_key_material() -> None:
    private_key = ec.generate_private_key(ec.SECP256R1())
    signer = SoftwareSigner(private_key, kid="signer-1")
    scalar = private_key.private_numbers().private_value
    for text in (repr(signer), str(signer)):
        assert text == "SoftwareSigner(alg='ES256', kid='signer-1')"
        assert str(scalar) not in text
        assert encode_base64url(scalar.to_bytes(32, "big")) not in text


def test_it_cannot_be_pickled() -> None:
    with pytest.raises(TypeError):
        pickle.dumps(SoftwareSigner.generate())


def test_only_p256_keys_are_accepted() -> None:
    with pytest.raises(SoftwareKeyError):
        SoftwareSigner(ec.generate_private_key(ec.SECP384R1()))
