"""Pure rules of issue 14: DPoP's htu normalisation, x5c chains to trust anchors, the JWE round trip with an
independent library, and the policy's derived requirements."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from joserfc import jwe
from joserfc.jwk import ECKey

from openissuer.crypto.jwe import JweError, derive_jwe_decrypter, encrypt_jwe
from openissuer.crypto.x5c_chain import X5cChainError, verify_x5c_chain
from openissuer.domain.wallet_security import WalletSecurityPolicy
from openissuer.protocol.dpop import hash_access_token, normalize_htu

NOW = datetime.now(UTC)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://issuer.example/v1/oauth/token", "HTTPS://ISSUER.example:443/v1/oauth/token?x=1#y"),
        ("https://issuer.example/v1/oauth/%74oken", "https://issuer.example/v1/oauth/token"),
        ("https://issuer.example", "https://issuer.example/"),
        ("http://issuer.example:80/a", "http://issuer.example/a"),
    ],
)
def test_htu_normalisation_equal(a: str, b: str) -> None:
    assert normalize_htu(a) == normalize_htu(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://issuer.example/a", "http://issuer.example/a"),
        ("https://issuer.example/a", "https://issuer.example:8443/a"),
        ("https://issuer.example/a", "https://issuer.example/A"),
        ("https://issuer.example/a%2Fb", "https://issuer.example/a/b"),  # a reserved character stays encoded
    ],
)
def test_htu_normalisation_different(a: str, b: str) -> None:
    assert normalize_htu(a) != normalize_htu(b)


def test_ath_is_the_base64url_sha256_of_the_token() -> None:
    assert (
        hash_access_token("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU")
        == "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
    )


def _cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: str,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool,
    days: int = 30,
    start: int = -1,
) -> x509.Certificate:
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW + timedelta(days=start))
        .not_valid_after(NOW + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(issuer_key, hashes.SHA256())
    )


def _b64(cert: x509.Certificate) -> str:
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


KEYS = [ec.generate_private_key(ec.SECP256R1()) for _ in range(4)]
ROOT = _cert("root", KEYS[0], "root", KEYS[0], ca=True)
MIDDLE = _cert("middle", KEYS[1], "root", KEYS[0], ca=True)
LEAF = _cert("leaf", KEYS[2], "middle", KEYS[1], ca=False)


def test_a_chain_to_an_anchor_gives_the_signers_key() -> None:
    key = verify_x5c_chain([_b64(LEAF), _b64(MIDDLE)], [_der(ROOT)], NOW)
    numbers = KEYS[2].public_key().public_numbers()
    assert key.jwk["x"] == base64.urlsafe_b64encode(numbers.x.to_bytes(32, "big")).rstrip(b"=").decode()


@pytest.mark.parametrize(
    ("chain", "reason"),
    [
        (lambda: [_b64(LEAF)], "anchor"),  # the intermediate is missing
        (lambda: [_b64(LEAF), _b64(MIDDLE), _b64(ROOT)], "self-signed"),  # the anchor is in the chain
        (
            lambda: [_b64(_cert("leaf", KEYS[2], "middle", KEYS[1], ca=False, days=-1, start=-10)), _b64(MIDDLE)],
            "valid now",
        ),
        (lambda: [_b64(LEAF), _b64(_cert("middle", KEYS[1], "root", KEYS[0], ca=False))], "CA"),
        (lambda: [_b64(_cert("leaf", KEYS[2], "middle", KEYS[3], ca=False)), _b64(MIDDLE)], "issued by the next"),
        (lambda: ["not base64!"], "base64"),
        (lambda: [], "x5c"),
        (lambda: "a string", "x5c"),
        (lambda: [_b64(LEAF)] * 6, "x5c"),
    ],
)
def test_a_broken_chain_is_refused(chain: object, reason: str) -> None:
    with pytest.raises(X5cChainError, match=reason):
        verify_x5c_chain(chain(), [_der(ROOT)], NOW)  # type: ignore[operator]


def test_no_anchor_no_trust() -> None:
    with pytest.raises(X5cChainError, match="no trust anchors"):
        verify_x5c_chain([_b64(LEAF), _b64(MIDDLE)], [], NOW)


def test_the_jwe_round_trips_with_joserfc_both_ways() -> None:
    wallet = ECKey.generate_key("P-256")
    for enc in ("A128GCM", "A256GCM"):
        token = encrypt_jwe(b'{"credentials": []}', wallet.as_dict(private=False), enc=enc, kid="k")
        assert json.loads(jwe.decrypt_compact(token, wallet).plaintext) == {"credentials": []}
    decrypter = derive_jwe_decrypter(b"\x01" * 32)
    assert derive_jwe_decrypter(b"\x01" * 32).public_jwk == decrypter.public_jwk  # derived, the same everywhere
    token = jwe.encrypt_compact({"alg": "ECDH-ES", "enc": "A256GCM"}, b"hello", ECKey.import_key(decrypter.public_jwk))
    assert decrypter.decrypt(str(token), allowed_enc={"A256GCM"})[1] == b"hello"
    with pytest.raises(JweError, match="supported enc"):
        decrypter.decrypt(str(token), allowed_enc={"A128GCM"})


def test_haip_implies_each_requirement() -> None:
    policy = WalletSecurityPolicy(haip=True)
    assert policy.requires_dpop and policy.requires_client_attestation and policy.requires_par
    assert not WalletSecurityPolicy().requires_dpop
