"""RFC 9421 signatures and RFC 9530 digests as openissuer makes them, checked by an independent implementation."""

from __future__ import annotations

import base64
import hashlib

import pytest

from oi_webhooks import InvalidSignature, verify_delivery
from openissuer.adapters.keys.ed25519 import SoftwareEd25519Signer
from openissuer.crypto.envelope import EnvelopeError
from openissuer.crypto.http_signatures import (
    HttpSignatureError,
    create_content_digest,
    create_signature_base,
    create_target_uri,
    serialise_signature_params,
    sign_http_request,
)
from openissuer.crypto.okp import compute_okp_thumbprint

URL = "https://hooks.example.com/receive"
BODY = b'{"deliveryId":"d1","event":{"id":"e1"}}'
CREATED = 1_765_000_000


def jwks_of(*signers: SoftwareEd25519Signer) -> dict[str, object]:
    return {"keys": [{**s.public_jwk, "kid": s.kid, "use": "sig", "alg": "EdDSA"} for s in signers]}


def signed(signer: SoftwareEd25519Signer, body: bytes = BODY, url: str = URL) -> dict[str, str]:
    return sign_http_request(
        "POST", url, {"Content-Type": "application/json", "x-mattr-event-type": "T"}, body, signer, created=CREATED
    )


def test_the_content_digest_is_rfc_9530_sha_256() -> None:
    expected = base64.b64encode(hashlib.sha256(BODY).digest()).decode()
    assert create_content_digest(BODY) == f"sha-256=:{expected}:"
    # RFC 9530 Appendix B.1: the digest of {"hello": "world"}
    assert create_content_digest(b'{"hello": "world"}') == "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"


def test_the_signature_base_follows_rfc_9421() -> None:
    params = serialise_signature_params(
        ("@method", "@target-uri", "content-type", "content-digest"), created=CREATED, keyid="k1", alg="ed25519"
    )
    assert (
        params
        == f'("@method" "@target-uri" "content-type" "content-digest");created={CREATED};keyid="k1";alg="ed25519"'
    )
    base = create_signature_base(
        "post",
        "https://Hooks.Example.com",
        {"content-type": " application/json ", "content-digest": "sha-256=:x:"},
        ("@method", "@target-uri", "@request-target", "content-type", "content-digest"),
        params,
    )
    assert base.decode() == "\n".join(
        [
            '"@method": POST',
            '"@target-uri": https://hooks.example.com/',
            '"@request-target": /',
            '"content-type": application/json',
            '"content-digest": sha-256=:x:',
            f'"@signature-params": {params}',
        ]
    )
    assert create_target_uri("http://127.0.0.1:8080/a/b?x=1") == "http://127.0.0.1:8080/a/b?x=1"
    with pytest.raises(HttpSignatureError):
        create_signature_base("POST", URL, {}, ("content-type",), params)
    with pytest.raises(HttpSignatureError):
        serialise_signature_params(("@method",), created=1, keyid="k\n", alg="ed25519")


def test_an_ed25519_signature_verifies_independently() -> None:
    signer = SoftwareEd25519Signer.generate()
    headers = signed(signer)
    assert headers["signature-input"].startswith('sig=("@method" "@target-uri" "content-type" "content-digest")')
    parameters = verify_delivery("POST", URL, headers, BODY, jwks_of(signer))
    assert parameters == {"created": CREATED, "keyid": signer.kid, "alg": "ed25519"}
    assert signer.kid == compute_okp_thumbprint(signer.public_jwk)


@pytest.mark.parametrize(
    "tamper",
    ["body", "url", "method", "content-type", "key", "signature"],
)
def test_a_tampered_delivery_does_not_verify(tamper: str) -> None:
    signer, other = SoftwareEd25519Signer.generate(), SoftwareEd25519Signer.generate()
    headers, body, url, method, jwks = signed(signer), BODY, URL, "POST", jwks_of(signer)
    if tamper == "body":
        body = BODY.replace(b"e1", b"e2")
    elif tamper == "url":
        url = "https://hooks.example.com/other"
    elif tamper == "method":
        method = "PUT"
    elif tamper == "content-type":
        headers["content-type"] = "text/plain"
    elif tamper == "key":
        jwks = {"keys": [{**other.public_jwk, "kid": signer.kid}]}
    else:
        headers["signature"] = headers["signature"][:-6] + "AAAA=:"
    with pytest.raises(InvalidSignature):
        verify_delivery(method, url, headers, body, jwks)


def test_sealed_ed25519_keys_round_trip_and_stay_sealed() -> None:
    master, signer = b"m" * 32, SoftwareEd25519Signer.generate()
    sealed = signer.export_sealed(master, aad=b"tenant/t/webhook-key/1")
    loaded = SoftwareEd25519Signer.from_sealed(master, sealed, aad=b"tenant/t/webhook-key/1")
    assert loaded.kid == signer.kid and loaded.public_jwk == signer.public_jwk
    verify_delivery("POST", URL, signed(loaded), BODY, jwks_of(signer))
    with pytest.raises(EnvelopeError):
        SoftwareEd25519Signer.from_sealed(master, sealed, aad=b"tenant/other/webhook-key/1")
    assert "kid" in repr(signer) and signer.x5c == []
