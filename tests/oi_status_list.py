"""An IETF Token Status List verifier written from draft-ietf-oauth-status-list (§5, §8.3 validation rules) with
independent implementations only: ``pycose`` (COSE_Sign1), ``jwcrypto`` (JWS), ``cryptography`` (the signer's chain
to the IACA), ``zlib`` and the ``token-status-list`` package's ``BitArray`` (reading the entry). None of the
server's code is used here.
"""

from __future__ import annotations

import base64
import json
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwcrypto.jwk import JWK
from jwcrypto.jws import JWS
from pycose.keys import EC2Key
from pycose.keys.curves import P256
from pycose.messages import Sign1Message
from token_status_list import BitArray

STATUS_NAMES = {0: "valid", 1: "invalid", 2: "suspended"}


@dataclass
class StatusRead:
    """What a verifier learns from a token: the entry's status, and the token's claims and signer."""

    status: str
    bits: int
    claims: dict[str, Any]
    signer: x509.Certificate


def _check_chain(leaf_der: bytes, iaca_pem: str) -> x509.Certificate:
    """The status list signer is an end-entity certificate issued by the IACA (its signature and name), valid now,
    for digitalSignature."""
    leaf = x509.load_der_x509_certificate(leaf_der)
    iaca = x509.load_pem_x509_certificate(iaca_pem.encode())
    leaf.verify_directly_issued_by(iaca)
    now = datetime.now(UTC)
    assert leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc
    constraints = [e.value for e in leaf.extensions if isinstance(e.value, x509.BasicConstraints)]
    assert not any(c.ca for c in constraints)  # an end-entity certificate
    assert leaf.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
    return leaf


def _status_at(bits: int, compressed: bytes, index: int, size_at_least: int) -> str:
    array = BitArray(bits, bytearray(zlib.decompress(compressed)))  # type: ignore[arg-type]
    assert len(array.lst) * 8 // bits >= size_at_least  # the index is inside the list
    return STATUS_NAMES[array.get(index)]


def read_status_cwt(body: bytes, *, uri: str, index: int, iaca_pem: str, now: datetime | None = None) -> StatusRead:
    """Verify a Status List Token in CWT form (§5.2) and return the status at ``index``."""
    tag = cbor2.loads(body)
    assert isinstance(tag, cbor2.CBORTag) and tag.tag == 18  # COSE_Sign1_Tagged, not CWT-tagged
    message = Sign1Message.decode(body)
    protected = cbor2.loads(tag.value[0])
    assert protected[1] == -7 and protected[16] == "application/statuslist+cwt"
    chain = protected[33]
    leaf = _check_chain(chain if isinstance(chain, bytes) else chain[0], iaca_pem)
    numbers = leaf.public_key().public_numbers()  # type: ignore[union-attr]
    message.key = EC2Key(crv=P256, x=numbers.x.to_bytes(32, "big"), y=numbers.y.to_bytes(32, "big"))
    assert message.verify_signature()
    claims = cbor2.loads(tag.value[2])
    moment = now or datetime.now(UTC)
    assert claims[2] == uri
    assert claims[6] <= moment.timestamp() < claims[4]
    assert isinstance(claims[65534], int) and claims[65534] > 0
    status_list = claims[65533]
    assert set(status_list) == {"bits", "lst"} and status_list["bits"] in (1, 2, 4, 8)
    status = _status_at(status_list["bits"], status_list["lst"], index, 100_000)
    return StatusRead(status, status_list["bits"], claims, leaf)


def read_status_jwt(body: bytes, *, uri: str, index: int, iaca_pem: str, now: datetime | None = None) -> StatusRead:
    """Verify a Status List Token in JWT form (§5.1) and return the status at ``index``."""
    text = body.decode("ascii")
    header = json.loads(base64.urlsafe_b64decode(text.split(".")[0] + "=="))
    assert header["typ"] == "statuslist+jwt" and header["alg"] == "ES256"
    leaf = _check_chain(base64.b64decode(header["x5c"][0]), iaca_pem)
    public = leaf.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    token = JWS()
    token.deserialize(text)
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    token.verify(JWK.from_pem(pem), alg="ES256")
    claims = json.loads(token.payload)
    moment = now or datetime.now(UTC)
    assert claims["sub"] == uri
    assert claims["iat"] <= moment.timestamp() < claims["exp"]
    assert isinstance(claims["ttl"], int) and claims["ttl"] > 0
    status_list = claims["status_list"]
    lst = base64.urlsafe_b64decode(status_list["lst"] + "=" * (-len(status_list["lst"]) % 4))
    status = _status_at(status_list["bits"], lst, index, 100_000)
    # the package's own reader of the JSON form agrees
    assert STATUS_NAMES[BitArray.load(status_list).get(index)] == status
    return StatusRead(status, status_list["bits"], claims, leaf)
