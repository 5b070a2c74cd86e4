"""COSE_Sign1 with ES256 and P-256 COSE_Keys (crypto/cose.py), cross-checked with pycose and python-cwt."""

from __future__ import annotations

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cwt import COSE, COSEKey
from pycose.keys.ec2 import EC2Key
from pycose.messages.sign1message import Sign1Message

from openissuer.adapters.keys.software import SoftwareSigner
from openissuer.crypto.base64url import decode_base64url
from openissuer.crypto.cose import (
    CoseError,
    CoseSign1,
    _sig_structure,
    cose_key_from_jwk,
    create_cose_sign1,
    decode_cose_sign1,
    encode_cose_key,
    jwk_from_cose_key,
    verify_cose_sign1,
)
from openissuer.crypto.jwk import JwkError, jwk_from_public_key


@pytest.fixture
def signer() -> SoftwareSigner:
    return SoftwareSigner.generate().with_x5c([b"leaf-der"])


def test_the_structure_has_alg_es256_protected_and_a_single_x5chain_bstr(signer: SoftwareSigner) -> None:
    sign1 = create_cose_sign1(b"payload", signer)
    assert cbor2.loads(sign1.protected) == {1: -7}
    assert sign1.unprotected == {33: b"leaf-der"}
    assert len(sign1.signature) == 64
    decoded = cbor2.loads(sign1.encode())
    assert decoded == [sign1.protected, {33: b"leaf-der"}, b"payload", sign1.signature]
    assert cbor2.loads(sign1.encode(tagged=True)).tag == 18


def test_several_certificates_go_into_an_x5chain_array(signer: SoftwareSigner) -> None:
    sign1 = create_cose_sign1(b"p", signer.with_x5c([b"leaf", b"intermediate"]))
    assert sign1.unprotected[33] == [b"leaf", b"intermediate"]
    assert sign1.x5chain == [b"leaf", b"intermediate"]


def test_x5chain_is_required_unless_disabled() -> None:
    bare = SoftwareSigner.generate()
    with pytest.raises(CoseError, match="certificate chain"):
        create_cose_sign1(b"p", bare)
    assert create_cose_sign1(b"p", bare, include_x5chain=False).unprotected == {}


def test_create_then_verify_returns_the_payload(signer: SoftwareSigner) -> None:
    encoded = create_cose_sign1(b"payload", signer, extra_protected={4: b"kid"}).encode(tagged=True)
    assert verify_cose_sign1(encoded, signer.public_jwk) == b"payload"
    assert verify_cose_sign1(decode_cose_sign1(cbor2.loads(encoded).value), signer.public_jwk) == b"payload"


def test_verification_fails_for_another_key_payload_or_aad(signer: SoftwareSigner) -> None:
    sign1 = create_cose_sign1(b"payload", signer)
    with pytest.raises(CoseError):
        verify_cose_sign1(sign1, SoftwareSigner.generate().public_jwk)
    with pytest.raises(CoseError):
        verify_cose_sign1(CoseSign1(sign1.protected, sign1.unprotected, b"other", sign1.signature), signer.public_jwk)
    with pytest.raises(CoseError):
        verify_cose_sign1(sign1, signer.public_jwk, external_aad=b"aad")


def test_other_algorithms_and_crit_headers_are_refused(signer: SoftwareSigner) -> None:
    sign1 = create_cose_sign1(b"p", signer)
    for protected in ({1: -35}, {1: -7, 2: [99]}, {}):
        forged = CoseSign1(cbor2.dumps(protected) if protected else b"", {}, b"p", sign1.signature)
        with pytest.raises(CoseError):
            verify_cose_sign1(forged, signer.public_jwk)


@pytest.mark.parametrize(
    "data",
    [
        b"\xff",
        cbor2.dumps([1, 2, 3]),
        cbor2.dumps(cbor2.CBORTag(17, [b"", {}, b"", b""])),
        cbor2.dumps([b"", {}, None, b""]),
    ],
)
def test_malformed_messages_are_refused(data: bytes) -> None:
    with pytest.raises(CoseError):
        decode_cose_sign1(data)


def test_pycose_verifies_our_signature(signer: SoftwareSigner) -> None:
    encoded = create_cose_sign1(b"payload", signer).encode(tagged=True)
    message = Sign1Message.decode(encoded)
    jwk = signer.public_jwk
    message.key = EC2Key(crv="P_256", x=decode_base64url(jwk["x"]), y=decode_base64url(jwk["y"]))
    assert message.verify_signature()
    assert message.payload == b"payload"


def test_python_cwt_verifies_our_signature(signer: SoftwareSigner) -> None:
    encoded = create_cose_sign1(b"payload", signer).encode(tagged=True)
    key = COSEKey.from_jwk({**signer.public_jwk, "alg": "ES256"})
    assert COSE.new().decode(encoded, keys=key) == b"payload"


def test_we_verify_a_pycose_signature() -> None:
    private_key = ec.generate_private_key(ec.SECP256R1())
    numbers = private_key.private_numbers()
    key = EC2Key(
        crv="P_256",
        x=numbers.public_numbers.x.to_bytes(32, "big"),
        y=numbers.public_numbers.y.to_bytes(32, "big"),
        d=numbers.private_value.to_bytes(32, "big"),
    )
    message = Sign1Message(phdr={"ALG": "ES256"}, payload=b"from pycose", key=key)
    assert verify_cose_sign1(message.encode(), jwk_from_public_key(private_key.public_key())) == b"from pycose"


def test_cose_key_from_jwk_and_back(signer: SoftwareSigner) -> None:
    jwk = signer.public_jwk
    cose_key = cose_key_from_jwk(jwk)
    assert cose_key == {1: 2, -1: 1, -2: decode_base64url(jwk["x"]), -3: decode_base64url(jwk["y"])}
    assert jwk_from_cose_key(cose_key) == jwk


def test_cose_key_conversion_refuses_private_or_foreign_keys(signer: SoftwareSigner) -> None:
    with pytest.raises(JwkError):
        cose_key_from_jwk({**signer.public_jwk, "d": signer.public_jwk["x"]})
    with pytest.raises(JwkError):
        cose_key_from_jwk({**signer.public_jwk, "crv": "P-384"})
    cose_key = cose_key_from_jwk(signer.public_jwk)
    for bad in ({**cose_key, -4: b"\x01" * 32}, {**cose_key, -1: 2}, {**cose_key, 1: 1}, {**cose_key, -3: True}):
        with pytest.raises(JwkError):
            jwk_from_cose_key(bad)


@pytest.mark.parametrize("size", [0, 1, 23, 24, 255, 256, 65535, 65536, 70000])
def test_the_sig_structure_is_cbor2s_encoding_of_the_array(size: int) -> None:
    protected, aad, payload = b"\xa1\x01\x26", bytes(range(size % 256))[: size % 40], bytes(size)
    assert _sig_structure(protected, aad, payload) == cbor2.dumps(["Signature1", protected, aad, payload])


def test_the_encoded_cose_key_is_cbor2s_encoding_of_the_map(signer: SoftwareSigner) -> None:
    cose_key = cose_key_from_jwk(signer.public_jwk)
    assert encode_cose_key(cose_key[-2], cose_key[-3]) == cbor2.dumps(cose_key)
    with pytest.raises(JwkError):
        encode_cose_key(cose_key[-2][:31], cose_key[-3])
